package main

import (
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
)

// TestRebuildGroupsAndMembershipsThenNoCall: after the state database is
// lost, `state rebuild` claims the job's groups by externalId and the
// memberships PingOne lists that the source asks for; the next sync makes
// no group or membership call at all. A member an admin added by hand
// (not in the source) is not claimed, so a later removal in the source
// removes only what syncd added.
func TestRebuildGroupsAndMembershipsThenNoCall(t *testing.T) {
	h := newHarness(t, csvSource(), `    groups:
      from_records: 'split(groups, ";")'
`)
	write := func(rows ...string) {
		body := "id,uid,mail,givenName,sn,groups\n" + strings.Join(rows, "\n") + "\n"
		if err := os.WriteFile(filepath.Join(h.dir, "people.csv"), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(row(0)+",Eng;Ops", row(1)+",Eng", row(2)+",", row(3)+",Ops")
	h.expect(ExitOK, "sync")
	ids := map[string]string{}
	for _, g := range h.emu.Groups() {
		ids[g.Name] = g.ID
	}
	userID := map[string]string{}
	for _, u := range h.emu.Users() {
		userID[u["username"].(string)] = u["id"].(string)
	}
	// By hand: user002 (a managed user the source puts in no group) and
	// an admin join Eng.
	admin, err := h.emu.AddUser(map[string]any{"username": "admin", "email": "admin@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{userID["user002"], admin} {
		if err := h.emu.AddMember(ids["Eng"], u); err != nil {
			t.Fatal(err)
		}
	}

	h.loseState()
	out := h.expect(ExitOK, "state", "rebuild", "--job", "people")
	if !strings.Contains(out, "rebuilt 4 checkpoints") || !strings.Contains(out, "rebuilt 2 groups (0 adopted by name), 4 memberships and 0 nesting links") {
		t.Fatalf("rebuild:\n%s", out)
	}
	h.emu.ResetStats()
	h.expect(ExitOK, "sync")
	if st := h.emu.Stats(); st.Writes != 0 {
		t.Fatalf("the sync after rebuild wrote %d times: %v", st.Writes, st.ByOperation)
	}
	if n := len(h.emu.Groups()); n != 2 {
		t.Errorf("%d groups, want 2", n)
	}

	// user001 leaves Eng in the source: one DELETE; the hand-added
	// members stay.
	write(row(0)+",Eng;Ops", row(1)+",", row(2)+",", row(3)+",Ops")
	h.emu.ResetStats()
	h.expect(ExitOK, "sync")
	if st := h.emu.Stats(); st.Writes != 1 || st.ByOperation["removeUserFromGroup"] != 1 {
		t.Errorf("one removal cost %d writes: %v", st.Writes, st.ByOperation)
	}
	var got []string
	for _, id := range h.emu.DirectMembers(ids["Eng"]) {
		u, _ := h.emu.User(id)
		got = append(got, u["username"].(string))
	}
	sort.Strings(got)
	if !slices.Equal(got, []string{"admin", "user000", "user002"}) {
		t.Errorf("Eng members %v, want admin and user002 (by hand) kept, user000", got)
	}
}
