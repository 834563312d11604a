package testenv

import (
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
)

func TestDNDepth(t *testing.T) {
	for dn, want := range map[string]int{
		"dc=test":             1,
		"uid=a,ou=b,dc=test":  3,
		`cn=a\,b,dc=test`:     2,
		`cn=a\\,ou=x,dc=test`: 3,
	} {
		if got := dnDepth(dn); got != want {
			t.Errorf("dnDepth(%q) = %d, want %d", dn, got, want)
		}
	}
}

func TestLDAPSubtreeAddDelete(t *testing.T) {
	s := LDAP(t)
	var parent string
	t.Run("add", func(t *testing.T) {
		parent = s.Subtree(t)
		const n = 1000
		entries := make([]LDAPEntry, n)
		for i := range entries {
			entries[i] = UserEntry(parent, i, nil)
		}
		start := time.Now()
		s.AddEntries(t, entries)
		t.Logf("added %d entries in %s", n, time.Since(start))
		res, err := s.Conn(t).SearchWithPaging(ldap.NewSearchRequest(parent, ldap.ScopeSingleLevel, 0, 0, 0, false, "(objectClass=inetOrgPerson)", []string{"1.1"}, nil), 500)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Entries) != n {
			t.Fatalf("found %d entries, want %d", len(res.Entries), n)
		}
	})
	_, err := s.Conn(t).Search(ldap.NewSearchRequest(parent, ldap.ScopeBaseObject, 0, 0, 0, false, "(objectClass=*)", []string{"1.1"}, nil))
	if !ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
		t.Fatalf("subtree %s still there after its test: %v", parent, err)
	}
}
