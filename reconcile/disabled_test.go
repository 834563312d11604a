package reconcile_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/syncd/syncd/reconcile"
)

// A new record disabled in the source is not created: the report counts
// and lists it as such, never as unchanged, every run it stands.
func TestRecordsDisabledInTheSourceAreCountedAsNotCreated(t *testing.T) {
	backends(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend)
		rows := people(10)
		rows[4][6], rows[8][6] = "no", "no" // id-e, id-i: pre-hires
		e.write(rows)
		for run := 0; run < 2; run++ {
			rep := e.mustRun(reconcile.Options{})
			c := rep.Counts
			if c.NotCreated != 2 || c.Unchanged != 8*run || c.Created != 8*(1-run) {
				t.Errorf("run %d: counts = %+v, want 2 not created", run, c)
			}
			var listed []string
			for _, op := range rep.Operations {
				if op.Result() == "not created (disabled in the source)" {
					listed = append(listed, op.Anchor())
				}
			}
			if strings.Join(listed, ",") != "id-e,id-i" {
				t.Errorf("run %d: listed as not created: %v", run, listed)
			}
		}
		if _, ok := e.users()["id-e"]; ok {
			t.Error("a record disabled in the source was created")
		}
	})
}

// jobs[].create_disabled: true creates them as disabled users (a POST,
// then PUT enabled=false), and the next run finds nothing to do.
func TestCreateDisabledCreatesDisabledUsers(t *testing.T) {
	backends(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend)
		e.job.CreateDisabled = true
		rows := people(10)
		rows[4][6] = "no"
		e.write(rows)
		rep := e.mustRun(reconcile.Options{})
		if rep.Counts.Created != 10 || rep.Counts.NotCreated != 0 || rep.Counts.Failed != 0 {
			t.Fatalf("counts = %+v, want 10 created", rep.Counts)
		}
		us := e.users()
		if us["id-e"]["enabled"] != false || us["id-a"]["enabled"] != true {
			t.Errorf("id-e enabled = %v, id-a enabled = %v", us["id-e"]["enabled"], us["id-a"]["enabled"])
		}
		puts := 0
		for _, w := range writes(e.rec.take()) {
			if w.Method == http.MethodPut {
				puts++
				if !strings.HasSuffix(w.Path, us["id-e"]["id"].(string)+"/enabled") || w.Body != `{"enabled":false}` {
					t.Errorf("unexpected %s %s %s", w.Method, w.Path, w.Body)
				}
			}
		}
		if puts != 1 {
			t.Errorf("%d PUTs, want the one that disables id-e", puts)
		}
		rep = e.mustRun(reconcile.Options{})
		if rep.Counts.Unchanged != 10 || len(writes(e.rec.take())) != 0 {
			t.Errorf("second run: %+v", rep.Counts)
		}
	})
}
