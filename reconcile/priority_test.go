package reconcile_test

import (
	"strings"
	"testing"

	"github.com/syncd/syncd/reconcile"
)

// TestLeaverDisableGoesBeforeThousandsOfQueuedUpdates: a run with 1,500
// attribute updates and one leaver sends the leaver's disable among its
// first requests, although the leaver sorts last in the plan.
func TestLeaverDisableGoesBeforeThousandsOfQueuedUpdates(t *testing.T) {
	const n = 1500
	e := newEnv(t, "sqlite")
	rows := people(n)
	e.write(rows)
	e.mustRun(reconcile.Options{})

	// Every title changes (n-1 updates) and the last person leaves.
	rows = people(n)
	for _, r := range rows {
		r[5] = "Principal Engineer"
	}
	leaver := rows[n-1][0]
	e.write(rows[:n-1])
	e.rec.take()
	rep := e.mustRun(reconcile.Options{AllowMassDisable: true})
	if rep.Counts.Disabled != 1 || rep.Counts.Updated != n-1 {
		t.Fatalf("counts %+v, want 1 disable and %d updates", rep.Counts, n-1)
	}
	ws := writes(e.rec.take())
	userID, _ := e.users()[leaver]["id"].(string)
	at := -1
	for i, c := range ws {
		if c.Method == "PUT" && strings.HasSuffix(c.Path, "/users/"+userID+"/enabled") {
			at = i
			break
		}
	}
	if at < 0 {
		t.Fatalf("no disable of %s (%s) among %d writes", leaver, userID, len(ws))
	}
	// Workers may have sent a few updates before the disable reached the
	// budget (one round of them; a few more when the machine is so busy
	// that the disable's goroutine waits to be scheduled). In plan order
	// it would be write #1,500.
	if limit := 4 * e.job.Workers; at > limit {
		t.Errorf("the leaver's disable was write #%d of %d, want among the first %d", at+1, len(ws), limit+1)
	}
}
