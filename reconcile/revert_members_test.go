package reconcile_test

import (
	"context"
	"net/http"
	"slices"
	"testing"

	"github.com/syncd/syncd/reconcile"
	"github.com/syncd/syncd/state"
)

// A run that updated, disabled, moved and changed memberships is reverted
// against the emulator: memberships it added are removed and those it
// removed are added back, as are the users' values; a user and a
// membership changed again by a later run are refused and listed.
func TestRevertUndoesMembershipsAndRefusesThoseChangedSince(t *testing.T) {
	backends(t, func(t *testing.T, backend string) {
		g := newGroupEnv(t, backend, []string{"Eng;Ops", "Eng", "", "Ops", "Eng", ""}, nil)
		g.job.Safety.MaxDisablePercent = 100
		g.mustRun(reconcile.Options{})
		eng0, ops0 := g.members("Eng"), g.members("Ops")
		before := g.users()

		// The bad run.
		g.rows[0][5] = "Manager"  // id-a: updated
		g.rows[1][6] = "no"       // id-b: disabled
		g.rows[4][7] = "contract" // id-e: moved to Contractors
		g.rows[0][8] = "Eng"      // id-a: removed from Ops
		g.rows[2][8] = "Eng"      // id-c: added to Eng
		g.rows[3][8] = "Ops;Eng"  // id-d: added to Eng
		g.rows[5][8] = "Ops"      // id-f: added to Ops
		g.flush()
		bad := g.mustRun(reconcile.Options{})
		if bad.Groups == nil || bad.Groups.Counts.MembersAdded < 3 || bad.Groups.Counts.MembersRemoved < 1 {
			t.Fatalf("bad run: %+v", bad.Groups)
		}
		// A later run changes id-a's title again and takes id-c out of Eng.
		g.rows[0][5] = "Director"
		g.rows[2][8] = ""
		g.flush()
		g.mustRun(reconcile.Options{})
		engL, opsL := g.members("Eng"), g.members("Ops")

		ctx := context.Background()
		plan, err := g.eng.Revert(ctx, g.job, bad.RunID, reconcile.Options{DryRun: true})
		if err != nil {
			t.Fatalf("revert plan: %v", err)
		}
		var refused []string
		for _, r := range plan.Refused {
			refused = append(refused, r.Anchor+"/"+r.Group)
		}
		slices.Sort(refused)
		if !slices.Equal(refused, []string{"id-a/", "id-c/Eng"}) {
			t.Errorf("refused %v (%+v), want id-a (its title) and id-c's Eng membership", refused, plan.Refused)
		}
		if plan.Groups == nil {
			t.Fatal("the revert plan has no membership operations")
		}
		var planned []string
		for _, m := range plan.Groups.Members {
			planned = append(planned, string(m.Action)+" "+m.Member+"/"+m.Group)
		}
		for _, want := range []string{"add id-a/Ops", "remove id-d/Eng", "remove id-f/Ops"} {
			if !slices.Contains(planned, want) {
				t.Errorf("revert plan memberships %v lack %q", planned, want)
			}
		}
		if slices.Contains(planned, "remove id-c/Eng") {
			t.Errorf("the revert plans id-c's refused membership: %v", planned)
		}
		if !slices.Equal(g.members("Eng"), engL) || !slices.Equal(g.members("Ops"), opsL) {
			t.Fatal("the revert plan wrote to PingOne")
		}
		g.rec.take()

		done, err := g.eng.Revert(ctx, g.job, bad.RunID, reconcile.Options{ExpectPlan: plan.PlanDigest})
		if err != nil || done.Counts.Failed != 0 {
			t.Fatalf("revert: %v %+v", err, done.Counts)
		}
		calls := g.rec.take()
		if n := countCalls(calls, http.MethodPost, "/memberOfGroups") + countCalls(calls, http.MethodDelete, "/memberOfGroups"); n != len(plan.Groups.Members) {
			t.Errorf("%d membership calls for %d planned memberships", n, len(plan.Groups.Members))
		}
		// Memberships as before the bad run, but id-c's (refused; the later
		// run took it out of Eng anyway).
		if got := g.members("Eng"); !slices.Equal(got, eng0) {
			t.Errorf("Eng after the revert = %v, want %v", got, eng0)
		}
		if got := g.members("Ops"); !slices.Equal(got, ops0) {
			t.Errorf("Ops after the revert = %v, want %v", got, ops0)
		}
		us := g.users()
		if us["id-a"]["title"] != "Director" || us["id-b"]["enabled"] != true {
			t.Errorf("after the revert: id-a title %v (refused: Director), id-b enabled %v", us["id-a"]["title"], us["id-b"]["enabled"])
		}
		if pop := us["id-e"]["population"].(map[string]any)["id"]; pop != before["id-e"]["population"].(map[string]any)["id"] {
			t.Errorf("id-e population after revert = %v, want Staff", pop)
		}
		// The membership writes are journaled under the revert's run, and
		// the membership checkpoints follow them.
		j := journalOf(t, g.store, done.RunID)
		if len(j["id-d"]) != 1 || j["id-d"][0].Op != "remove_member" || j["id-d"][0].GroupID != g.groupID("Eng") {
			t.Errorf("journal of the revert for id-d: %+v", j["id-d"])
		}
		held := map[string]bool{}
		err = g.store.(state.GroupStore).Memberships(ctx, "hr", func(m state.Membership) error { held[m.Member+"/"+m.Group] = true; return nil })
		if err != nil || held["id-d/Eng"] || !held["id-a/Ops"] || held["id-f/Ops"] {
			t.Errorf("membership checkpoints after the revert: %v %v", held, err)
		}
	})
}
