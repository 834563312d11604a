package reconcile_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/zap/zaptest"

	"github.com/syncd/syncd/reconcile"
	"github.com/syncd/syncd/sources/csvsource"
	"github.com/syncd/syncd/state"
)

// secondJob is another job in the same state database and PingOne
// environment, with its own export and the same mapping.
func (e *env) secondJob(name string, rows [][]string) (*reconcile.Job, func([][]string)) {
	e.t.Helper()
	path := filepath.Join(e.t.TempDir(), name+".csv")
	write := func(rows [][]string) {
		e.t.Helper()
		old := e.csv
		e.csv = path
		e.write(rows)
		e.csv = old
	}
	write(rows)
	src, err := csvsource.New(csvsource.Config{Path: path, Key: "id"}, zaptest.NewLogger(e.t))
	if err != nil {
		e.t.Fatal(err)
	}
	j := &reconcile.Job{Name: name, Source: src, Mapper: e.job.Mapper, BatchSize: 4, Workers: 4}
	j.SetDefaults()
	j.Safety.MaxDisablePercent = 50
	return j, write
}

func rejectsNaming(rep *reconcile.Report, s string) map[string]bool {
	out := map[string]bool{}
	for _, r := range rep.Rejects {
		if strings.Contains(r.Reason, s) {
			out[r.Anchor] = true
		}
	}
	return out
}

// Two HR exports keyed alike, synced by two jobs into one state database:
// the second job never adopts, renames, disables or (with --verify) flips
// the first job's users. Its records are rejects naming the owner, run
// after run, in the plan and the report.
func TestSecondJobNeverTakesOverAnotherJobsUsers(t *testing.T) {
	backends(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend)
		e.mustRun(reconcile.Options{})
		before := e.users()

		rows := people(5)
		for _, r := range rows {
			r[1], r[2] = "payroll."+r[1], "payroll."+r[2] // other usernames and emails: another export of the same keys
		}
		rows = append(rows, []string{"id-zz", "payroll.zz", "zz@example.com", "Z", "Z", "Clerk", "yes", "eng"})
		payroll, writePayroll := e.secondJob("payroll", rows)
		run2 := func(opts reconcile.Options) *reconcile.Report {
			t.Helper()
			rep, err := e.eng.Run(context.Background(), payroll, opts)
			if err != nil {
				t.Fatalf("payroll run: %v", err)
			}
			return rep
		}
		check := func(step string, rep *reconcile.Report) {
			t.Helper()
			owned := rejectsNaming(rep, `managed by job "hr"`)
			for _, a := range []string{"id-a", "id-b", "id-c", "id-d", "id-e"} {
				if !owned[a] {
					t.Errorf("%s: %s is not a reject naming job hr; rejects %+v", step, a, rep.Rejects)
				}
			}
			if rep.Counts.Rejected != 5 || rep.Counts.Adopted+rep.Counts.Updated+rep.Counts.Disabled+rep.Counts.Enabled+rep.Counts.Moved != 0 {
				t.Errorf("%s: counts %+v", step, rep.Counts)
			}
			after := e.users() // fails on two users with one externalId
			for a, u := range before {
				for _, k := range []string{"id", "username", "email", "enabled"} {
					if after[a][k] != u[k] {
						t.Errorf("%s: job hr's user %s %s changed %v -> %v", step, a, k, u[k], after[a][k])
					}
				}
			}
		}

		plan := run2(reconcile.Options{DryRun: true})
		check("plan", plan)
		rep := run2(reconcile.Options{})
		check("first run", rep)
		if rep.Counts.Created != 1 || len(e.emu.Users()) != 11 {
			t.Fatalf("first run: %+v, %d users (want id-zz alone created)", rep.Counts, len(e.emu.Users()))
		}
		check("second run", run2(reconcile.Options{}))
		check("verify", run2(reconcile.Options{Verify: true}))
		writePayroll(rows[1:]) // id-a leaves the payroll export
		check2 := run2(reconcile.Options{})
		if check2.Counts.Disabled != 0 || before["id-a"]["enabled"] != e.users()["id-a"]["enabled"] {
			t.Fatalf("payroll disabled job hr's user: %+v", check2.Counts)
		}

		// Job hr goes on managing its users.
		hrRows := people(10)
		hrRows[1][5] = "Director"
		e.write(hrRows)
		if rep := e.mustRun(reconcile.Options{}); rep.Counts.Updated != 1 || rep.Counts.Rejected != 0 {
			t.Fatalf("hr after payroll: %+v %+v", rep.Counts, rep.Rejects)
		}
	})
}

// A database where two jobs already both hold one user (adopted before
// ownership was checked): the job that took it first keeps it; the other
// job's writes to it are rejects naming the owner.
func TestUserHeldByTwoJobsIsWrittenOnlyByTheFirst(t *testing.T) {
	backends(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend)
		e.mustRun(reconcile.Options{})
		var cp state.Checkpoint
		if err := e.store.CheckpointsFor(context.Background(), "hr", []string{"id-b"}, func(c state.Checkpoint) error { cp = c; return nil }); err != nil {
			t.Fatal(err)
		}
		cp.FirstSeen = cp.FirstSeen.Add(1e9) // payroll took it a second later
		if err := e.store.SaveCheckpoints(context.Background(), "payroll", []state.Checkpoint{cp}); err != nil {
			t.Fatal(err)
		}
		rows := people(2)
		rows[1][5] = "Payroll Title"
		payroll, _ := e.secondJob("payroll", rows[1:])
		rep, err := e.eng.Run(context.Background(), payroll, reconcile.Options{Verify: true})
		if err != nil {
			t.Fatal(err)
		}
		if !rejectsNaming(rep, `managed by job "hr"`)["id-b"] || rep.Counts.Updated != 0 {
			t.Fatalf("payroll wrote to hr's user: %+v %+v", rep.Counts, rep.Rejects)
		}
		if title := e.users()["id-b"]["title"]; title != "Engineer" {
			t.Fatalf("title = %v", title)
		}
	})
}

// Adoption, by any match rule, takes only a user inside the populations the
// job routes to and carrying no other externalId; an admin elsewhere with
// the same username is a reject naming its population, untouched.
func TestAdoptionOnlyInsideTheJobsPopulations(t *testing.T) {
	backends(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend)
		add := func(pop string, u map[string]any) string {
			t.Helper()
			u["population"] = map[string]any{"id": e.emu.PopulationID(pop)}
			id, err := e.emu.AddUser(u)
			if err != nil {
				t.Fatal(err)
			}
			return id
		}
		admin := add("Default", map[string]any{"username": "user.b", "email": "admin@corp.example"})
		staffer := add("Staff", map[string]any{"username": "user.c", "email": "old.c@example.com"})
		elsewhere := add("Default", map[string]any{"username": "old.d", "email": "d@example.com", "externalId": "id-d"})

		rep := e.mustRun(reconcile.Options{})
		outside := rejectsNaming(rep, `population "Default"`)
		if !outside["id-b"] || !outside["id-d"] || rep.Counts.Adopted != 1 || rep.Counts.Created != 7 {
			t.Fatalf("counts %+v rejects %+v", rep.Counts, rep.Rejects)
		}
		if u, _ := e.emu.User(admin); u["email"] != "admin@corp.example" || u["population"].(map[string]any)["id"] != e.emu.PopulationID("Default") || u["externalId"] != nil {
			t.Errorf("the admin outside the job's populations was changed: %v", u)
		}
		if u, _ := e.emu.User(elsewhere); u["username"] != "old.d" {
			t.Errorf("the user outside the job's populations was changed: %v", u)
		}
		if u, _ := e.emu.User(staffer); u["username"] != "user.c" || u["email"] != "c@example.com" || u["externalId"] != "id-c" {
			t.Errorf("the user inside the job's populations was not adopted: %v", u)
		}

		// Later runs meet a taken username at the create: the same rule.
		root := add("Default", map[string]any{"username": "root.admin", "email": "root@corp.example"})
		rows := append(people(10), []string{"id-k", "root.admin", "k@example.com", "K", "K", "Ops", "yes", "eng"})
		e.write(rows)
		rows[3][5] = "Changed" // id-d's record changes: its create looks the externalId up again
		e.write(rows)
		rep = e.mustRun(reconcile.Options{})
		if rep.Counts.Adopted+rep.Counts.Created != 0 || len(rep.Failures) != 2 {
			t.Fatalf("taken username at create: %+v %+v", rep.Counts, rep.Failures)
		}
		for _, f := range rep.Failures {
			if (f.Anchor != "id-k" && f.Anchor != "id-d") || !strings.Contains(f.Error, `population "Default"`) {
				t.Errorf("failure %+v, want id-d and id-k refused, naming population Default", f)
			}
		}
		if n := len(e.emu.Users()); n != 11 {
			t.Errorf("PingOne has %d users, want 11: a second user carrying one externalId, or a duplicate of an admin", n)
		}
		if u, _ := e.emu.User(root); u["email"] != "root@corp.example" || u["externalId"] != nil {
			t.Errorf("root.admin was changed: %v", u)
		}
	})
}
