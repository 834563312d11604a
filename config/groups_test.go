package config_test

import (
	"strings"
	"testing"

	"github.com/syncd/syncd/reconcile"
)

const ldapJob = `
pingone:
  region: EU
  environment_id: 2b4c6d8e-1a3f-4e5d-8c7b-9a0f1e2d3c4b
  client_id: app
jobs:
  - name: corp
    source:
      ldap: {url: ldaps://ldap.example.com, base_dn: "ou=people,dc=example,dc=com", anchor: objectGUID}
    mapping: {username: uid, email: mail}
    population: Staff
    groups:
`

func TestGroupsBlockDefaults(t *testing.T) {
	c, err := parse(t, ldapJob+`      ldap: {base_dn: ["ou=groups,dc=example,dc=com"]}
      safety: {max_membership_removals: 0}
`, nil)
	if err != nil {
		t.Fatal(err)
	}
	g := c.Jobs[0].Groups
	if g.Nested != reconcile.NestedFlatten || g.MaxDepth != 10 || g.LDAP.Anchor != "objectGUID" || g.LDAP.Filter != "(objectClass=group)" ||
		len(g.LDAP.MemberAttribute) != 2 || g.Mapper == nil {
		t.Errorf("defaults: %+v %+v", g, g.LDAP)
	}
	// A configured 0 means 0; the unset percentage takes its default.
	if *g.Safety.MaxRemovals != 0 || *g.Safety.MaxRemovalPercent != 10 {
		t.Errorf("safety: %d %g", *g.Safety.MaxRemovals, *g.Safety.MaxRemovalPercent)
	}
	sc := c.Jobs[0].GroupSource()
	if sc == nil || sc.URL != "ldaps://ldap.example.com" || sc.BaseDN[0] != "ou=groups,dc=example,dc=com" || sc.Delta != "none" {
		t.Errorf("group source: %+v", sc)
	}
}

func TestGroupsBlockProblemsNamed(t *testing.T) {
	for _, tc := range []struct{ block, want string }{
		{"      from_records: split(groups, \";\")\n      ldap: {base_dn: x}\n", "jobs[corp].groups: set one of ldap and from_records"},
		{"      nested: deep\n      from_records: groups\n", "jobs[corp].groups.nested: want flatten or mirror"},
		{"      ldap: {base_dn: x, member_attribute: [owner]}\n", "jobs[corp].groups.ldap.member_attribute[0]"},
		{"      ldap: {base_dn: x}\n      name: lower(\n", "jobs[corp].groups.name"},
		{"      from_records: groups\n      safety: {max_membership_removal_percent: 200}\n", "jobs[corp].groups.safety.max_membership_removal_percent"},
		{"      from_records: groups\n      bogus: 1\n", "unknown key bogus"},
	} {
		_, err := parse(t, ldapJob+tc.block, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: err %v, want %q", tc.block, err, tc.want)
		}
	}
}
