package reconcile_test

import (
	"bytes"
	"encoding/csv"
	"errors"
	"net/http"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/syncd/syncd/mapper"
	"github.com/syncd/syncd/reconcile"
)

// groupEnv is env with a CSV whose last column lists each user's groups
// (from_records: split(groups, ";")).
type groupEnv struct {
	*env
	rows [][]string // person rows plus a groups cell
}

func newGroupEnv(t *testing.T, backend string, groups []string, cfg func(*reconcile.Groups)) *groupEnv {
	t.Helper()
	e := newEnv(t, backend)
	gm, err := mapper.CompileGroups(mapper.GroupExprs{FromRecords: `split(groups, ";")`})
	if err != nil {
		t.Fatal(err)
	}
	e.job.Groups = &reconcile.Groups{Mapper: gm}
	if cfg != nil {
		cfg(e.job.Groups)
	}
	e.job.Groups.SetDefaults()
	ge := &groupEnv{env: e}
	for i, g := range groups {
		ge.rows = append(ge.rows, append(person(i), g))
	}
	ge.flush()
	return ge
}

func (g *groupEnv) flush() {
	g.t.Helper()
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	_ = w.Write(append(slices.Clone(header), "groups"))
	_ = w.WriteAll(g.rows)
	if err := os.WriteFile(g.csv, b.Bytes(), 0o600); err != nil {
		g.t.Fatal(err)
	}
}

func (g *groupEnv) setGroups(i int, groups string) {
	g.rows[i][len(g.rows[i])-1] = groups
	g.flush()
}

// groupID returns the id of the emulator's group called name.
func (g *groupEnv) groupID(name string) string {
	g.t.Helper()
	for _, gr := range g.emu.Groups() {
		if gr.Name == name {
			return gr.ID
		}
	}
	g.t.Fatalf("no group %q in PingOne (have %+v)", name, g.emu.Groups())
	return ""
}

// members returns the usernames of a group's direct members.
func (g *groupEnv) members(name string) []string {
	g.t.Helper()
	var out []string
	for _, id := range g.emu.DirectMembers(g.groupID(name)) {
		u, _ := g.emu.User(id)
		out = append(out, u["username"].(string))
	}
	sort.Strings(out)
	return out
}

func countCalls(cs []call, method, suffix string) int {
	n := 0
	for _, c := range cs {
		if c.Method == method && (strings.HasSuffix(c.Path, suffix) || strings.Contains(c.Path, suffix+"/")) {
			n++
		}
	}
	return n
}

func TestGroupsFromRecordsOneCallPerMembershipChange(t *testing.T) {
	backends(t, func(t *testing.T, backend string) {
		g := newGroupEnv(t, backend, []string{"Eng;Ops", "Eng", "", "Ops; eng"}, nil)
		rep := g.mustRun(reconcile.Options{})
		calls := g.rec.take()
		if rep.Groups == nil || rep.Groups.Counts.Created != 2 || rep.Groups.Counts.MembersAdded != 5 || rep.Counts.Failed != 0 {
			t.Fatalf("first run: %+v %+v", rep.Groups, rep.Counts)
		}
		if n, m := countCalls(calls, http.MethodPost, "/groups"), countCalls(calls, http.MethodPost, "/memberOfGroups"); n != 2 || m != 5 {
			t.Errorf("first run: %d group creates and %d membership calls, want 2 and 5", n, m)
		}
		if got := g.members("Eng"); !slices.Equal(got, []string{"user.a", "user.b", "user.d"}) {
			t.Errorf("Eng members = %v", got)
		}
		if got := g.members("Ops"); !slices.Equal(got, []string{"user.a", "user.d"}) {
			t.Errorf("Ops members = %v", got)
		}
		for _, gr := range g.emu.Groups() {
			if gr.ExternalID != gr.Name {
				t.Errorf("group %q carries externalId %q, want its name", gr.Name, gr.ExternalID)
			}
		}

		// Nothing changed: not a single call.
		rep = g.mustRun(reconcile.Options{})
		if calls := g.rec.take(); len(calls) != 0 || rep.Groups.Counts.MembersUnchanged != 5 {
			t.Fatalf("no-op run: %d calls %v, counts %+v", len(calls), calls, rep.Groups.Counts)
		}

		// One member added, one removed: exactly two calls.
		g.setGroups(1, "Ops")
		rep = g.mustRun(reconcile.Options{})
		calls = g.rec.take()
		if len(calls) != 2 || countCalls(calls, http.MethodPost, "/memberOfGroups") != 1 || countCalls(calls, http.MethodDelete, "/memberOfGroups") != 1 {
			t.Fatalf("+1/-1 run: calls %v", calls)
		}
		if rep.Groups.Counts.MembersAdded != 1 || rep.Groups.Counts.MembersRemoved != 1 {
			t.Errorf("+1/-1 counts: %+v", rep.Groups.Counts)
		}
		if got := g.members("Eng"); !slices.Equal(got, []string{"user.a", "user.d"}) {
			t.Errorf("Eng members after the move = %v", got)
		}
	})
}

func TestGroupsHandAddedMemberStaysAndPreexistingIsNeverRemoved(t *testing.T) {
	g := newGroupEnv(t, "sqlite", []string{"Eng", "Eng"}, nil)
	g.mustRun(reconcile.Options{})
	eng := g.groupID("Eng")
	// An admin adds someone by hand: syncd never removes it.
	admin, err := g.emu.AddUser(map[string]any{"username": "admin", "email": "admin@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.emu.AddMember(eng, admin); err != nil {
		t.Fatal(err)
	}
	g.setGroups(1, "")
	rep := g.mustRun(reconcile.Options{})
	if got := g.members("Eng"); !slices.Equal(got, []string{"admin", "user.a"}) {
		t.Errorf("Eng members = %v, want admin (by hand) and user.a", got)
	}
	if rep.Groups.Counts.MembersRemoved != 1 {
		t.Errorf("counts %+v", rep.Groups.Counts)
	}
	g.rec.take()
	// A membership PingOne already had when syncd added it is recorded as
	// preexisting and left in place when it leaves the source.
	users := g.users()
	if err := g.emu.AddMember(eng, users["id-b"]["id"].(string)); err != nil {
		t.Fatal(err)
	}
	g.setGroups(1, "Eng")
	rep = g.mustRun(reconcile.Options{})
	if rep.Groups.Counts.MembersAdded != 1 || rep.Counts.Failed != 0 {
		t.Fatalf("adding an existing member: %+v %+v", rep.Groups.Counts, rep.Failures)
	}
	g.setGroups(1, "")
	rep = g.mustRun(reconcile.Options{})
	if rep.Groups.Counts.MembersRemoved != 0 || rep.Groups.Counts.MembersForgotten != 1 {
		t.Errorf("preexisting membership: %+v", rep.Groups.Counts)
	}
	if got := g.members("Eng"); !slices.Contains(got, "user.b") {
		t.Errorf("Eng members = %v: the preexisting member was removed", got)
	}
}

func TestGroupsMembershipGateStopsBeforeAnyWrite(t *testing.T) {
	zero := 0
	g := newGroupEnv(t, "sqlite", []string{"Eng", "Eng", "Eng"}, func(gr *reconcile.Groups) { gr.Safety.MaxRemovals = &zero })
	g.mustRun(reconcile.Options{})
	g.rec.take()
	g.setGroups(0, "")
	g.setGroups(1, "")
	_, err := g.run(reconcile.Options{})
	var gerr *reconcile.GateError
	if !errors.As(err, &gerr) || gerr.Memberships == nil || gerr.Memberships.Removals != 2 {
		t.Fatalf("run: %v, want a membership gate error with 2 removals", err)
	}
	if w := writes(g.rec.take()); len(w) != 0 {
		t.Fatalf("gated run wrote: %v", w)
	}
	rep := g.mustRun(reconcile.Options{AllowMassDisable: true})
	if rep.Groups.Counts.MembersRemoved != 2 {
		t.Errorf("override: %+v", rep.Groups.Counts)
	}
}

func TestGroupsNameCollisionIsARejectUnlessAdopted(t *testing.T) {
	for _, adopt := range []bool{false, true} {
		g := newGroupEnv(t, "sqlite", []string{"Sales", "Sales"}, func(gr *reconcile.Groups) { gr.AdoptByName = adopt })
		theirs, err := g.emu.AddGroup("Sales", "", "")
		if err != nil {
			t.Fatal(err)
		}
		keeper, _ := g.emu.AddUser(map[string]any{"username": "keeper", "email": "k@example.com"})
		_ = g.emu.AddMember(theirs, keeper)
		rep := g.mustRun(reconcile.Options{})
		if len(g.emu.Groups()) != 1 {
			t.Fatalf("adopt=%v: %d groups, want the one that was there", adopt, len(g.emu.Groups()))
		}
		got := g.members("Sales")
		if !adopt {
			if rep.Counts.Rejected != 1 || !strings.Contains(rep.Rejects[0].Reason, "adopt_by_name") || !slices.Equal(got, []string{"keeper"}) {
				t.Errorf("conflict: rejects %+v, members %v", rep.Rejects, got)
			}
			// The next run reports it again without a call.
			g.rec.take()
			rep = g.mustRun(reconcile.Options{})
			if w := writes(g.rec.take()); len(w) != 0 || rep.Counts.Rejected != 1 {
				t.Errorf("second run: writes %v, rejects %d", w, rep.Counts.Rejected)
			}
			continue
		}
		if rep.Groups.Counts.Adopted != 1 || !slices.Equal(got, []string{"keeper", "user.a", "user.b"}) {
			t.Errorf("adopted: %+v, members %v (the members it had stay)", rep.Groups.Counts, got)
		}
	}
}

func TestGroupsDryRunWritesNothing(t *testing.T) {
	g := newGroupEnv(t, "sqlite", []string{"Eng", "Ops"}, nil)
	rep := g.mustRun(reconcile.Options{DryRun: true})
	if w := writes(g.rec.take()); len(w) != 0 || len(g.emu.Groups()) != 0 {
		t.Fatalf("dry run wrote %v", w)
	}
	if rep.Groups.Counts.Created != 2 || rep.Groups.Counts.MembersAdded != 2 || len(rep.Groups.Members) != 2 {
		t.Errorf("dry run plan: %+v", rep.Groups)
	}
}
