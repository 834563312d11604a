package ldapsource

import (
	"errors"
	"testing"

	"github.com/go-ldap/ldap/v3"

	"github.com/syncd/syncd/internal/testenv"
	"github.com/syncd/syncd/sources"
)

// TestSubordinateReferralMakesReadIncomplete: a branch OU delegated to
// another server (a referral object, added with ManageDsaIT) comes back
// as a continuation reference; the users behind it were not read, so the
// read must fail rather than look complete, unless the job ignores it.
func TestSubordinateReferralMakesReadIncomplete(t *testing.T) {
	t.Parallel()
	srv := testenv.LDAP(t)
	parent := srv.Subtree(t)
	srv.AddEntries(t, conformanceEntries(parent, 5))
	branch := "ou=branch," + parent
	ref := "ldap://branch.example.test:389/" + branch
	c := srv.Conn(t)
	manage := []ldap.Control{ldap.NewControlManageDsaIT(true)}
	add := ldap.NewAddRequest(branch, manage)
	add.Attribute("objectClass", []string{"referral", "extensibleObject"})
	add.Attribute("ou", []string{"branch"})
	add.Attribute("ref", []string{ref})
	if err := c.Add(add); err != nil {
		t.Fatalf("add referral object: %v", err)
	}
	t.Cleanup(func() { // before the subtree's own cleanup (LIFO)
		if err := c.Del(ldap.NewDelRequest(branch, manage)); err != nil {
			t.Errorf("delete referral object: %v", err)
		}
	})

	tests := []struct {
		name    string
		ignore  []string
		wantErr bool
	}{
		{"not ignored", nil, true},
		{"ignored by DN", []string{branch}, false},
		{"ignored by a parent DN", []string{"OU=Branch, " + parent}, false},
		{"ignored by URL", []string{ref}, false},
		{"another DN ignored", []string{"ou=elsewhere," + parent}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := slapdConfig(srv, parent)
			cfg.Anchor, cfg.PageSize, cfg.IgnoreReferrals = "uid", 2, tt.ignore
			recs, err := readAll(t, mustNew(t, cfg), sources.ReadRequest{Attributes: []string{"mail"}})
			if !tt.wantErr {
				if err != nil || len(recs) != 5 {
					t.Fatalf("%d records, Err() = %v; want the 5 users and a complete read", len(recs), err)
				}
				return
			}
			var re *ReadError
			var fe *ReferralError
			if !errors.As(err, &re) || !errors.As(err, &fe) {
				t.Fatalf("after %d records Err() = %v, want a *ReadError holding a *ReferralError", len(recs), err)
			}
			if re.BaseDN != parent || fe.Referral == "" {
				t.Errorf("error %v: want base DN %s and the referral named", err, parent)
			}
		})
	}
}

func TestIgnoredReferral(t *testing.T) {
	cfg := Config{IgnoreReferrals: []string{"ou=Remote,dc=corp,dc=example", "ldap://x.example/"}}
	tests := []struct {
		ref  string
		want bool
	}{
		{"ldap://corp.example/DC=DomainDnsZones,DC=corp,DC=example", true},
		{"ldap://corp.example/DC=ForestDnsZones,DC=corp,DC=example", true},
		{"ldap://corp.example/CN=Configuration,DC=corp,DC=example", true},
		{"ldap://dc2.corp.example/OU=Sales,OU=Remote,DC=corp,DC=example??sub", true},
		{"ldap://dc2.corp.example/OU=Remote,DC=corp,DC=example", true},
		{"ldap://x.example/", true},
		{"ldap://dc2.corp.example/OU=RemoteX,DC=corp,DC=example", false},
		{"ldap://dc2.corp.example/OU=Staff,DC=corp,DC=example", false},
		{"ldap://dc2.corp.example/", false},
		{"not a url", false},
	}
	for _, tt := range tests {
		if got := cfg.ignoredReferral(tt.ref); got != tt.want {
			t.Errorf("ignoredReferral(%q) = %v, want %v", tt.ref, got, tt.want)
		}
	}
}
