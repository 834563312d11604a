package statetest

import (
	"errors"
	"io/fs"
	"strings"
	"testing"
	"time"

	"github.com/syncd/syncd/state"
)

// RunDeletes runs the deletes-after-a-grace-period conformance suite
// against b, whose stores must implement state.Deletes: the disable and
// delete times round-trip with every checkpoint write, and DisabledBefore
// finds exactly the users whose grace period has passed.
func RunDeletes(t *testing.T, b Backend) {
	tests := []struct {
		name string
		fn   func(t *testing.T, b Backend)
	}{
		{"DeletesTimesRoundTrip", testDeleteTimesRoundTrip},
		{"DeletesDisabledBefore", testDisabledBefore},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.fn(t, b)
		})
	}
}

func deletes(t *testing.T, s state.Store) state.Deletes {
	t.Helper()
	d, ok := s.(state.Deletes)
	if !ok {
		t.Fatalf("%T does not implement state.Deletes", s)
	}
	return d
}

// disabledCheckpoint is checkpoint(i) disabled by syncd at at.
func disabledCheckpoint(i int, at time.Time) state.Checkpoint {
	c := checkpoint(i)
	c.Enabled, c.Status, c.LastError, c.Failures, c.DisabledAt = false, state.StatusDisabled, "", 0, at
	return c
}

func testDeleteTimesRoundTrip(t *testing.T, b Backend) {
	s := b.Open(t)
	disabled := disabledCheckpoint(1, base.Add(-400*24*time.Hour))
	deleted := checkpoint(2)
	deleted.UserID, deleted.Status, deleted.Enabled, deleted.DisabledAt, deleted.DeletedAt = "", state.StatusGone, false, time.Time{}, base
	save(t, s, "hr", []state.Checkpoint{disabled, deleted, checkpoint(3)})
	expect(t, s, "hr", []state.Checkpoint{disabled, deleted, checkpoint(3)})
	// Through the journal's transaction too.
	j, ok := s.(state.Journal)
	if !ok {
		t.Fatalf("%T does not implement state.Journal", s)
	}
	disabled.DisabledAt = base.Add(-time.Hour)
	if err := j.SaveJournaled(ctx(t), "hr", []state.Checkpoint{disabled}, nil); err != nil {
		t.Fatal(err)
	}
	// An enable clears the time: the next disable starts a new grace period.
	enabled := checkpoint(1)
	enabled.Enabled, enabled.Status = true, state.StatusActive
	save(t, s, "hr", []state.Checkpoint{enabled})
	expect(t, s, "hr", []state.Checkpoint{enabled, deleted, checkpoint(3)})
	var got []state.Checkpoint
	err := s.CheckpointsFor(ctx(t), "hr", []string{deleted.Anchor}, func(cp state.Checkpoint) error { got = append(got, cp); return nil })
	if err != nil || len(got) != 1 || diff(got[0], deleted) != "" {
		t.Errorf("CheckpointsFor(deleted) = %+v, %v; want %+v", got, err, deleted)
	}
}

func testDisabledBefore(t *testing.T, b Backend) {
	s := b.Open(t)
	d := deletes(t, s)
	cut := base
	old1 := disabledCheckpoint(1, cut.Add(-48*time.Hour))
	old2 := disabledCheckpoint(2, cut.Add(-72*time.Hour)) // older: first
	onCut := disabledCheckpoint(3, cut)
	recent := disabledCheckpoint(4, cut.Add(time.Second))
	never := disabledCheckpoint(5, time.Time{}) // disabled before syncd kept the time
	failed := disabledCheckpoint(6, cut.Add(-time.Hour))
	failed.Status, failed.LastError, failed.Failures = state.StatusFailed, "pingone 503", 1
	noUser := disabledCheckpoint(7, cut.Add(-time.Hour))
	noUser.UserID, noUser.Status = "", state.StatusGone
	active := checkpoint(8)
	active.Enabled, active.Status = true, state.StatusActive
	save(t, s, "hr", []state.Checkpoint{old1, old2, onCut, recent, never, failed, noUser, active})
	save(t, s, "other", []state.Checkpoint{disabledCheckpoint(9, cut.Add(-time.Hour))})

	var got []string
	err := d.DisabledBefore(ctx(t), "hr", cut, func(cp state.Checkpoint) error {
		got = append(got, cp.Anchor)
		if cp.DisabledAt.IsZero() || cp.Attributes == nil {
			t.Errorf("%s streamed without its disable time or attributes: %+v", cp.Anchor, cp)
		}
		return nil
	})
	want := []string{old2.Anchor, old1.Anchor, onCut.Anchor}
	if err != nil || strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("DisabledBefore(hr, cut) = %v, %v; want %v (oldest first; only disabled users with an id, at or before the cut)", got, err, want)
	}
	got = got[:0]
	if err := d.DisabledBefore(ctx(t), "nobody", cut, func(cp state.Checkpoint) error { got = append(got, cp.Anchor); return nil }); err != nil || len(got) != 0 {
		t.Errorf("DisabledBefore(another job) = %v, %v", got, err)
	}
	stop, errStop := 0, errors.New("stop")
	err = d.DisabledBefore(ctx(t), "hr", cut, func(state.Checkpoint) error { stop++; return errStop })
	if !errors.Is(err, errStop) || stop != 1 {
		t.Errorf("callback error: %v after %d calls, want errStop after 1", err, stop)
	}
}

// CheckDeletesAfterMigration checks migration 00013 on a database whose
// disabled users have no disable time (written before it): s is a migrated
// store, exec runs SQL on its database, down and up are 00013's sections.
// The grace period of a user disabled before counts from its last write.
func CheckDeletesAfterMigration(t *testing.T, s state.Store, fsys fs.FS, exec func(sql string)) {
	old := disabledCheckpoint(1, time.Time{})
	active := checkpoint(2)
	active.Enabled, active.Status = true, state.StatusActive
	save(t, s, "hr", []state.Checkpoint{old, active})
	b, err := fs.ReadFile(fsys, "00013_deletes_after.sql")
	if err != nil {
		t.Fatal(err)
	}
	up, down, _ := strings.Cut(string(b), "-- +goose Down")
	exec(down)
	exec(strings.TrimPrefix(up, "-- +goose Up"))
	old.DisabledAt = old.LastSynced
	expect(t, s, "hr", []state.Checkpoint{old, active})
}
