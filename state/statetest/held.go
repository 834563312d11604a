package statetest

import (
	"testing"
	"time"

	"github.com/syncd/syncd/state"
)

// testHeldDisables: held disables are kept per job, a second hold of an
// anchor keeps its first run and time, release forgets them.
func testHeldDisables(t *testing.T, b Backend) {
	s := b.Open(t)
	h, ok := s.(state.Held)
	if !ok {
		t.Fatalf("%T does not implement state.Held", s)
	}
	at := time.Date(2026, 12, 5, 10, 0, 0, 123456000, time.UTC)
	hold := []state.HeldDisable{
		{Anchor: "b", UserID: "u-b", Username: "bob", Reason: "deleted in the source", Gate: "watch window", RunID: 7, HeldAt: at},
		{Anchor: "a", UserID: "u-a", Username: "ann", Reason: "deleted in the source", Gate: "watch window", RunID: 7, HeldAt: at},
	}
	if err := h.HoldDisables(ctx(t), "job", hold); err != nil {
		t.Fatal(err)
	}
	if err := h.HoldDisables(ctx(t), "other", hold[:1]); err != nil {
		t.Fatal(err)
	}
	again := hold[1]
	again.RunID, again.HeldAt = 9, at.Add(time.Hour)
	if err := h.HoldDisables(ctx(t), "job", []state.HeldDisable{again}); err != nil {
		t.Fatal(err)
	}
	got, err := h.HeldDisables(ctx(t), "job")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Anchor != "a" || got[1].Anchor != "b" || got[0].RunID != 7 || !got[0].HeldAt.Equal(at) ||
		got[0].Username != "ann" || got[0].UserID != "u-a" || got[0].Reason != "deleted in the source" || got[0].Gate != "watch window" {
		t.Fatalf("held: %+v", got)
	}
	if err := h.ReleaseHeld(ctx(t), "job", []string{"a", "nope"}); err != nil {
		t.Fatal(err)
	}
	if got, _ = h.HeldDisables(ctx(t), "job"); len(got) != 1 || got[0].Anchor != "b" {
		t.Fatalf("after release: %+v", got)
	}
	if got, _ = h.HeldDisables(ctx(t), "other"); len(got) != 1 {
		t.Fatalf("another job's held disables changed: %+v", got)
	}
}

// testCountWrites: successful writes are counted by operation from a time
// on; failed ones and other jobs' are not.
func testCountWrites(t *testing.T, b Backend) {
	s := b.Open(t)
	j := s.(state.Journal)
	h := s.(state.Held)
	base := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	run, err := s.StartRun(ctx(t), state.Run{Job: "job", Mode: "delta", StartedAt: base, Status: state.RunRunning})
	if err != nil {
		t.Fatal(err)
	}
	failed := entry(run.ID, "a4", state.OpDisable, base.Add(time.Minute))
	failed.Status, failed.Error = 500, "boom"
	es := []state.JournalEntry{
		entry(run.ID, "a1", state.OpDisable, base.Add(-time.Minute)), // before the window
		entry(run.ID, "a2", state.OpDisable, base),
		entry(run.ID, "a3", state.OpDisable, base.Add(time.Minute)),
		entry(run.ID, "a5", state.OpCreate, base.Add(time.Minute)),
		failed,
	}
	if err := j.SaveJournaled(ctx(t), "job", nil, es); err != nil {
		t.Fatal(err)
	}
	if err := j.SaveJournaled(ctx(t), "other", nil, []state.JournalEntry{entry(run.ID, "x", state.OpDisable, base)}); err != nil {
		t.Fatal(err)
	}
	got, err := h.CountWrites(ctx(t), "job", base)
	if err != nil {
		t.Fatal(err)
	}
	if got[state.OpDisable] != 2 || got[state.OpCreate] != 1 || len(got) != 2 {
		t.Fatalf("CountWrites: %v, want disable 2, create 1", got)
	}
}
