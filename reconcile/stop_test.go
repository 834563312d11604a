package reconcile_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/syncd/syncd/reconcile"
	"github.com/syncd/syncd/state"
)

// TestAbortCutsAStalledApplyShort: PingOne applies creates but its answers
// stall. A stop (ctx cancelled) alone would wait for the requests in
// flight, through their timeouts and retries; Options.Abort cancels them.
// The run then returns, what finished is checkpointed, the run is recorded
// as stopped, and the next run finds the creates whose answers never came
// by externalId: no duplicate.
func TestAbortCutsAStalledApplyShort(t *testing.T) {
	backends(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend)
		e.write(people(30))
		e.job.Workers, e.job.BatchSize = 4, 4
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		abort := make(chan struct{})
		var release func()
		e.eng.Target = &stoppingTarget{Target: e.eng.Target, n: 6, after: func() {
			release = e.emu.StallAnswers()
			go func() {
				for e.emu.InFlight() < 1 {
					time.Sleep(time.Millisecond)
				}
				cancel() // the graceful stop: requests in flight go on ...
				time.Sleep(50 * time.Millisecond)
				close(abort) // ... until the shutdown deadline
			}()
		}}
		type result struct {
			rep *reconcile.Report
			err error
		}
		done := make(chan result, 1)
		go func() {
			rep, err := e.eng.Run(ctx, e.job, reconcile.Options{Abort: abort})
			done <- result{rep, err}
		}()
		var r result
		select {
		case r = <-done:
		case <-time.After(2 * time.Minute): // a hang guard, not a speed goal
			t.Fatal("the aborted run did not return: its requests in flight were not cancelled")
		}
		defer release()
		if r.err == nil || !strings.Contains(r.err.Error(), "shutdown deadline") {
			t.Fatalf("run = %v, want a stop at the shutdown deadline", r.err)
		}
		cut := 0
		for _, f := range r.rep.Failures {
			if strings.Contains(f.Error, "outcome unknown") {
				cut++
			}
		}
		if cut == 0 {
			t.Errorf("no failure says its outcome is unknown: %+v", r.rep.Failures)
		}
		runs, err := e.store.Runs(context.Background(), "hr", 1)
		if err != nil || len(runs) != 1 || runs[0].Status != state.RunStopped {
			t.Fatalf("run records %+v (%v): want one, stopped", runs, err)
		}
		cps := map[string]state.Checkpoint{}
		if err := e.store.Checkpoints(context.Background(), "hr", func(c state.Checkpoint) error {
			cps[c.Anchor] = c
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		unknown := 0
		for ext, u := range e.users() {
			cp, ok := cps[ext]
			switch {
			case ok && cp.UserID == u["id"]:
			case ok && cp.UserID == "" && (cp.Status == state.StatusPending || cp.Status == state.StatusFailed):
				unknown++
			default:
				t.Errorf("PingOne user %v (externalId %q) is not accounted for in state: %+v", u["id"], ext, cp)
			}
		}
		if unknown == 0 {
			t.Fatal("no create's outcome was unknown: the test did not cut a create in flight")
		}

		release()
		e.eng.Target = e.eng.Target.(*stoppingTarget).Target
		e.mustRun(reconcile.Options{})
		if n := len(e.users()); n != 30 {
			t.Fatalf("%d users after the next run, want 30 (users() fails on a duplicate)", n)
		}
	})
}
