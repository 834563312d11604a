package reconcile_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/syncd/syncd/reconcile"
	"github.com/syncd/syncd/state"
)

const day = 24 * time.Hour

// checkpointOf reads one anchor's checkpoint.
func checkpointOf(t *testing.T, st state.Store, anchor string) state.Checkpoint {
	t.Helper()
	var cp state.Checkpoint
	found := false
	err := st.CheckpointsFor(context.Background(), "hr", []string{anchor}, func(c state.Checkpoint) error { cp, found = c, true; return nil })
	if err != nil || !found {
		t.Fatalf("checkpoint of %s: found=%v, %v", anchor, found, err)
	}
	return cp
}

// Users syncd disabled are deleted once deprovision.delete_after has passed
// and they are still absent, out of scope or disabled in the source, on a
// complete read only; a user enabled again in between is not; the delete
// gate stops too many; the deletes are journaled, refused by a revert, and
// a deleted user coming back is created again under its anchor.
func TestDeleteAfterGracePeriod(t *testing.T) {
	backends(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend)
		now := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
		e.eng.Now = func() time.Time { return now }
		e.job.DeleteAfter = 180 * day
		e.job.Safety.MaxDisablePercent = 100
		// A disabled PingOne user syncd did not create: never touched.
		manual, err := e.emu.AddUser(map[string]any{"username": "admin.old", "email": "old@example.com", "enabled": false,
			"population": map[string]any{"id": e.emu.PopulationID("Staff")}})
		if err != nil {
			t.Fatal(err)
		}
		e.mustRun(reconcile.Options{})
		ids := map[string]any{}
		for a, u := range e.users() {
			ids[a] = u["id"]
		}

		// Day 0: id-c leaves, id-d is disabled in the source, id-e leaves
		// the job's scope, id-f leaves (and comes back within the grace).
		rows := people(10)
		rows[3][6] = "no"
		rows[4][7] = "robots"
		e.write(append(append(rows[:2:2], rows[3:5]...), rows[6:]...))
		disabledOn := now
		if rep := e.mustRun(reconcile.Options{}); rep.Counts.Disabled != 4 {
			t.Fatalf("day 0: %+v, want 4 disables", rep.Counts)
		}
		for _, a := range []string{"id-c", "id-d", "id-e", "id-f"} {
			if cp := checkpointOf(t, e.store, a); !cp.DisabledAt.Equal(disabledOn) {
				t.Errorf("%s: DisabledAt = %v, want the disable's time %v", a, cp.DisabledAt, disabledOn)
			}
		}
		// Day 100: id-f is back: enabled, its disable time cleared.
		now = disabledOn.Add(100 * day)
		e.write(append(append(rows[:2:2], rows[3:5]...), rows[5:]...))
		if rep := e.mustRun(reconcile.Options{}); rep.Counts.Enabled != 1 {
			t.Fatalf("day 100: %+v, want id-f enabled", rep.Counts)
		}
		if cp := checkpointOf(t, e.store, "id-f"); !cp.DisabledAt.IsZero() {
			t.Errorf("id-f enabled again keeps DisabledAt %v", cp.DisabledAt)
		}
		// A minute short of 180 days: nothing is deleted.
		now = disabledOn.Add(180*day - time.Minute)
		e.rec.take()
		if rep := e.mustRun(reconcile.Options{}); rep.Counts.Deleted != 0 || len(writes(e.rec.take())) != 0 {
			t.Fatalf("before the grace period ends: %+v", rep.Counts)
		}

		now = disabledOn.Add(180*day + time.Hour)
		// A delta read deletes nothing: what it does not carry is not known gone.
		e.job.FullEvery = 1000 * day
		if rep := e.mustRun(reconcile.Options{}); rep.Mode != "delta" || rep.Counts.Deleted != 0 {
			t.Fatalf("delta read after the grace period: mode %s, %+v", rep.Mode, rep.Counts)
		}
		e.job.FullEvery = 0

		plan := e.mustRun(reconcile.Options{DryRun: true})
		var planned []string
		for _, op := range plan.Operations {
			if op.Has(reconcile.ActDelete) {
				planned = append(planned, op.Anchor())
				if !strings.Contains(op.Why, "deprovision.delete_after=180d") {
					t.Errorf("delete of %s: why %q", op.Anchor(), op.Why)
				}
			}
		}
		if strings.Join(planned, ",") != "id-c,id-d,id-e" || plan.Counts.Deleted != 3 || plan.Counts.Unchanged != 7 {
			t.Errorf("plan: deletes %v, counts %+v; want id-c, id-d, id-e and 7 unchanged", planned, plan.Counts)
		}

		// The delete gate: more than max_deletes stops the run, exit 3.
		e.job.Safety.MaxDeletes = 2
		rep, err := e.run(reconcile.Options{})
		var g *reconcile.GateError
		if !errors.As(err, &g) || !g.MassDelete || g.Deletes != 3 || !strings.Contains(err.Error(), "safety.max_deletes=2") {
			t.Fatalf("3 deletes over max_deletes 2: %v", err)
		}
		if rep.Status != reconcile.StatusGated || len(writes(e.rec.take())) != 0 || e.users()["id-c"] == nil {
			t.Fatalf("the delete gate wrote: status %s", rep.Status)
		}
		// --allow-mass-adoption does not override it; --allow-mass-delete does.
		if _, err := e.run(reconcile.Options{AllowMassAdoption: true}); !errors.As(err, &g) {
			t.Fatalf("--allow-mass-adoption passed the delete gate: %v", err)
		}
		del := e.mustRun(reconcile.Options{AllowMassDelete: true})
		if del.Counts.Deleted != 3 || del.Counts.Disabled != 0 || del.Counts.Failed != 0 {
			t.Fatalf("delete run: %+v", del.Counts)
		}
		var deletes []string
		for _, c := range writes(e.rec.take()) {
			if c.Method != http.MethodDelete {
				t.Errorf("delete run also sent %s %s", c.Method, c.Path)
				continue
			}
			deletes = append(deletes, c.Path[strings.LastIndex(c.Path, "/")+1:])
		}
		want := []string{ids["id-c"].(string), ids["id-d"].(string), ids["id-e"].(string)}
		slices.Sort(deletes)
		slices.Sort(want)
		if !slices.Equal(deletes, want) {
			t.Errorf("DELETE calls for %v, want id-c, id-d and id-e's users", deletes)
		}
		us := e.users()
		if us["id-c"] != nil || us["id-d"] != nil || us["id-e"] != nil || us["id-f"] == nil || len(us) != 7 {
			t.Errorf("after the deletes PingOne holds %d syncd users (id-f %v)", len(us), us["id-f"] != nil)
		}
		if u, ok := e.emu.User(manual); !ok || u["enabled"] != false {
			t.Errorf("the user syncd did not create was touched: %v %v", u, ok)
		}
		cp := checkpointOf(t, e.store, "id-c")
		if cp.Status != state.StatusGone || cp.UserID != "" || !cp.DeletedAt.Equal(now) {
			t.Errorf("id-c's checkpoint after its delete: %+v", cp)
		}
		j := journalOf(t, e.store, del.RunID)
		for _, a := range []string{"id-c", "id-d", "id-e"} {
			if len(j[a]) != 1 || j[a][0].Op != state.OpDelete || j[a][0].UserID != ids[a] || !j[a][0].Succeeded() ||
				values(t, j[a][0].Before)["enabled"] != false {
				t.Errorf("journal of %s's delete: %+v", a, j[a])
			}
		}
		// Nothing more to delete.
		if rep := e.mustRun(reconcile.Options{}); rep.Counts.Deleted != 0 || len(writes(e.rec.take())) != 0 {
			t.Errorf("the run after the deletes: %+v", rep.Counts)
		}

		// A revert cannot bring them back: each is refused, listed.
		rv, err := e.eng.Revert(context.Background(), e.job, del.RunID, reconcile.Options{DryRun: true})
		if err != nil || len(rv.Operations) != 0 || len(rv.Refused) != 3 || !strings.Contains(rv.Refused[0].Reason, "cannot be undone") {
			t.Errorf("revert of the delete run: %v; %d ops, refused %+v", err, len(rv.Operations), rv.Refused)
		}

		// id-c comes back: created again, same anchor, a new PingOne id.
		e.write(append(rows[:2:2], rows[2:]...))
		back := e.mustRun(reconcile.Options{})
		if back.Counts.Created != 1 {
			t.Fatalf("id-c back: %+v", back.Counts)
		}
		for _, op := range back.Operations {
			if op.Anchor() == "id-c" && !strings.Contains(op.Why, "deleted by syncd on 2026-07-04") {
				t.Errorf("id-c created again: why %q", op.Why)
			}
		}
		u := e.users()["id-c"]
		if u == nil || u["id"] == ids["id-c"] || u["enabled"] != true {
			t.Errorf("id-c back: %v (old id %v)", u, ids["id-c"])
		}
		if cp := checkpointOf(t, e.store, "id-c"); cp.UserID != u["id"] || !cp.DeletedAt.IsZero() || cp.Status != state.StatusActive {
			t.Errorf("id-c's checkpoint once back: %+v", cp)
		}
	})
}

// A deleted user's memberships go with it (PingOne drops them): the job
// forgets them, so the user created again is added to its groups again.
func TestDeletedUserRejoinsItsGroupsWhenCreatedAgain(t *testing.T) {
	backends(t, func(t *testing.T, backend string) {
		g := newGroupEnv(t, backend, []string{"Eng", "Eng;Ops"}, nil)
		now := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC)
		g.eng.Now = func() time.Time { return now }
		g.job.DeleteAfter = 30 * day
		g.job.Safety.MaxDisablePercent, g.job.Safety.MaxDeletePercent = 100, 100
		g.mustRun(reconcile.Options{})
		g.rows[1][6] = "no" // id-b disabled in the source, still listed in Eng and Ops
		g.flush()
		g.mustRun(reconcile.Options{})
		now = now.Add(31 * day)
		if rep := g.mustRun(reconcile.Options{}); rep.Counts.Deleted != 1 {
			t.Fatalf("after the grace period: %+v", rep.Counts)
		}
		held := map[string]bool{}
		err := g.store.(state.GroupStore).Memberships(context.Background(), "hr", func(m state.Membership) error {
			held[m.Member+"/"+m.Group] = true
			return nil
		})
		if err != nil || held["id-b/Eng"] || held["id-b/Ops"] || !held["id-a/Eng"] {
			t.Fatalf("membership checkpoints after id-b's delete: %v %v", held, err)
		}
		g.rows[1][6] = "yes"
		g.flush()
		if rep := g.mustRun(reconcile.Options{}); rep.Counts.Created != 1 || rep.Groups.Counts.MembersAdded != 2 {
			t.Fatalf("id-b back: %+v, groups %+v", rep.Counts, rep.Groups.Counts)
		}
		if got := g.members("Ops"); !slices.Equal(got, []string{"user.b"}) {
			t.Errorf("Ops members once id-b is back = %v", got)
		}
	})
}
