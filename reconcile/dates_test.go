package reconcile_test

import (
	"testing"
	"time"

	"github.com/syncd/syncd/mapper"
	"github.com/syncd/syncd/reconcile"
)

// A start date arriving and an end date passing change users on that day,
// though the CSV file never changes.
func TestDateTransitionsOnAnUnchangedSource(t *testing.T) {
	backends(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend)
		now := time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)
		clock := func() time.Time { return now }
		m, err := mapper.Compile(mapper.Config{
			Mapping:    map[string]string{"username": "uid", "email": "mail", "name.given": "givenName"},
			Population: mapper.Population{Name: "Staff"},
			// title holds a start date, dept an end date (the fixture's columns).
			Enabled: `(title == "Engineer" || daysUntil(title) <= 0) && (dept == "eng" || daysSince(dept) < 0)`,
		}, mapper.WithClock(clock))
		if err != nil {
			t.Fatal(err)
		}
		e.job.Mapper, e.eng.Now = m, clock
		e.job.FullEvery = 30 * 24 * time.Hour // only the dates force complete reads here
		rows := people(4)
		rows[1][5] = "2026-12-10" // id-b starts on the 10th
		rows[2][7] = "2026-12-07" // id-c leaves on the 7th
		e.write(rows)

		plan := e.mustRun(reconcile.Options{DryRun: true, Until: time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC)})
		want := map[string]string{"id-b": "2026-12-10 enabled false -> true", "id-c": "2026-12-07 enabled true -> false"}
		if len(plan.Transitions) != 2 {
			t.Errorf("transitions = %+v, want 2", plan.Transitions)
		}
		for _, tr := range plan.Transitions {
			if want[tr.Anchor] != tr.Date+" "+tr.Change || tr.Username == "" {
				t.Errorf("transition %+v, want %s", tr, want[tr.Anchor])
			}
		}

		rep := e.mustRun(reconcile.Options{})
		if rep.Counts.Created != 3 || e.users()["id-b"] != nil {
			t.Fatalf("first day: %+v; id-b (a pre-hire) must not exist yet", rep.Counts)
		}
		now = now.Add(2 * time.Hour)
		rep = e.mustRun(reconcile.Options{})
		if rep.Mode != "delta" || rep.APICalls != 0 {
			t.Errorf("same day, unchanged file: mode %s, %d calls; want a delta costing nothing", rep.Mode, rep.APICalls)
		}

		now = time.Date(2026, 12, 7, 0, 5, 0, 0, time.UTC)
		rep = e.mustRun(reconcile.Options{})
		if rep.Counts.Disabled != 1 || e.users()["id-c"]["enabled"] != false {
			t.Errorf("on id-c's end date: %+v, id-c enabled=%v", rep.Counts, e.users()["id-c"]["enabled"])
		}
		now = time.Date(2026, 12, 10, 6, 0, 0, 0, time.UTC)
		rep = e.mustRun(reconcile.Options{})
		if rep.Counts.Created != 1 || e.users()["id-b"]["enabled"] != true {
			t.Errorf("on id-b's start date: %+v, id-b=%v", rep.Counts, e.users()["id-b"])
		}
		rep = e.mustRun(reconcile.Options{})
		if rep.Mode != "delta" || rep.APICalls != 0 {
			t.Errorf("again on the 10th: mode %s, %d calls", rep.Mode, rep.APICalls)
		}
	})
}
