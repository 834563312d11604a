package statetest

import (
	"io/fs"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/syncd/syncd/state"
)

// RunOwners runs the ownership conformance suite against b, whose stores
// must implement state.Owners: one PingOne user per anchor within a job,
// and the look-ups that keep one owner across jobs.
func RunOwners(t *testing.T, b Backend) {
	tests := []struct {
		name string
		fn   func(t *testing.T, b Backend)
	}{
		{"CheckpointsOneUserOneAnchorPerJob", testOneUserOneAnchor},
		{"OwnersJobsAndCheckpointsOfUsers", testCheckpointsOfUsers},
		{"OwnersRenameAnchors", testRenameAnchors},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.fn(t, b)
		})
	}
}

func owners(t *testing.T, s state.Store) state.Owners {
	t.Helper()
	o, ok := s.(state.Owners)
	if !ok {
		t.Fatalf("%T does not implement state.Owners", s)
	}
	return o
}

// Two anchors of one job can never claim one PingOne user; checkpoints
// without a user (failed creates) are not constrained; another job may
// hold the same id as far as the store is concerned (the engine refuses it).
func testOneUserOneAnchor(t *testing.T, b Backend) {
	s := b.Open(t)
	a, c := checkpoint(1), checkpoint(2)
	save(t, s, "hr", []state.Checkpoint{a})
	c.UserID = a.UserID
	if err := s.SaveCheckpoints(ctx(t), "hr", []state.Checkpoint{checkpoint(3), c}); err == nil {
		t.Fatal("a second anchor claiming the same user was saved")
	}
	expect(t, s, "hr", []state.Checkpoint{a}) // the batch wrote nothing

	e1, e2 := checkpoint(4), checkpoint(5)
	e1.UserID, e2.UserID = "", ""
	save(t, s, "hr", []state.Checkpoint{e1, e2})
	save(t, s, "other", []state.Checkpoint{c})
	// The same anchor taking a new user, and its old user moving to another
	// anchor in a later batch, are fine.
	a2 := a
	a2.UserID = "new-user"
	save(t, s, "hr", []state.Checkpoint{a2})
	c.Anchor = "anchor-moved"
	save(t, s, "hr", []state.Checkpoint{c})
}

func testCheckpointsOfUsers(t *testing.T, b Backend) {
	s := b.Open(t)
	o := owners(t, s)
	if jobs, err := o.Jobs(ctx(t)); err != nil || len(jobs) != 0 {
		t.Fatalf("Jobs on an empty store = %v, %v", jobs, err)
	}
	var cps []state.Checkpoint
	for i := range 5 {
		cps = append(cps, checkpoint(i))
	}
	failed := checkpoint(9)
	failed.UserID = ""
	save(t, s, "b-job", append(cps, failed))
	save(t, s, "a-job", cps[:1])
	jobs, err := o.Jobs(ctx(t))
	if err != nil || !slices.Equal(jobs, []string{"a-job", "b-job"}) {
		t.Fatalf("Jobs = %v, %v", jobs, err)
	}
	var got []string
	err = o.CheckpointsOfUsers(ctx(t), "b-job", []string{cps[1].UserID, cps[3].UserID, "nobody", ""}, func(cp state.Checkpoint) error {
		got = append(got, cp.Anchor)
		if want := checkpoint(map[string]int{cps[1].Anchor: 1, cps[3].Anchor: 3}[cp.Anchor]); diff(cp, want) != "" {
			t.Errorf("checkpoint %s: %s", cp.Anchor, diff(cp, want))
		}
		return nil
	})
	sort.Strings(got)
	if err != nil || !slices.Equal(got, []string{cps[1].Anchor, cps[3].Anchor}) {
		t.Fatalf("CheckpointsOfUsers = %v, %v", got, err)
	}
}

func testRenameAnchors(t *testing.T, b Backend) {
	s := b.Open(t)
	o := owners(t, s)
	old, twin, keep := checkpoint(1), checkpoint(2), checkpoint(3)
	old.Anchor, twin.Anchor = "Zoe\u0308", "Zo\u00eb-twin-old"
	twinNew := checkpoint(4)
	twinNew.Anchor, twinNew.UserID = "Zo\u00eb-twin", ""
	save(t, s, "hr", []state.Checkpoint{old, twin, twinNew, keep})
	save(t, s, "other", []state.Checkpoint{old})
	err := o.RenameAnchors(ctx(t), "hr", map[string]string{old.Anchor: "Zo\u00eb", twin.Anchor: twinNew.Anchor})
	if err != nil {
		t.Fatalf("RenameAnchors: %v", err)
	}
	renamed, twinRenamed := old, twin
	renamed.Anchor, twinRenamed.Anchor = "Zo\u00eb", twinNew.Anchor
	expect(t, s, "hr", []state.Checkpoint{renamed, twinRenamed, keep})
	expect(t, s, "other", []state.Checkpoint{old})
	if err := o.RenameAnchors(ctx(t), "hr", map[string]string{keep.Anchor: ""}); err == nil {
		t.Error("renaming to an empty anchor was accepted")
	}
	expect(t, s, "hr", []state.Checkpoint{renamed, twinRenamed, keep})
}

// UpSection returns the Up part of a goose migration file.
func UpSection(t *testing.T, fsys fs.FS, name string) string {
	t.Helper()
	b, err := fs.ReadFile(fsys, name)
	if err != nil {
		t.Fatalf("read migration %s: %v", name, err)
	}
	up, _, _ := strings.Cut(string(b), "-- +goose Down")
	return strings.TrimPrefix(up, "-- +goose Up")
}

// CheckUserUniqueMigration checks migration 00002 on a database that holds
// two anchors of one job claiming one PingOne user (written before the
// unique index): s is a migrated store, exec runs SQL on its database. The
// checkpoint synced last keeps the user; the other falls back to a failed
// create with no user; the index holds afterwards.
func CheckUserUniqueMigration(t *testing.T, s state.Store, dropIndex, up string, exec func(sql string)) {
	exec(dropIndex)
	older, newer, alone := checkpoint(1), checkpoint(2), checkpoint(3)
	newer.UserID = older.UserID
	older.LastSynced = newer.LastSynced.Add(-time.Hour)
	other := older // another job may hold the same user as far as the index goes
	save(t, s, "hr", []state.Checkpoint{older, newer, alone})
	save(t, s, "other", []state.Checkpoint{other})
	exec(up)
	got := all(t, s, "hr")
	if got[newer.Anchor].UserID != newer.UserID || diff(got[alone.Anchor], alone) != "" {
		t.Errorf("the checkpoint synced last lost its user, or another changed: %+v", got)
	}
	o := got[older.Anchor]
	if o.UserID != "" || o.Status != state.StatusFailed || o.Hash != "" || !strings.Contains(o.LastError, older.UserID) {
		t.Errorf("the older claim: %+v, want no user, failed, naming the user", o)
	}
	expect(t, s, "other", []state.Checkpoint{other})
	c := checkpoint(4)
	c.UserID = alone.UserID
	if err := s.SaveCheckpoints(ctx(t), "hr", []state.Checkpoint{c}); err == nil {
		t.Error("after the migration, a second anchor claimed a user")
	}
}
