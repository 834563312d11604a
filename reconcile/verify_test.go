package reconcile_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/syncd/syncd/reconcile"
)

// --verify: a managed user an admin moved to a population the job does not
// route to is missing from the job's population listings, but not deleted:
// GET /users/{id} finds it. It is drift (moved back when repairing), never
// a second user. A user GET answers 404 for is deleted, and created again.
func TestVerifyTellsAUserMovedAwayFromAUserDeleted(t *testing.T) {
	backends(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend)
		e.mustRun(reconcile.Options{})
		us := e.users()
		moved, deleted := us["id-a"]["id"].(string), us["id-b"]["id"].(string)
		if err := e.emu.EditUser(moved, map[string]any{"population": map[string]any{"id": e.emu.PopulationID("Default")}}); err != nil {
			t.Fatal(err)
		}
		if err := e.emu.DeleteUser(deleted); err != nil {
			t.Fatal(err)
		}
		staff := e.emu.PopulationID("Staff")

		// Report only: both are drift, neither is "deleted" but the one
		// PingOne no longer holds; nothing is written.
		e.job.Drift = reconcile.DriftReport
		w := e.emu.Stats().Writes
		rep := e.mustRun(reconcile.Options{Verify: true})
		if e.emu.Stats().Writes != w {
			t.Errorf("report mode wrote %d times", e.emu.Stats().Writes-w)
		}
		byAnchor := map[string]reconcile.Drift{}
		for _, d := range rep.Drift {
			byAnchor[d.Anchor] = d
		}
		if d := byAnchor["id-a"]; d.Deleted || !strings.HasSuffix(d.Population, staff) {
			t.Errorf("moved user's drift = %+v, want a population drift back to Staff", d)
		}
		if d := byAnchor["id-b"]; !d.Deleted {
			t.Errorf("deleted user's drift = %+v, want deleted", d)
		}

		// Repair: the moved user is moved back with one PUT, the deleted
		// one created again; no second user for id-a.
		e.job.Drift = ""
		e.rec.take()
		rep = e.mustRun(reconcile.Options{Verify: true})
		var puts, posts int
		for _, c := range writes(e.rec.take()) {
			switch {
			case c.Method == http.MethodPut && strings.HasSuffix(c.Path, moved+"/population"):
				puts++
			case c.Method == http.MethodPost:
				posts++
			default:
				t.Errorf("unexpected repair call %s %s %s", c.Method, c.Path, c.Body)
			}
		}
		if puts != 1 || posts != 1 {
			t.Errorf("repair: %d moves, %d creates; want 1 and 1", puts, posts)
		}
		us = e.users() // fails on a duplicate externalId
		if pop := us["id-a"]["population"].(map[string]any)["id"]; us["id-a"]["id"] != moved || pop != staff {
			t.Errorf("id-a = %v in %v, want %s back in Staff", us["id-a"]["id"], pop, moved)
		}
		if len(us) != 10 {
			t.Errorf("PingOne holds %d users, want 10", len(us))
		}
		rep = e.mustRun(reconcile.Options{Verify: true})
		if len(rep.Drift) != 0 {
			t.Errorf("after repair: drift %+v", rep.Drift)
		}
	})
}
