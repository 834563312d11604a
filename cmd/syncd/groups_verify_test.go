package main

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"

	"github.com/syncd/syncd/internal/testenv"
	"github.com/syncd/syncd/sink/pingone/pingonetest"
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

// TestSyncVerifyMirrorChecksNestingLinks: with nested: mirror, `sync
// --verify` reads each managed group's nesting back (one listing per
// group, GET /groups/{id}/memberOfGroups) and compares it with the links
// syncd created. The link an admin removed by hand (Platform in Eng) is
// drift, re-added with one POST; a link an admin added by hand between
// two managed groups (Eng in Platform) is reported and left as it is, like
// a member added by hand; a link to a group syncd does not manage is none
// of its business. A plain sync sees none of it.
func TestSyncVerifyMirrorChecksNestingLinks(t *testing.T) {
	h := mirrorHarness(t)
	h.expect(ExitOK, "sync")
	ids, _ := groupIDs(h)
	contractors, err := h.emu.AddGroup("Contractors", "", "")
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]string{contractors: "Contractors"}
	for n, id := range ids {
		names[id] = n
	}
	parents := func(group string) []string {
		var out []string
		for _, g := range h.emu.Groups() {
			if g.ID == ids[group] {
				for _, p := range g.Parents {
					out = append(out, names[p])
				}
			}
		}
		sort.Strings(out)
		return out
	}
	if got := parents("Platform"); !slices.Equal(got, []string{"Eng"}) {
		t.Fatalf("Platform nested in %v after the first sync", got)
	}

	for _, step := range []struct {
		do           func(child, parent string) error
		child, paren string
	}{
		{h.emu.RemoveNesting, ids["Platform"], ids["Eng"]}, // syncd's link, removed by hand
		{h.emu.AddNesting, ids["Eng"], ids["Platform"]},    // a link between managed groups, added by hand
		{h.emu.AddNesting, ids["Platform"], contractors},   // a link to a group syncd does not manage
	} {
		if err := step.do(step.child, step.paren); err != nil {
			t.Fatal(err)
		}
	}
	h.emu.ResetStats()
	h.expect(ExitOK, "sync")
	if st := h.emu.Stats(); st.Writes != 0 {
		t.Fatalf("a plain sync wrote %d times: %v", st.Writes, st.ByOperation)
	}

	h.emu.ResetStats()
	out := h.expect(ExitOK, "sync", "--verify")
	st := h.emu.Stats()
	for _, want := range []string{
		"drift (repaired)    nested group Platform → Eng removed in PingOne outside syncd",
		"drift (reported)    nested group Eng → Platform added in PingOne outside syncd",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("sync --verify output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "Contractors") || strings.Contains(out, "member user") {
		t.Errorf("sync --verify reported more than the two links:\n%s", out)
	}
	if st.Writes != 1 || st.ByOperation["createGroupNesting"] != 1 {
		t.Errorf("sync --verify wrote %d times: %v, want the one link's POST", st.Writes, st.ByOperation)
	}
	// One nesting listing per managed group, no read of a single link.
	if st.ByOperation["readGroupNesting"] != 2 || st.ByOperation["readOneGroupNesting"] != 0 {
		t.Errorf("nesting reads %v, want one listing per managed group (2)", st.ByOperation)
	}
	if got := parents("Platform"); !slices.Equal(got, []string{"Contractors", "Eng"}) {
		t.Errorf("Platform nested in %v, want Eng back and Contractors (by hand) kept", got)
	}
	if got := parents("Eng"); !slices.Equal(got, []string{"Platform"}) {
		t.Errorf("Eng nested in %v, want the link added by hand kept", got)
	}

	// Repaired: the next verify writes nothing; the link added by hand is
	// still there, and still reported.
	h.emu.ResetStats()
	out = h.expect(ExitOK, "sync", "--verify")
	if st := h.emu.Stats(); st.Writes != 0 || strings.Contains(out, "removed in PingOne") ||
		!strings.Contains(out, "nested group Eng → Platform added in PingOne outside syncd") {
		t.Errorf("second --verify: %d writes %v; output:\n%s", st.Writes, st.ByOperation, out)
	}

	// The admin takes the link back: no drift at all, and a verify
	// without drift writes nothing and reads nesting with listings only.
	if err := h.emu.RemoveNesting(ids["Eng"], ids["Platform"]); err != nil {
		t.Fatal(err)
	}
	h.emu.ResetStats()
	out = h.expect(ExitOK, "sync", "--verify")
	st = h.emu.Stats()
	if st.Writes != 0 || strings.Contains(out, "drift") {
		t.Errorf("verify without drift: %d writes %v; output:\n%s", st.Writes, st.ByOperation, out)
	}
	// Listings only: the users (one population), each group's members,
	// each group's nesting, and the memberships of user000000, listed in
	// Eng both directly and through Platform.
	for op, n := range st.ByOperation {
		switch op {
		case "token", "readAllUsers", "readAllGroupMembershipsForUser":
		case "readGroupNesting":
			if n != 2 {
				t.Errorf("verify without drift: %d nesting listings, want one per managed group (2)", n)
			}
		default:
			t.Errorf("verify without drift called %s %d times: %v, want listings only", op, n, st.ByOperation)
		}
	}
	if n := st.ByOperation["readAllGroupMembershipsForUser"]; n != 1 {
		t.Errorf("verify without drift listed %d users' memberships, want 1 (user000000's): %v", n, st.ByOperation)
	}
}

// TestSyncVerifyMirrorNestingByHandHidesNoRemovedMember: an admin nests
// Eng in Platform by hand and removes user000000's direct membership of
// Platform; user000000 is still listed in Platform, through Eng. Verify
// takes the nesting PingOne has (not the links state holds) to decide
// who may be an indirect member, so it reads that membership's type,
// finds it lost and re-adds it. With drift: report it only reports, the
// lost link too.
func TestSyncVerifyMirrorNestingByHandHidesNoRemovedMember(t *testing.T) {
	h := mirrorHarness(t)
	h.expect(ExitOK, "sync")
	ids, userID := groupIDs(h)
	if err := h.emu.AddNesting(ids["Eng"], ids["Platform"]); err != nil {
		t.Fatal(err)
	}
	if err := h.emu.RemoveMember(ids["Platform"], userID["user000000"]); err != nil {
		t.Fatal(err)
	}
	if err := h.emu.RemoveNesting(ids["Platform"], ids["Eng"]); err != nil {
		t.Fatal(err)
	}
	if eff := h.emu.EffectiveMembers(ids["Platform"]); !slices.Contains(eff, userID["user000000"]) {
		t.Fatalf("user000000 is no longer listed in Platform: %v", eff)
	}

	h.editConf("    groups:\n", "    drift: report\n    groups:\n")
	h.emu.ResetStats()
	out := h.expect(ExitOK, "sync", "--verify")
	for _, want := range []string{
		"drift (reported)    member user000000 → Platform removed in PingOne outside syncd",
		"drift (reported)    nested group Platform → Eng removed in PingOne outside syncd",
		"drift (reported)    nested group Eng → Platform added in PingOne outside syncd",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("drift: report output lacks %q:\n%s", want, out)
		}
	}
	if st := h.emu.Stats(); st.Writes != 0 {
		t.Errorf("drift: report wrote %d times: %v", st.Writes, st.ByOperation)
	}

	h.editConf("    drift: report\n", "")
	h.emu.ResetStats()
	out = h.expect(ExitOK, "sync", "--verify")
	if !strings.Contains(out, "drift (repaired)    member user000000 → Platform removed in PingOne outside syncd") {
		t.Errorf("sync --verify output:\n%s", out)
	}
	if st := h.emu.Stats(); st.Writes != 2 || st.ByOperation["addUserToGroup"] != 1 || st.ByOperation["createGroupNesting"] != 1 {
		t.Errorf("sync --verify wrote %d times: %v, want one member and one link added back", st.Writes, st.ByOperation)
	}
	if direct := h.emu.DirectMembers(ids["Platform"]); !slices.Contains(direct, userID["user000000"]) {
		t.Errorf("Platform's direct members %v lack user000000", direct)
	}
}

// TestSyncVerifyMirrorRecreatesADeletedNestedGroup: Platform, nested in
// Eng, deleted by hand: its nesting listing answers 404, so verify creates
// it again (carrying its anchor), adds its members back and nests it in
// Eng again, in the same run; the next verify writes nothing.
func TestSyncVerifyMirrorRecreatesADeletedNestedGroup(t *testing.T) {
	h := mirrorHarness(t)
	h.expect(ExitOK, "sync")
	ids, _ := groupIDs(h)
	if err := h.emu.DeleteGroup(ids["Platform"]); err != nil {
		t.Fatal(err)
	}
	h.emu.ResetStats()
	out := h.expect(ExitOK, "sync", "--verify")
	if !strings.Contains(out, "group Platform deleted in PingOne outside syncd") {
		t.Errorf("sync --verify output:\n%s", out)
	}
	st := h.emu.Stats()
	if st.Writes != 4 || st.ByOperation["createGroup"] != 1 || st.ByOperation["addUserToGroup"] != 2 || st.ByOperation["createGroupNesting"] != 1 {
		t.Errorf("sync --verify wrote %d times: %v, want Platform, its two members and its link", st.Writes, st.ByOperation)
	}
	after, userID := groupIDs(h)
	var plat pingonetest.GroupInfo
	for _, g := range h.emu.Groups() {
		if g.Name == "Platform" {
			plat = g
		}
	}
	if plat.ID == ids["Platform"] || plat.ExternalID == "" || !slices.Equal(plat.Parents, []string{after["Eng"]}) {
		t.Errorf("Platform after --verify: %+v (old id %s)", plat, ids["Platform"])
	}
	direct := h.emu.DirectMembers(plat.ID)
	sort.Strings(direct)
	want := []string{userID["user000000"], userID["user000002"]}
	sort.Strings(want)
	if !slices.Equal(direct, want) {
		t.Errorf("Platform's members %v, want %v", direct, want)
	}
	h.emu.ResetStats()
	out = h.expect(ExitOK, "sync", "--verify")
	if st := h.emu.Stats(); st.Writes != 0 || strings.Contains(out, "drift") {
		t.Errorf("second --verify: %d writes %v; output:\n%s", st.Writes, st.ByOperation, out)
	}
}
