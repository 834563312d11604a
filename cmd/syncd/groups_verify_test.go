package main

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"

	"github.com/syncd/syncd/internal/testenv"
)

// mirrorHarness is an LDAP job with nested: mirror over slapd: Platform
// holds user000000 and user000002 and is nested in Eng, which also holds
// user000000 and user000001 directly; user000003 is in no group.
func mirrorHarness(t *testing.T) *harness {
	t.Helper()
	srv := testenv.LDAP(t)
	base := srv.Subtree(t)
	conn := srv.Conn(t)
	for _, ou := range []string{"people", "groups"} {
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
	for i := 0; i < 4; i++ {
		entries = append(entries, testenv.UserEntry(people, i, nil))
	}
	entries = append(entries,
		testenv.LDAPEntry{DN: "cn=Platform," + groups, Attrs: map[string][]string{"objectClass": {"groupOfNames"}, "cn": {"Platform"}, "member": {user(0), user(2)}}},
		testenv.LDAPEntry{DN: "cn=Eng," + groups, Attrs: map[string][]string{"objectClass": {"groupOfNames"}, "cn": {"Eng"},
			"member": {user(0), user(1), "cn=Platform," + groups}}},
	)
	srv.AddEntries(t, entries)
	src := fmt.Sprintf(`      ldap:
        url: %s
        bind_dn: %s
        base_dn: "%s"
        filter: (objectClass=inetOrgPerson)
        anchor: entryUUID
        tls: {ca_file: %s}`, srv.LDAPSURL, srv.BindDN, people, srv.CAFile)
	h := newHarness(t, src, fmt.Sprintf(`    groups:
      ldap: {base_dn: "%s"}
      nested: mirror
`, base))
	h.syncdEnv = map[string]string{"SYNCD_LDAP_BIND_PASSWORD": srv.Password}
	return h
}

// groupIDs returns the emulator's group ids by name and user ids by
// username.
func groupIDs(h *harness) (groups, users map[string]string) {
	groups, users = map[string]string{}, map[string]string{}
	for _, g := range h.emu.Groups() {
		groups[g.Name] = g.ID
	}
	for _, u := range h.emu.Users() {
		users[u["username"].(string)] = u["id"].(string)
	}
	return groups, users
}

// TestSyncVerifyMirrorComparesDirectMemberships: with nested: mirror, a
// user whose direct membership of Eng an admin removed is still listed as
// Eng's member through the nested Platform group (an INDIRECT member).
// `sync --verify` compares direct memberships: it finds the lost one and
// re-adds it, and leaves the member the admin added by hand.
func TestSyncVerifyMirrorComparesDirectMemberships(t *testing.T) {
	h := mirrorHarness(t)
	h.expect(ExitOK, "sync")

	ids, userID := groupIDs(h)
	direct := func(group string) []string {
		var out []string
		for _, id := range h.emu.DirectMembers(ids[group]) {
			u, _ := h.emu.User(id)
			out = append(out, u["username"].(string))
		}
		sort.Strings(out)
		return out
	}
	if got := direct("Eng"); !slices.Equal(got, []string{"user000000", "user000001"}) {
		t.Fatalf("Eng direct members %v", got)
	}

	// user000000's direct membership of Eng removed by hand: it is still
	// a member of Eng through Platform. user000003 added by hand.
	if err := h.emu.RemoveMember(ids["Eng"], userID["user000000"]); err != nil {
		t.Fatal(err)
	}
	if err := h.emu.AddMember(ids["Eng"], userID["user000003"]); err != nil {
		t.Fatal(err)
	}
	if eff := h.emu.EffectiveMembers(ids["Eng"]); !slices.Contains(eff, userID["user000000"]) {
		t.Fatalf("user000000 is no longer an indirect member of Eng: %v", eff)
	}
	h.emu.ResetStats()
	h.expect(ExitOK, "sync")
	if st := h.emu.Stats(); st.Writes != 0 {
		t.Fatalf("a plain sync wrote %d times: %v", st.Writes, st.ByOperation)
	}

	out := h.expect(ExitOK, "sync", "--verify")
	if !strings.Contains(out, "drift (repaired)    member user000000 → Eng removed in PingOne outside syncd") {
		t.Errorf("sync --verify output:\n%s", out)
	}
	if got := direct("Eng"); !slices.Equal(got, []string{"user000000", "user000001", "user000003"}) {
		t.Errorf("Eng direct members after --verify %v, want user000000 back and user000003 (by hand) kept", got)
	}
	h.emu.ResetStats()
	out = h.expect(ExitOK, "sync", "--verify")
	if st := h.emu.Stats(); st.Writes != 0 || strings.Contains(out, "drift") {
		t.Errorf("second --verify: %d writes %v; output:\n%s", st.Writes, st.ByOperation, out)
	}
}

// TestRebuildMirrorClaimsDirectMembershipsAndLinks: `state rebuild` of a
// nested: mirror job reads the nesting link back and claims only DIRECT
// memberships: user000000, in Eng directly and through Platform, is
// claimed while its direct membership exists; once an admin removed it
// (user000000 still an INDIRECT member), rebuild leaves it out and the
// next sync re-adds it with one POST. Otherwise the sync after a rebuild
// writes nothing.
func TestRebuildMirrorClaimsDirectMembershipsAndLinks(t *testing.T) {
	h := mirrorHarness(t)
	h.expect(ExitOK, "sync")
	ids, userID := groupIDs(h)

	h.loseState()
	out := h.expect(ExitOK, "state", "rebuild", "--job", "people")
	if !strings.Contains(out, "rebuilt 2 groups (0 adopted by name), 4 memberships and 1 nesting links") {
		t.Fatalf("rebuild:\n%s", out)
	}
	h.emu.ResetStats()
	h.expect(ExitOK, "sync")
	if st := h.emu.Stats(); st.Writes != 0 {
		t.Fatalf("the sync after rebuild wrote %d times: %v", st.Writes, st.ByOperation)
	}

	if err := h.emu.RemoveMember(ids["Eng"], userID["user000000"]); err != nil {
		t.Fatal(err)
	}
	h.loseState()
	out = h.expect(ExitOK, "state", "rebuild", "--job", "people")
	if !strings.Contains(out, "rebuilt 2 groups (0 adopted by name), 3 memberships and 1 nesting links") {
		t.Fatalf("rebuild after the admin's removal:\n%s", out)
	}
	h.emu.ResetStats()
	h.expect(ExitOK, "sync")
	if st := h.emu.Stats(); st.Writes != 1 || st.ByOperation["addUserToGroup"] != 1 {
		t.Errorf("the sync after rebuild wrote %d times: %v, want one membership POST", st.Writes, st.ByOperation)
	}
}
