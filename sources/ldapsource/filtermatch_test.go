package ldapsource

import (
	"slices"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"

	"github.com/syncd/syncd/internal/testenv"
	"github.com/syncd/syncd/sources/ldifsource"
)

// TestOfflineFilterAgreesWithSlapd: the filter `syncd map` applies to LDIF
// entries selects what slapd selects for the same entries and filters.
func TestOfflineFilterAgreesWithSlapd(t *testing.T) {
	t.Parallel()
	srv := testenv.LDAP(t)
	parent := srv.Subtree(t)
	srv.AddEntries(t, []testenv.LDAPEntry{
		testenv.UserEntry(parent, 1, map[string][]string{"title": {"Chief Engineer"}, "givenName;lang-de": {"Jörg"}}),
		testenv.UserEntry(parent, 2, map[string][]string{"title": {"engineer"}, "employeeType": {"contractor"}}),
		testenv.UserEntry(parent, 3, map[string][]string{"mail": {"three@Example.ORG"}}),
		{DN: "cn=staff," + parent, Attrs: map[string][]string{"objectClass": {"groupOfNames"}, "cn": {"staff"}, "member": {"uid=user000001," + parent}}},
		{DN: "ou=robots," + parent, Attrs: map[string][]string{"objectClass": {"organizationalUnit"}, "ou": {"robots"}}},
	})
	c := srv.Conn(t)
	all, err := c.Search(ldap.NewSearchRequest(parent, ldap.ScopeWholeSubtree, 0, 0, 0, false, "(objectClass=*)", []string{"*"}, nil))
	if err != nil {
		t.Fatal(err)
	}
	for _, filter := range []string{
		"(objectClass=inetOrgPerson)", "(objectClass=person)", "(objectClass=*)", "(title=*engineer*)", "(title=chief*)",
		"(givenName=Jörg)", "(!(employeeType=contractor))", "(&(objectClass=person)(|(mail=*@example.org)(title=engineer)))",
		"(|(cn=staff)(ou=robots))", "(mail=THREE@example.org)",
	} {
		res, err := c.Search(ldap.NewSearchRequest(parent, ldap.ScopeWholeSubtree, 0, 0, 0, false, filter, []string{"1.1"}, nil))
		if err != nil {
			t.Fatalf("%s: %v", filter, err)
		}
		var want, got []string
		for _, e := range res.Entries {
			want = append(want, e.DN)
		}
		f, err := ldifsource.CompileFilter(filter)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range all.Entries {
			attrs := map[string][]string{}
			for _, a := range e.Attributes {
				attrs[strings.ToLower(a.Name)] = a.Values
			}
			if f.Match(attrs) {
				got = append(got, e.DN)
			}
		}
		slices.Sort(want)
		slices.Sort(got)
		if !slices.Equal(want, got) {
			t.Errorf("%s: slapd selects %q, offline %q", filter, want, got)
		}
	}
}
