package statetest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/syncd/syncd/state"
)

// RunGroups runs the group and membership conformance suite against b,
// whose stores must implement state.GroupStore (and state.Journal).
func RunGroups(t *testing.T, b Backend) {
	tests := []struct {
		name string
		fn   func(t *testing.T, b Backend)
	}{
		{"GroupCheckpointsRoundTrip", testGroupsRoundTrip},
		{"MembershipsAddRemoveOrdered", testMembershipsAddRemove},
		{"GroupDropTakesItsMemberships", testGroupDrop},
		{"GroupBatchAtomicWithJournal", testGroupBatchAtomic},
		{"GroupsJobsIsolated", testGroupsJobsIsolated},
		{"UserNamesReplaceAndDelta", testUserNames},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.fn(t, b)
		})
	}
}

func groupStore(t *testing.T, s state.Store) state.GroupStore {
	t.Helper()
	g, ok := s.(state.GroupStore)
	if !ok {
		t.Fatalf("%T does not implement state.GroupStore", s)
	}
	return g
}

func groupCheckpoint(i int) state.GroupCheckpoint {
	return state.GroupCheckpoint{
		Anchor: fmt.Sprintf("grp-%03d", i), GroupID: fmt.Sprintf("gid-%d", i), Name: fmt.Sprintf("Group «%d»", i),
		Description: map[bool]string{true: "desc", false: ""}[i%2 == 0], PopulationID: map[bool]string{true: "pop-1", false: ""}[i%3 == 0],
		Adopted: i%2 == 1, Status: []state.GroupStatus{state.GroupActive, state.GroupPending, state.GroupFailed, state.GroupConflict}[i%4],
		LastError: map[bool]string{true: "pingone 400", false: ""}[i%4 == 2], Members: i * 7,
		FirstSeen: base.Add(time.Duration(i) * time.Minute), LastSynced: base.Add(time.Hour),
	}
}

func readGroups(t *testing.T, g state.GroupStore, job string) []state.GroupCheckpoint {
	t.Helper()
	var out []state.GroupCheckpoint
	if err := g.GroupCheckpoints(ctx(t), job, func(c state.GroupCheckpoint) error { out = append(out, c); return nil }); err != nil {
		t.Fatalf("GroupCheckpoints: %v", err)
	}
	return out
}

func readMemberships(t *testing.T, g state.GroupStore, job string) []state.Membership {
	t.Helper()
	var out []state.Membership
	if err := g.Memberships(ctx(t), job, func(m state.Membership) error { out = append(out, m); return nil }); err != nil {
		t.Fatalf("Memberships: %v", err)
	}
	return out
}

func sameGroup(a, b state.GroupCheckpoint) bool {
	return a.Anchor == b.Anchor && a.GroupID == b.GroupID && a.Name == b.Name && a.Description == b.Description &&
		a.PopulationID == b.PopulationID && a.Adopted == b.Adopted && a.Status == b.Status && a.LastError == b.LastError &&
		a.Members == b.Members && a.FirstSeen.Equal(b.FirstSeen) && a.LastSynced.Equal(b.LastSynced)
}

func testGroupsRoundTrip(t *testing.T, b Backend) {
	g := groupStore(t, b.Open(t))
	var want []state.GroupCheckpoint
	for i := 0; i < 8; i++ {
		want = append(want, groupCheckpoint(i))
	}
	if err := g.SaveGroups(ctx(t), "job", state.GroupBatch{Groups: want}); err != nil {
		t.Fatal(err)
	}
	// An update keeps first_seen.
	upd := groupCheckpoint(3)
	upd.FirstSeen, upd.Status, upd.GroupID, upd.Members = base.Add(99*time.Hour), state.GroupActive, "gid-new", 0
	if err := g.SaveGroups(ctx(t), "job", state.GroupBatch{Groups: []state.GroupCheckpoint{upd}}); err != nil {
		t.Fatal(err)
	}
	upd.FirstSeen = want[3].FirstSeen
	want[3] = upd
	got := readGroups(t, g, "job")
	if len(got) != len(want) {
		t.Fatalf("%d groups, want %d", len(got), len(want))
	}
	for i := range want {
		if !sameGroup(got[i], want[i]) {
			t.Errorf("group %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	bad := groupCheckpoint(20)
	bad.Status = "bogus"
	if err := g.SaveGroups(ctx(t), "job", state.GroupBatch{Groups: []state.GroupCheckpoint{bad}}); err == nil {
		t.Error("an unknown status was saved")
	}
}

func membership(g, m string, nested bool) state.Membership {
	return state.Membership{Group: g, Member: m, Nested: nested, Since: base}
}

func testMembershipsAddRemove(t *testing.T, b Backend) {
	g := groupStore(t, b.Open(t))
	var add []state.Membership
	for i := 0; i < 1500; i++ { // more than one statement's worth in some drivers
		add = append(add, membership(fmt.Sprintf("g%d", i%3), fmt.Sprintf("u%04d", i), false))
	}
	add = append(add, membership("g0", "g1", true))
	pre := membership("g2", "admin", false)
	pre.Preexisting = true
	add = append(add, pre)
	if err := g.SaveGroups(ctx(t), "job", state.GroupBatch{Add: add}); err != nil {
		t.Fatal(err)
	}
	// Adding one again is an upsert, not an error.
	if err := g.SaveGroups(ctx(t), "job", state.GroupBatch{Add: add[:2]}); err != nil {
		t.Fatalf("re-adding: %v", err)
	}
	if err := g.SaveGroups(ctx(t), "job", state.GroupBatch{Remove: []state.Membership{membership("g0", "u0000", false), membership("g0", "g1", false)}}); err != nil {
		t.Fatal(err)
	}
	got := readMemberships(t, g, "job")
	if len(got) != len(add)-1 {
		t.Fatalf("%d memberships, want %d (a nesting link is not a user membership)", len(got), len(add)-1)
	}
	if !slices.IsSortedFunc(got, func(a, b state.Membership) int {
		if c := cmpString(a.Group, b.Group); c != 0 {
			return c
		}
		if a.Nested != b.Nested {
			return map[bool]int{true: 1, false: -1}[a.Nested]
		}
		return cmpString(a.Member, b.Member)
	}) {
		t.Error("memberships not ordered by group, nesting, member")
	}
	var sawPre, sawLink bool
	for _, m := range got {
		sawPre = sawPre || (m.Member == "admin" && m.Preexisting)
		sawLink = sawLink || (m.Member == "g1" && m.Nested)
		if !m.Since.Equal(base) {
			t.Fatalf("since = %v, want %v", m.Since, base)
		}
	}
	if !sawPre || !sawLink {
		t.Errorf("preexisting kept: %v, nesting link kept: %v", sawPre, sawLink)
	}

	// An addition's intent (pending) is kept, then cleared by the
	// membership the call's answer records.
	intent := membership("g3", "u0001", false)
	intent.Pending = true
	if err := g.SaveGroups(ctx(t), "job", state.GroupBatch{Add: []state.Membership{intent}}); err != nil {
		t.Fatal(err)
	}
	pendingOf := func() (found, pending bool) {
		for _, m := range readMemberships(t, g, "job") {
			if m.Group == "g3" && m.Member == "u0001" {
				return true, m.Pending
			}
		}
		return false, false
	}
	if found, pending := pendingOf(); !found || !pending {
		t.Fatalf("intent: found %v pending %v, want a pending membership", found, pending)
	}
	intent.Pending = false
	if err := g.SaveGroups(ctx(t), "job", state.GroupBatch{Add: []state.Membership{intent}}); err != nil {
		t.Fatal(err)
	}
	if found, pending := pendingOf(); !found || pending {
		t.Fatalf("after the answer: found %v pending %v, want a settled membership", found, pending)
	}
}

func cmpString(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func testGroupDrop(t *testing.T, b Backend) {
	g := groupStore(t, b.Open(t))
	batch := state.GroupBatch{
		Groups: []state.GroupCheckpoint{groupCheckpoint(1), groupCheckpoint(2)},
		Add:    []state.Membership{membership(groupCheckpoint(1).Anchor, "u1", false), membership(groupCheckpoint(2).Anchor, "u1", false)},
	}
	if err := g.SaveGroups(ctx(t), "job", batch); err != nil {
		t.Fatal(err)
	}
	if err := g.SaveGroups(ctx(t), "job", state.GroupBatch{DropGroups: []string{groupCheckpoint(1).Anchor}}); err != nil {
		t.Fatal(err)
	}
	if gs := readGroups(t, g, "job"); len(gs) != 1 || gs[0].Anchor != groupCheckpoint(2).Anchor {
		t.Errorf("groups after drop = %+v", gs)
	}
	if ms := readMemberships(t, g, "job"); len(ms) != 1 || ms[0].Group != groupCheckpoint(2).Anchor {
		t.Errorf("memberships after drop = %+v", ms)
	}
}

func testGroupBatchAtomic(t *testing.T, b Backend) {
	s := b.Open(t)
	g := groupStore(t, s)
	ok := state.GroupBatch{
		Add:     []state.Membership{membership("g", "u1", false)},
		Journal: []state.JournalEntry{{RunID: 1, Anchor: "g", GroupID: "gid", UserID: "uid", Op: "add_member", After: []byte(`{"member":"u1"}`), Status: 201, At: base}},
	}
	if err := g.SaveGroups(ctx(t), "job", ok); err != nil {
		t.Fatal(err)
	}
	if es := entries(t, journal(t, s), state.JournalFilter{Job: "job"}); len(es) != 1 || es[0].Op != "add_member" || es[0].GroupID != "gid" {
		t.Fatalf("journal = %+v", es)
	}
	// A batch whose last part is invalid leaves nothing behind.
	bad := state.GroupBatch{
		Groups: []state.GroupCheckpoint{groupCheckpoint(5)},
		Add:    []state.Membership{membership("g", "u2", false), {Group: "g"}},
	}
	if err := g.SaveGroups(ctx(t), "job", bad); err == nil {
		t.Fatal("a membership without a member was saved")
	}
	if gs, ms := readGroups(t, g, "job"), readMemberships(t, g, "job"); len(gs) != 0 || len(ms) != 1 {
		t.Errorf("after a refused batch: %d groups, %d memberships; want 0 and 1", len(gs), len(ms))
	}
}

func testGroupsJobsIsolated(t *testing.T, b Backend) {
	g := groupStore(t, b.Open(t))
	for _, job := range []string{"a", "b"} {
		if err := g.SaveGroups(ctx(t), job, state.GroupBatch{Groups: []state.GroupCheckpoint{groupCheckpoint(1)},
			Add: []state.Membership{membership("g", "u-"+job, false)}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := g.SaveGroups(ctx(t), "a", state.GroupBatch{DropGroups: []string{groupCheckpoint(1).Anchor}, Remove: []state.Membership{membership("g", "u-a", false)}}); err != nil {
		t.Fatal(err)
	}
	if gs, ms := readGroups(t, g, "b"), readMemberships(t, g, "b"); len(gs) != 1 || len(ms) != 1 || ms[0].Member != "u-b" {
		t.Errorf("job b changed by job a's batch: %+v %+v", gs, ms)
	}
}

func testUserNames(t *testing.T, b Backend) {
	g := groupStore(t, b.Open(t))
	read := func(job string) []state.UserName {
		var out []state.UserName
		if err := g.UserNames(ctx(t), job, func(u state.UserName) error { out = append(out, u); return nil }); err != nil {
			t.Fatal(err)
		}
		return out
	}
	all := []state.UserName{{Anchor: "a", DN: "uid=a,ou=p", UID: "a", Population: "Staff", Username: "ann"}, {Anchor: "b", DN: "uid=b,ou=p"}, {Anchor: "c", DN: "uid=c,ou=p"}}
	if err := g.SaveUserNames(ctx(t), "job", true, all, nil); err != nil {
		t.Fatal(err)
	}
	if err := g.SaveUserNames(ctx(t), "other", true, all[:1], nil); err != nil {
		t.Fatal(err)
	}
	// A delta: b renamed, c gone.
	if err := g.SaveUserNames(ctx(t), "job", false, []state.UserName{{Anchor: "b", DN: "uid=b2,ou=p"}}, []string{"c"}); err != nil {
		t.Fatal(err)
	}
	got := read("job")
	if len(got) != 2 || got[0] != all[0] || got[1].DN != "uid=b2,ou=p" {
		t.Errorf("after a delta: %+v", got)
	}
	// A full read replaces everything.
	if err := g.SaveUserNames(ctx(t), "job", true, []state.UserName{{Anchor: "d"}}, nil); err != nil {
		t.Fatal(err)
	}
	if got := read("job"); len(got) != 1 || got[0].Anchor != "d" {
		t.Errorf("after a replace: %+v", got)
	}
	if got := read("other"); len(got) != 1 {
		t.Errorf("other job touched: %+v", got)
	}
	if err := g.SaveUserNames(ctx(t), "job", false, []state.UserName{{DN: "x"}}, nil); err == nil {
		t.Error("an empty anchor was saved")
	}
}
