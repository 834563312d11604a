package statetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/syncd/syncd/state"
)

// RunStanding runs the conformance suite of what a store keeps between
// runs besides plain checkpoints: the pending and gone statuses, and the
// standing rejects (state.Rejects), the watch gate's held disables and
// write counts (state.Held).
func RunStanding(t *testing.T, b Backend) {
	tests := []struct {
		name string
		fn   func(t *testing.T, b Backend)
	}{
		{"CheckpointsPendingAndGone", testPendingAndGone},
		{"RejectsStandUntilAccepted", testRejectsStand},
		{"RejectsJobsIsolated", testRejectsJobsIsolated},
		{"HeldDisables", testHeldDisables},
		{"CountWrites", testCountWrites},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.fn(t, b)
		})
	}
}

// A create's intent (pending, no user id yet) and a user deleted in
// PingOne (gone) are kept, counted and replaced like any checkpoint.
func testPendingAndGone(t *testing.T, b Backend) {
	s := b.Open(t)
	pending, gone := checkpoint(1), checkpoint(2)
	pending.UserID, pending.Hash, pending.Attributes, pending.Status = "", "", nil, state.StatusPending
	gone.UserID, gone.Status, gone.LastError = "", state.StatusGone, "deleted in PingOne outside syncd"
	save(t, s, "job", []state.Checkpoint{pending, gone, checkpoint(4)})
	expect(t, s, "job", []state.Checkpoint{pending, gone, checkpoint(4)})
	counts, err := s.CountByStatus(ctx(t), "job")
	if err != nil {
		t.Fatal(err)
	}
	if counts[state.StatusPending] != 1 || counts[state.StatusGone] != 1 || counts[state.StatusActive] != 1 {
		t.Errorf("CountByStatus = %v", counts)
	}
	// The create's outcome replaces its intent.
	done := pending
	done.UserID, done.Status, done.Hash = "7f3c0001-0000-4000-8000-000000000001", state.StatusActive, "h1"
	save(t, s, "job", []state.Checkpoint{done})
	expect(t, s, "job", []state.Checkpoint{done, gone, checkpoint(4)})
}

func rejects(t *testing.T, s state.Store) state.Rejects {
	t.Helper()
	r, ok := s.(state.Rejects)
	if !ok {
		t.Fatalf("%T does not implement state.Rejects", s)
	}
	return r
}

// standing returns job's standing rejects as "key=reason" strings, in the
// store's order, and checks CountRejects agrees.
func standing(t *testing.T, r state.Rejects, job string) []string {
	t.Helper()
	var out []string
	err := r.StandingRejects(ctx(t), job, func(rj state.Reject) error {
		out = append(out, state.RejectKey(rj)+"="+rj.Reason)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	n, err := r.CountRejects(ctx(t), job)
	if err != nil {
		t.Fatal(err)
	}
	if n != len(out) {
		t.Errorf("CountRejects = %d, StandingRejects streamed %d", n, len(out))
	}
	return out
}

func rejectAt(anchor, reason string, at time.Time) state.Reject {
	return state.Reject{Anchor: anchor, Pos: "line " + anchor, Attribute: "email", Reason: reason, FirstSeen: at, LastSeen: at}
}

// A complete read replaces the standing rejects; a delta read adds its own
// and clears only the anchors it accepted; the first sighting is kept.
func testRejectsStand(t *testing.T, b Backend) {
	s := b.Open(t)
	r := rejects(t, s)
	t1, t2 := base, base.Add(time.Hour)
	save := func(complete bool, rs []state.Reject, accepted ...string) {
		t.Helper()
		if err := r.SaveRejects(ctx(t), "job", complete, rs, accepted); err != nil {
			t.Fatalf("SaveRejects: %v", err)
		}
	}
	anon := state.Reject{Pos: "line 9", Reason: "no anchor"}
	anon.FirstSeen, anon.LastSeen = t1, t1
	save(true, []state.Reject{rejectAt("b", "bad email", t1), rejectAt("a", "bad email", t1), anon, rejectAt("c", "first", t1), rejectAt("c", "last wins", t1)})
	want := fmt.Sprint([]string{"a=bad email", "b=bad email", "c=last wins", "@line 9=no anchor"})
	if got := fmt.Sprint(standing(t, r, "job")); got != want {
		t.Fatalf("after a complete read: %s, want %s", got, want)
	}

	// A delta read that reads nothing leaves every reject standing.
	save(false, nil)
	if got := fmt.Sprint(standing(t, r, "job")); got != want {
		t.Fatalf("after an empty delta read: %s, want %s", got, want)
	}

	// A delta read: a fixed, c rejected again (its first sighting kept),
	// d newly rejected, b not read.
	save(false, []state.Reject{rejectAt("c", "still bad", t2), rejectAt("d", "new", t2)}, "a")
	want = fmt.Sprint([]string{"b=bad email", "c=still bad", "d=new", "@line 9=no anchor"})
	if got := fmt.Sprint(standing(t, r, "job")); got != want {
		t.Fatalf("after a delta read: %s, want %s", got, want)
	}
	err := r.StandingRejects(ctx(t), "job", func(rj state.Reject) error {
		if rj.Anchor == "c" && (!rj.FirstSeen.Equal(t1) || !rj.LastSeen.Equal(t2) || rj.Pos != "line c" || rj.Attribute != "email") {
			t.Errorf("reject c = %+v: want first seen %v, last seen %v", rj, t1, t2)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	// A complete read with no reject clears them all.
	save(true, nil)
	if got := standing(t, r, "job"); len(got) != 0 {
		t.Fatalf("after a clean complete read: %v", got)
	}
	if err := r.SaveRejects(ctx(t), "job", true, []state.Reject{{Anchor: "x"}}, nil); err == nil {
		t.Error("a reject without a reason was saved")
	}
}

func testRejectsJobsIsolated(t *testing.T, b Backend) {
	s := b.Open(t)
	r := rejects(t, s)
	if err := r.SaveRejects(ctx(t), "one", true, []state.Reject{rejectAt("a", "bad", base)}, nil); err != nil {
		t.Fatal(err)
	}
	if err := r.SaveRejects(ctx(t), "two", true, nil, nil); err != nil {
		t.Fatal(err)
	}
	if got := standing(t, r, "one"); len(got) != 1 {
		t.Errorf("job one: %v, want its reject to stand", got)
	}
	if got := standing(t, r, "two"); len(got) != 0 {
		t.Errorf("job two: %v", got)
	}
}
