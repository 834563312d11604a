package reconcile_test

import (
	"context"
	"errors"
	"testing"

	"github.com/syncd/syncd/reconcile"
	"github.com/syncd/syncd/state"
)

func TestRevertUndoesARunAndRefusesUsersChangedSince(t *testing.T) {
	backends(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend)
		e.job.Safety.MaxDisablePercent = 100
		e.mustRun(reconcile.Options{})
		before := e.users()

		// The bad run: a title changed, a move, a disable in the source,
		// a leaver, a new user.
		rows := people(11)
		rows[0][5] = "Manager"                   // id-a
		rows[1][5] = "Lead"                      // id-b
		rows[4][7] = "contract"                  // id-e moves
		rows[5][6] = "no"                        // id-f disabled
		e.write(append(rows[:2:2], rows[3:]...)) // id-c leaves, id-k new
		bad := e.mustRun(reconcile.Options{})
		// A later run changes id-b again.
		rows[1][5] = "Director"
		e.write(append(rows[:2:2], rows[3:]...))
		e.mustRun(reconcile.Options{})
		k := e.users()["id-k"]["id"]

		ctx := context.Background()
		plan, err := e.eng.Revert(ctx, e.job, bad.RunID, reconcile.Options{DryRun: true})
		if err != nil {
			t.Fatalf("revert plan: %v", err)
		}
		if len(plan.Refused) != 1 || plan.Refused[0].Anchor != "id-b" || plan.Refused[0].Run != bad.RunID+1 {
			t.Errorf("refused = %+v, want id-b, changed by run %d", plan.Refused, bad.RunID+1)
		}
		c := plan.Counts
		if c.Updated != 1 || c.Moved != 1 || c.Enabled != 2 || c.Disabled != 1 || c.Created != 0 {
			t.Errorf("revert plan counts %+v, want 1 update (id-a), 1 move (id-e), 2 enables (id-c, id-f), 1 disable (id-k)", c)
		}
		if e.users()["id-c"]["enabled"] != false {
			t.Fatal("the revert plan wrote to PingOne")
		}

		// A stale plan is refused.
		if _, err := e.eng.Revert(ctx, e.job, bad.RunID, reconcile.Options{ExpectPlan: "stale"}); !errors.Is(err, reconcile.ErrPlanChanged) {
			t.Fatalf("revert with a stale digest: %v", err)
		}
		done, err := e.eng.Revert(ctx, e.job, bad.RunID, reconcile.Options{ExpectPlan: plan.PlanDigest})
		if err != nil {
			t.Fatalf("revert: %v", err)
		}
		if done.Counts.Failed != 0 || done.RunID == 0 {
			t.Fatalf("revert report: %+v", done)
		}
		us := e.users()
		if us["id-a"]["title"] != "Engineer" || us["id-b"]["title"] != "Director" {
			t.Errorf("titles after revert: a=%v (want Engineer) b=%v (want Director: refused)", us["id-a"]["title"], us["id-b"]["title"])
		}
		if pop := us["id-e"]["population"].(map[string]any)["id"]; pop != before["id-e"]["population"].(map[string]any)["id"] {
			t.Errorf("id-e population after revert = %v, want Staff", pop)
		}
		if us["id-c"]["enabled"] != true || us["id-f"]["enabled"] != true {
			t.Errorf("enabled after revert: c=%v f=%v", us["id-c"]["enabled"], us["id-f"]["enabled"])
		}
		if us["id-k"]["enabled"] != false || us["id-k"]["id"] != k {
			t.Errorf("id-k after revert: %v (want the same user, disabled, not deleted)", us["id-k"])
		}
		// The revert's own writes are journaled under its run.
		if got := journalOf(t, e.store, done.RunID); len(got) != 5 {
			t.Errorf("the revert journaled %d anchors, want 5", len(got))
		}
		runs, _ := e.store.Runs(ctx, "hr", 1)
		if len(runs) != 1 || runs[0].Mode != "revert" || runs[0].Status != state.RunSucceeded {
			t.Errorf("revert run record = %+v", runs)
		}
		// Reverting it again: every user was changed since by the revert.
		again, err := e.eng.Revert(ctx, e.job, bad.RunID, reconcile.Options{DryRun: true})
		if err != nil || len(again.Operations) != 0 || len(again.Refused) != 6 {
			t.Errorf("second revert: %d operations, %d refused, %v; want none and 6", len(again.Operations), len(again.Refused), err)
		}
		if _, err := e.eng.Revert(ctx, e.job, 9999, reconcile.Options{DryRun: true}); !errors.Is(err, reconcile.ErrNoJournal) {
			t.Errorf("revert of an unknown run: %v", err)
		}
	})
}
