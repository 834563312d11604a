package reconcile_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/syncd/syncd/reconcile"
	"github.com/syncd/syncd/sources/csvsource"
)

// TestExportRewrittenAfterTheReadStopsBeforeTheFirstDisable: the HR system
// writes the export again while the run plans; the leaver the read found
// is not disabled from a snapshot the file no longer holds.
func TestExportRewrittenAfterTheReadStopsBeforeTheFirstDisable(t *testing.T) {
	e := newEnv(t, "sqlite")
	e.mustRun(reconcile.Options{})
	rows := people(10)
	e.write(append(rows[:2:2], rows[3:]...)) // id-c leaves
	e.rec.take()
	rewritten := false
	_, err := e.run(reconcile.Options{Progress: func(p reconcile.Progress) {
		if p.Phase == "plan" && !rewritten {
			rewritten = true
			e.write(rows) // the export, complete again
		}
	}})
	var ce *csvsource.ChangedError
	if !rewritten || err == nil || !strings.Contains(err.Error(), "before the first disable") || !errors.As(err, &ce) {
		t.Fatalf("run = %v, want it stopped before the first disable by a *csvsource.ChangedError", err)
	}
	for _, c := range writes(e.rec.take()) {
		if c.Method == http.MethodPut && strings.HasSuffix(c.Path, "/enabled") {
			t.Errorf("a disable was sent: %s %s", c.Method, c.Path)
		}
	}
	if en := e.users()["id-c"]["enabled"]; en != true {
		t.Fatalf("id-c enabled = %v after a stopped run", en)
	}
	// The next run reads the file as it is now: nobody leaves.
	rep := e.mustRun(reconcile.Options{})
	if rep.Counts.Disabled != 0 {
		t.Errorf("next run: %+v", rep.Counts)
	}
}
