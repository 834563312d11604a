package statetest

import (
	"context"
	"testing"
	"time"

	"github.com/syncd/syncd/state"
)

// RunAbandon checks state.RunAbandoner: runs left "running" are marked
// abandoned with a reason and an end, finished runs and other jobs' runs
// are left alone.
func RunAbandon(t *testing.T, b Backend) {
	t.Helper()
	ctx := context.Background()
	s := b.Open(t)
	ab, ok := s.(state.RunAbandoner)
	if !ok {
		t.Fatalf("%T does not implement state.RunAbandoner", s)
	}
	at := time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)
	start := func(job string) state.Run {
		r, err := s.StartRun(ctx, state.Run{Job: job, Mode: "full", StartedAt: at.Add(-time.Hour), Status: state.RunRunning})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	left := start("hr")
	done := start("hr")
	done.Status, done.FinishedAt = state.RunSucceeded, at.Add(-time.Minute)
	if err := s.FinishRun(ctx, done); err != nil {
		t.Fatal(err)
	}
	other := start("it")
	n, err := ab.AbandonRuns(ctx, "hr", at)
	if err != nil || n != 1 {
		t.Fatalf("AbandonRuns = %d, %v; want 1", n, err)
	}
	runs, err := s.Runs(ctx, "", 10)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[int64]state.Run{}
	for _, r := range runs {
		byID[r.ID] = r
	}
	if r := byID[left.ID]; r.Status != state.RunAbandoned || !r.FinishedAt.Equal(at) || r.Error != state.AbandonedReason {
		t.Errorf("run left running: %+v; want abandoned at %s with the reason", r, at)
	}
	if r := byID[done.ID]; r.Status != state.RunSucceeded {
		t.Errorf("a finished run was changed: %+v", r)
	}
	if r := byID[other.ID]; r.Status != state.RunRunning {
		t.Errorf("another job's run was changed: %+v", r)
	}
	if n, err := ab.AbandonRuns(ctx, "hr", at); err != nil || n != 0 {
		t.Fatalf("second AbandonRuns = %d, %v; want 0", n, err)
	}
}
