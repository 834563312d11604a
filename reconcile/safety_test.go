package reconcile_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/syncd/syncd/reconcile"
	"github.com/syncd/syncd/sink/pingone"
)

// failingTarget fails every PATCH of the given PingOne user ids with a 400
// that no retry mends.
type failingTarget struct {
	reconcile.Target
	fail map[string]bool
}

func (f *failingTarget) UpdateUser(ctx context.Context, id string, set map[string]string, clear []string) (pingone.User, error) {
	if f.fail[id] {
		return pingone.User{}, &pingone.APIError{Status: 400, Code: "INVALID_DATA", Message: "injected by the test"}
	}
	return f.Target.UpdateUser(ctx, id, set, clear)
}

// safetyFromYAML sets the job's safety block as a config file would, then
// fills the defaults as the job's construction does.
func (e *env) safetyFromYAML(src string) {
	e.t.Helper()
	var s reconcile.Safety
	if err := yaml.Unmarshal([]byte(src), &s); err != nil {
		e.t.Fatalf("safety %s: %v", src, err)
	}
	e.job.Safety = s
	e.job.SetDefaults()
}

func TestMaxDisablesZeroLetsNoDisableThroughWithoutTheOverride(t *testing.T) {
	backends(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend)
		e.safetyFromYAML(`{max_disables: 0, max_disable_percent: 100}`)
		if e.job.Safety.MaxDisables != 0 {
			t.Fatalf("max_disables: 0 became %d", e.job.Safety.MaxDisables)
		}
		e.mustRun(reconcile.Options{})
		before := e.emu.Stats().Writes
		e.write(people(9)) // one leaver
		_, err := e.run(reconcile.Options{})
		var g *reconcile.GateError
		if !errors.As(err, &g) || g.Disables != 1 {
			t.Fatalf("err = %v, want the gate to stop 1 disable", err)
		}
		if e.emu.Stats().Writes != before {
			t.Fatalf("the gate let %d writes through", e.emu.Stats().Writes-before)
		}
		if rep := e.mustRun(reconcile.Options{AllowMassDisable: true}); rep.Counts.Disabled != 1 {
			t.Fatalf("override: %+v", rep.Counts)
		}
	})
}

func TestMaxFailuresZeroStopsTheRunAtTheFirstFailure(t *testing.T) {
	backends(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend)
		e.safetyFromYAML(`{max_failures: 0}`)
		e.job.Workers, e.job.BatchSize = 1, 1 // one operation at a time
		e.mustRun(reconcile.Options{})
		us := e.users()
		e.eng.Target = &failingTarget{Target: e.eng.Target, fail: map[string]bool{us["id-a"]["id"].(string): true}}
		rows := people(10)
		for _, r := range rows {
			r[5] = "Staff Engineer" // ten updates, id-a first
		}
		e.write(rows)
		rep, err := e.run(reconcile.Options{})
		if err == nil || !strings.Contains(err.Error(), "safety.max_failures=0") {
			t.Fatalf("err = %v, want a stop by safety.max_failures=0", err)
		}
		updated := 0
		for _, u := range e.users() {
			if u["title"] == "Staff Engineer" {
				updated++
			}
		}
		// Operations already handed to the worker finish; nothing after.
		if rep.Counts.Failed != 1 || updated > 3 {
			t.Fatalf("failed %d, PingOne updated %d of 9: want 1 failure and the run stopped right after it", rep.Counts.Failed, updated)
		}
	})
}

// One failure among few writes is a large percentage; below the floor it
// is reported (exit 4) but does not stop the run or fail it.
func TestFewFailuresBelowTheFloorDoNotStopThePercentageThreshold(t *testing.T) {
	backends(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend)
		e.mustRun(reconcile.Options{})
		if e.job.Safety.MaxFailuresFloor != reconcile.DefaultMaxFailuresFloor || reconcile.DefaultMaxFailuresFloor < 2 {
			t.Fatalf("floor %d", e.job.Safety.MaxFailuresFloor)
		}
		us := e.users()
		e.eng.Target = &failingTarget{Target: e.eng.Target, fail: map[string]bool{us["id-a"]["id"].(string): true}}
		rows := people(10)
		rows[0][5], rows[1][5] = "Staff Engineer", "Staff Engineer" // two writes, one fails: 50 % > 5 %
		e.write(rows)
		rep, err := e.run(reconcile.Options{})
		if err != nil {
			t.Fatalf("one failure in two writes stopped the run: %v", err)
		}
		if rep.Counts.Failed != 1 || rep.Counts.Updated != 1 {
			t.Fatalf("counts %+v", rep.Counts)
		}
	})
}

// A percentage of disables trips the gate only from its floor on; the
// count threshold has none.
func TestDisablePercentTripsOnlyFromItsFloor(t *testing.T) {
	e := newEnv(t, "sqlite")
	e.safetyFromYAML(`{max_disable_percent: 10}`)
	e.mustRun(reconcile.Options{})
	e.write(people(7)) // 3 of 10 leave: 30 % > 10 %, but 3 < 10 disables
	if rep, err := e.run(reconcile.Options{DryRun: true}); err != nil || rep.Counts.Disabled != 3 {
		t.Fatalf("3 disables below the floor: err %v", err)
	}
	e.safetyFromYAML(`{max_disable_percent: 10, max_disable_percent_floor: 3}`)
	var g *reconcile.GateError
	if _, err := e.run(reconcile.Options{DryRun: true}); !errors.As(err, &g) || !strings.Contains(err.Error(), "max_disable_percent=10") {
		t.Fatalf("3 disables at a floor of 3: err %v", err)
	}
}

func TestSafetyYAMLUnsetKeysTakeDefaultsAndUnknownOnesAreRefused(t *testing.T) {
	var s reconcile.Safety
	if err := yaml.Unmarshal([]byte(`{max_disables: 7}`), &s); err != nil {
		t.Fatal(err)
	}
	s.SetDefaults()
	want := reconcile.Safety{MaxDisables: 7, MaxDisablePercent: 10, MaxDisablePercentFloor: 10,
		MaxFailures: reconcile.DefaultMaxFailures, MaxFailuresFloor: 3, MaxAdoptions: 100}
	want.SetDefaults()
	if s != want {
		t.Errorf("got %+v, want %+v", s, want)
	}
	if err := yaml.Unmarshal([]byte(`{max_disable: 7}`), &s); err == nil || !strings.Contains(err.Error(), "max_disable") {
		t.Errorf("unknown key: err = %v", err)
	}
}

func TestMoreAdoptionsThanMaxAdoptionsStopAtTheGate(t *testing.T) {
	backends(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend)
		e.safetyFromYAML(`{max_adoptions: 1}`)
		for _, n := range []string{"a", "b"} {
			_, err := e.emu.AddUser(map[string]any{"username": "old." + n, "email": n + "@example.com", "externalId": "id-" + n,
				"population": map[string]any{"id": e.emu.PopulationID("Staff")}})
			if err != nil {
				t.Fatal(err)
			}
		}
		before := e.emu.Stats().Writes
		_, err := e.run(reconcile.Options{})
		var g *reconcile.GateError
		if !errors.As(err, &g) || !g.MassAdoption || g.Adoptions != 2 || !strings.Contains(err.Error(), "--allow-mass-adoption") {
			t.Fatalf("err = %v, want the gate to stop 2 adoptions above max_adoptions=1", err)
		}
		if e.emu.Stats().Writes != before {
			t.Fatalf("the gate let %d writes through", e.emu.Stats().Writes-before)
		}
		rep := e.mustRun(reconcile.Options{AllowMassAdoption: true})
		if rep.Counts.Adopted != 2 || rep.Counts.Created != 8 || len(e.emu.Users()) != 10 {
			t.Fatalf("override: %+v, %d users", rep.Counts, len(e.emu.Users()))
		}
	})
}

// Adoptions found while applying (a create meeting a taken username) count
// against max_adoptions too: beyond it they fail for this run and are
// retried by the next.
func TestAdoptionsFoundWhileApplyingStopAtMaxAdoptions(t *testing.T) {
	backends(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend)
		e.safetyFromYAML(`{max_adoptions: 1}`)
		e.mustRun(reconcile.Options{})
		rows := people(10)
		for _, n := range []string{"k", "l", "m"} {
			_, err := e.emu.AddUser(map[string]any{"username": "user." + n, "email": n + "@example.com",
				"population": map[string]any{"id": e.emu.PopulationID("Staff")}})
			if err != nil {
				t.Fatal(err)
			}
			rows = append(rows, []string{"id-" + n, "user." + n, n + "@example.com", "G", "F", "Engineer", "yes", "eng"})
		}
		e.write(rows)
		rep, err := e.run(reconcile.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Counts.Adopted != 1 || rep.Counts.Failed != 2 || !strings.Contains(rep.Failures[0].Error, "safety.max_adoptions=1") {
			t.Fatalf("counts %+v failures %+v", rep.Counts, rep.Failures)
		}
		if rep := e.mustRun(reconcile.Options{AllowMassAdoption: true}); rep.Counts.Adopted != 2 || len(e.emu.Users()) != 13 {
			t.Fatalf("with the override: %+v, %d users", rep.Counts, len(e.emu.Users()))
		}
	})
}
