package reconcile_test

import (
	"net/http"
	"slices"
	"testing"

	"github.com/syncd/syncd/reconcile"
)

// TestPopulationCouplingReplansMembershipsInTheSameRun: PingOne removes a
// user from every group of its old population when the user's population
// changes (API-NOTES §5a). With population-level groups (groups.population:
// Staff):
//   - a user syncd moves out of Staff loses its Staff group memberships in
//     PingOne: state forgets them, with no DELETE (it would be a 404);
//   - a user syncd moves into Staff joins the group in the same run, after
//     the move (users before memberships);
//   - a user an admin moved out of Staff by hand lost its memberships:
//     --verify moves it back and re-adds them in the same run.
func TestPopulationCouplingReplansMembershipsInTheSameRun(t *testing.T) {
	backends(t, func(t *testing.T, backend string) {
		g := newGroupEnv(t, backend, []string{"Eng", "Eng", "Eng"}, func(gr *reconcile.Groups) { gr.Population = "Staff" })
		const dept = 7 // person() column
		g.rows[2][dept] = "contract"
		g.flush()
		rep := g.mustRun(reconcile.Options{})
		if rep.Groups.Counts.MembersAdded != 2 || rep.Groups.Counts.MembersIgnored != 1 || rep.Counts.Failed != 0 {
			t.Fatalf("first run: %+v %v", rep.Groups.Counts, rep.Failures)
		}
		staff := g.emu.PopulationID("Staff")
		for _, gr := range g.emu.Groups() {
			if gr.PopulationID != staff {
				t.Fatalf("group %+v is not a Staff group", gr)
			}
		}
		if got := g.members("Eng"); !slices.Equal(got, []string{"user.a", "user.b"}) {
			t.Fatalf("Eng members %v", got)
		}

		// a leaves Staff, c joins it.
		g.rows[0][dept], g.rows[2][dept] = "contract", "eng"
		g.flush()
		g.rec.take()
		rep = g.mustRun(reconcile.Options{})
		calls := g.rec.take()
		if rep.Counts.Moved != 2 || rep.Groups.Counts.MembersAdded != 1 || rep.Groups.Counts.MembersForgotten != 1 ||
			rep.Groups.Counts.MembersRemoved != 0 || rep.Counts.Failed != 0 {
			t.Fatalf("move run: users %+v groups %+v failures %v", rep.Counts, rep.Groups.Counts, rep.Failures)
		}
		if d := countCalls(calls, http.MethodDelete, "/memberOfGroups"); d != 0 {
			t.Errorf("%d membership DELETEs: PingOne already removed a's membership", d)
		}
		// The add comes after c's move, or PingOne refuses it.
		move, add := -1, -1
		cID, _ := g.users()["id-c"]["id"].(string)
		for i, c := range calls {
			switch {
			case c.Method == http.MethodPut && c.Path == "/v1/environments/"+g.emu.EnvironmentID()+"/users/"+cID+"/population":
				move = i
			case c.Method == http.MethodPost && c.Path == "/v1/environments/"+g.emu.EnvironmentID()+"/users/"+cID+"/memberOfGroups":
				add = i
			}
		}
		if move < 0 || add < move {
			t.Errorf("c's move at call %d, its membership at %d: %v", move, add, calls)
		}
		if got := g.members("Eng"); !slices.Equal(got, []string{"user.b", "user.c"}) {
			t.Errorf("Eng members %v, want b and c", got)
		}
		rep = g.mustRun(reconcile.Options{})
		if ws := writes(g.rec.take()); len(ws) != 0 {
			t.Errorf("next run wrote %v", ws)
		}

		// An admin moves b out of Staff in PingOne: PingOne drops it from
		// Eng. --verify moves it back and re-adds the membership.
		bID, _ := g.users()["id-b"]["id"].(string)
		if err := g.emu.EditUser(bID, map[string]any{"population": map[string]any{"id": g.emu.PopulationID("Contractors")}}); err != nil {
			t.Fatal(err)
		}
		if got := g.members("Eng"); !slices.Equal(got, []string{"user.c"}) {
			t.Fatalf("after the admin's move Eng members %v: the emulator did not couple", got)
		}
		rep = g.mustRun(reconcile.Options{Verify: true})
		if rep.Counts.Moved != 1 || rep.Groups.Counts.MembersAdded != 1 || rep.Counts.Failed != 0 || len(rep.MemberDrift) != 1 {
			t.Fatalf("verify run: users %+v groups %+v drift %+v failures %v", rep.Counts, rep.Groups.Counts, rep.MemberDrift, rep.Failures)
		}
		if got := g.members("Eng"); !slices.Equal(got, []string{"user.b", "user.c"}) {
			t.Errorf("Eng members %v after --verify", got)
		}
		g.rec.take()
		rep = g.mustRun(reconcile.Options{Verify: true})
		if ws := writes(g.rec.take()); len(ws) != 0 || len(rep.MemberDrift) != 0 {
			t.Errorf("second verify: writes %v drift %+v", ws, rep.MemberDrift)
		}
	})
}
