package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"

	"github.com/syncd/syncd/internal/testenv"
	"github.com/syncd/syncd/reconcile"
)

// TestCSVGroupsPlanSyncAndGate: a CSV job with from_records plans `+ group`
// and `+ member user → group`, syncs them, then a change plans `- member`;
// the membership gate exits 3 and --allow-mass-disable overrides it.
func TestCSVGroupsPlanSyncAndGate(t *testing.T) {
	h := newHarness(t, csvSource(), `    groups:
      from_records: 'split(groups, ";")'
      safety: {max_membership_removals: 1}
`)
	write := func(rows ...string) {
		body := "id,uid,mail,givenName,sn,groups\n" + strings.Join(rows, "\n") + "\n"
		if err := os.WriteFile(filepath.Join(h.dir, "people.csv"), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(row(0)+",Eng;Ops", row(1)+",Eng", row(2)+",")
	out := h.expect(ExitOK, "plan")
	for _, want := range []string{"+ create group", "Eng", "+ member           user000 → Eng", "+ member           user000 → Ops", "+ member           user001 → Eng",
		"members: 3 added"} {
		if !strings.Contains(out, want) {
			t.Errorf("plan lacks %q:\n%s", want, out)
		}
	}
	h.expect(ExitOK, "sync")
	if n := len(h.emu.Groups()); n != 2 {
		t.Fatalf("%d groups after sync, want 2", n)
	}
	out = h.expect(ExitOK, "plan")
	if !strings.Contains(out, "nothing to do") {
		t.Errorf("plan after sync:\n%s", out)
	}
	write(row(0)+",Ops", row(1)+",", row(2)+",")
	out = h.expect(ExitGated, "sync")
	if !strings.Contains(out, "membership removals") && !strings.Contains(out, "- member") {
		t.Logf("gated output:\n%s", out)
	}
	out = h.expect(ExitOK, "sync", "--allow-mass-disable")
	if !strings.Contains(out, "- member           user000 → Eng") || !strings.Contains(out, "- member           user001 → Eng") {
		t.Errorf("sync output lacks the removals:\n%s", out)
	}
}

// TestLDAPGroupsNestedFlattenedAndGated: groupOfNames and
// groupOfUniqueNames on slapd, a nested group flattened with its "via",
// placeholder and dangling members ignored, one removal costing one call,
// and a group emptied by a complete read stopping the run (exit 3).
func TestLDAPGroupsNestedFlattenedAndGated(t *testing.T) {
	for _, delta := range []string{"none", "auto"} {
		t.Run("delta="+delta, func(t *testing.T) { testLDAPGroups(t, delta) })
	}
}

func testLDAPGroups(t *testing.T, delta string) {
	srv := testenv.LDAP(t)
	base := srv.Subtree(t)
	conn := srv.Conn(t)
	for _, ou := range []string{"people", "groups", "legacy"} {
		add := ldap.NewAddRequest("ou="+ou+","+base, nil)
		add.Attribute("objectClass", []string{"organizationalUnit"})
		add.Attribute("ou", []string{ou})
		if err := conn.Add(add); err != nil {
			t.Fatal(err)
		}
	}
	people, groups := "ou=people,"+base, "ou=groups,"+base
	var entries []testenv.LDAPEntry
	user := func(i int) string { return fmt.Sprintf("uid=user%06d,%s", i, people) }
	for i := 0; i < 5; i++ {
		entries = append(entries, testenv.UserEntry(people, i, nil))
	}
	entries = append(entries,
		testenv.LDAPEntry{DN: "cn=Platform," + groups, Attrs: map[string][]string{"objectClass": {"groupOfNames"}, "cn": {"Platform"}, "member": {user(2)}}},
		testenv.LDAPEntry{DN: "cn=Eng," + groups, Attrs: map[string][]string{"objectClass": {"groupOfNames"}, "cn": {"Eng"},
			"member": {user(0), " UID=user000001 , " + people, "cn=Platform," + groups, "uid=nobody," + people, "cn=Eng," + groups}}},
		testenv.LDAPEntry{DN: "cn=Ops," + groups, Attrs: map[string][]string{"objectClass": {"groupOfUniqueNames"}, "cn": {"Ops"}, "uniqueMember": {user(3), ""}}},
		testenv.LDAPEntry{DN: "cn=Old,ou=legacy," + base, Attrs: map[string][]string{"objectClass": {"groupOfNames"}, "cn": {"Old"}, "member": {user(4)}}},
	)
	srv.AddEntries(t, entries)

	src := fmt.Sprintf(`      ldap:
        url: %s
        bind_dn: %s
        base_dn: "%s"
        filter: (objectClass=inetOrgPerson)
        anchor: entryUUID
        delta: %s
        tls: {ca_file: %s}`, srv.LDAPSURL, srv.BindDN, people, delta, srv.CAFile)
	h := newHarness(t, src, fmt.Sprintf(`    groups:
      ldap: {base_dn: "%s"}
      scope: 'dnValue(dn, "ou") != "legacy"'
      description: '"from LDAP"'
`, base))
	h.syncdEnv = map[string]string{"SYNCD_LDAP_BIND_PASSWORD": srv.Password}
	out := h.expect(ExitOK, "plan")
	if !strings.Contains(out, "user000002 → Eng  (via Eng → Platform)") || !strings.Contains(out, "members: 5 added") ||
		!strings.Contains(out, "1 ignored") || strings.Contains(out, "Old") {
		t.Errorf("plan:\n%s", out)
	}
	h.expect(ExitOK, "sync")
	members := func(name string) []string {
		for _, g := range h.emu.Groups() {
			if g.Name == name {
				var out []string
				for _, id := range h.emu.DirectMembers(g.ID) {
					u, _ := h.emu.User(id)
					out = append(out, u["username"].(string))
				}
				sort.Strings(out)
				return out
			}
		}
		t.Fatalf("no group %s", name)
		return nil
	}
	if got := members("Eng"); !slices.Equal(got, []string{"user000000", "user000001", "user000002"}) {
		t.Errorf("Eng = %v", got)
	}
	if got := members("Ops"); !slices.Equal(got, []string{"user000003"}) {
		t.Errorf("Ops = %v", got)
	}
	if n := len(h.emu.Groups()); n != 3 {
		t.Errorf("%d groups, want 3 (Old is out of scope)", n)
	}

	// One member leaves Eng: one DELETE.
	mod := ldap.NewModifyRequest("cn=Eng,"+groups, nil)
	mod.Delete("member", []string{user(0)})
	if err := conn.Modify(mod); err != nil {
		t.Fatal(err)
	}
	h.emu.ResetStats()
	h.expect(ExitOK, "sync")
	if st := h.emu.Stats(); st.ByOperation["removeUserFromGroup"] != 1 || st.Writes != 1 {
		t.Errorf("one removal cost %d writes: %v", st.Writes, st.ByOperation)
	}

	// Ops comes back with only its placeholder: a complete read emptied a
	// group that had members. The gate stops the run.
	mod = ldap.NewModifyRequest("cn=Ops,"+groups, nil)
	mod.Delete("uniqueMember", []string{user(3)})
	if err := conn.Modify(mod); err != nil {
		t.Fatal(err)
	}
	h.emu.ResetStats()
	out = h.expect(ExitGated, "sync")
	if h.emu.Stats().Writes != 0 || !strings.Contains(out, "empty") {
		t.Errorf("gated run: %d writes; output:\n%s", h.emu.Stats().Writes, out)
	}
	h.expect(ExitOK, "sync", "--allow-mass-disable")
	if got := members("Ops"); len(got) != 0 {
		t.Errorf("Ops after the override = %v", got)
	}
}

// TestMapExplainShowsGroupsWithVia: `syncd map --explain` resolves a
// fixture's group entries offline and says through which nested group a
// user belongs.
func TestMapExplainShowsGroupsWithVia(t *testing.T) {
	h := newHarness(t, `      ldap:
        url: ldaps://ldap.example.test
        base_dn: "ou=people,dc=ex"
        anchor: entryUUID`, `    groups:
      ldap: {base_dn: "ou=groups,dc=ex"}
`)
	ldif := `version: 1

dn: uid=ann,ou=people,dc=ex
objectClass: inetOrgPerson
entryUUID: 00000000-0000-4000-8000-00000000000a
uid: ann
mail: ann@example.com

dn: uid=bob,ou=people,dc=ex
objectClass: inetOrgPerson
entryUUID: 00000000-0000-4000-8000-00000000000b
uid: bob
mail: bob@example.com

dn: cn=Eng,ou=groups,dc=ex
objectClass: groupOfNames
entryUUID: 00000000-0000-4000-8000-0000000000e0
cn: Eng
member: uid=ann,ou=people,dc=ex
member: cn=Platform,ou=groups,dc=ex

dn: cn=Platform,ou=groups,dc=ex
objectClass: groupOfNames
entryUUID: 00000000-0000-4000-8000-0000000000e1
cn: Platform
member: uid=bob,ou=people,dc=ex
`
	fixture := filepath.Join(h.dir, "fixture.ldif")
	if err := os.WriteFile(fixture, []byte(ldif), 0o600); err != nil {
		t.Fatal(err)
	}
	out := h.expect(ExitOK, "map", "--input", fixture, "--explain")
	var got struct {
		Desired []any                          `json:"desired"`
		Groups  map[string][]map[string]string `json:"groups"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	bob := got.Groups["00000000-0000-4000-8000-00000000000b"]
	if len(got.Desired) != 2 || len(bob) != 2 || bob[0]["group"] != "Eng" || bob[0]["via"] != "Eng → Platform" || bob[1]["group"] != "Platform" {
		t.Errorf("groups = %v (desired %d)\n%s", got.Groups, len(got.Desired), out)
	}
	if ann := got.Groups["00000000-0000-4000-8000-00000000000a"]; len(ann) != 1 || ann[0]["via"] != "" {
		t.Errorf("ann's groups = %v", ann)
	}
}

// TestGroupCountsReachMetrics: the daemon's metrics count group and
// membership operations, failures included.
func TestGroupCountsReachMetrics(t *testing.T) {
	rep := &reconcile.Report{Job: "j", Groups: &reconcile.GroupReport{
		Counts:  reconcile.GroupCounts{Created: 2, MembersAdded: 7, MembersRemoved: 1},
		Members: []reconcile.MemberOp{{Action: reconcile.MemberAdd, Failed: true}},
	}}
	r := runResult(rep, nil)
	if r.Ops["group_create"]["ok"] != 2 || r.Ops["member_add"]["ok"] != 7 || r.Ops["member_remove"]["ok"] != 1 || r.Ops["member_add"]["failed"] != 1 {
		t.Errorf("ops = %v", r.Ops)
	}
}
