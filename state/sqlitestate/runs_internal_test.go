package sqlitestate

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestRunListingUsesJobIndex checks the plan SQLite makes for listing one
// job's runs: a search of runs_job_started_idx, not a scan of every job's
// runs (which an "? = ” OR job = ?" WHERE forces).
func TestRunListingUsesJobIndex(t *testing.T) {
	t.Parallel()
	plan := queryPlan(t, runsOfJobSQL, "job", 5)
	got := strings.Join(plan, "; ")
	if !strings.Contains(got, "SEARCH runs USING INDEX runs_job_started_idx (job=?)") {
		t.Errorf("query plan %q does not search runs_job_started_idx by job", got)
	}
	if strings.Contains(got, "TEMP B-TREE") {
		t.Errorf("query plan %q sorts: the index should give the order", got)
	}
}

// queryPlan returns the lines of SQLite's EXPLAIN QUERY PLAN for query
// with args, on a new migrated database.
func queryPlan(t *testing.T, query string, args ...any) []string {
	t.Helper()
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "state.db"), Options{AutoMigrate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rows, err := s.r.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return plan
}
