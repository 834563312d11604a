package reconcile_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/syncd/syncd/mapper"
	"github.com/syncd/syncd/reconcile"
	"github.com/syncd/syncd/state"
)

// A population rule naming a population that does not exist rejects only
// the records it routes there, with a reason naming it; the run goes on.
func TestPopulationRuleNamingAMissingPopulationRejectsOnlyItsRecords(t *testing.T) {
	backends(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend, func(c *mapper.Config) {
			c.Population.Rules = append([]mapper.PopulationRule{{When: `dept == "lab"`, Population: "Laboratory"}}, c.Population.Rules...)
		})
		rows := people(10)
		rows[3][7], rows[7][7] = "lab", "lab"
		e.write(rows)
		rep, err := e.run(reconcile.Options{})
		if err != nil {
			t.Fatalf("run failed: %v", err)
		}
		if rep.Counts.Created != 8 || rep.Counts.Rejected != 2 {
			t.Fatalf("counts = %+v, want 8 created, 2 rejected", rep.Counts)
		}
		for _, r := range rep.Rejects {
			if (r.Anchor != "id-d" && r.Anchor != "id-h") || !strings.Contains(r.Reason, `"Laboratory"`) {
				t.Errorf("reject %+v: want id-d and id-h, naming \"Laboratory\"", r)
			}
		}
		if n := len(e.users()); n != 8 {
			t.Errorf("PingOne has %d users, want 8", n)
		}
	})
}

// Users an admin deleted in PingOne: a leaver (its disable finds 404), an
// edited one (its PATCH finds 404) and a moved one (its population PUT
// finds 404) are recorded as gone, the report says so, and the run
// succeeds: its cursor advances, and no later run fails on them again.
func TestUsersDeletedInPingOneAreRecordedAsGoneAndTheRunSucceeds(t *testing.T) {
	backends(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend)
		e.mustRun(reconcile.Options{})
		us := e.users()
		for _, a := range []string{"id-b", "id-c", "id-d"} {
			if err := e.emu.DeleteUser(us[a]["id"].(string)); err != nil {
				t.Fatal(err)
			}
		}
		rows := people(10)
		rows[2][5] = "Manager"  // id-c: a PATCH
		rows[3][7] = "contract" // id-d: a move
		rows = append(rows[:1], rows[2:]...)
		e.write(rows) // id-b left: a disable
		ctx := context.Background()
		before, err := e.store.Cursor(ctx, "hr")
		if err != nil {
			t.Fatal(err)
		}

		rep, err := e.run(reconcile.Options{})
		if err != nil {
			t.Fatalf("run failed: %v", err)
		}
		if rep.Counts.Gone != 3 || rep.Counts.Failed != 0 || len(rep.Failures) != 0 {
			t.Errorf("counts = %+v, failures %v: want 3 gone, no failure", rep.Counts, rep.Failures)
		}
		if rep.Counts.Disabled+rep.Counts.Updated+rep.Counts.Moved != 0 {
			t.Errorf("counts = %+v: a write that found 404 is not a disable, update or move", rep.Counts)
		}
		gone := 0
		for _, op := range rep.Operations {
			if op.Result() == "gone" {
				gone++
				if !strings.Contains(op.Why, "deleted in PingOne") {
					t.Errorf("gone op %s: why %q", op.Anchor(), op.Why)
				}
			}
		}
		if gone != 3 {
			t.Errorf("%d operations report a user gone, want 3: %+v", gone, rep.Operations)
		}
		after, err := e.store.Cursor(ctx, "hr")
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Equal(before.Value, after.Value) {
			t.Error("the cursor did not advance")
		}
		err = e.store.CheckpointsFor(ctx, "hr", []string{"id-b", "id-c", "id-d"}, func(cp state.Checkpoint) error {
			if cp.Status != state.StatusGone || cp.UserID != "" {
				t.Errorf("checkpoint %s: status %s user %q, want gone without a user id", cp.Anchor, cp.Status, cp.UserID)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}

		// The next run does not fail on them: the leaver is left alone,
		// the two the source still wants are created again.
		rep = e.mustRun(reconcile.Options{})
		if rep.Counts.Failed != 0 || rep.Counts.Created != 2 {
			t.Errorf("next run: %+v", rep.Counts)
		}
		if _, ok := e.users()["id-b"]; ok {
			t.Error("the leaver deleted in PingOne was created again")
		}
	})
}
