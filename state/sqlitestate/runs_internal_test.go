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
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "state.db"), Options{AutoMigrate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rows, err := s.r.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+runsOfJobSQL, "job", 5)
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
	got := strings.Join(plan, "; ")
	if !strings.Contains(got, "SEARCH runs USING INDEX runs_job_started_idx (job=?)") {
		t.Errorf("query plan %q does not search runs_job_started_idx by job", got)
	}
	if strings.Contains(got, "TEMP B-TREE") {
		t.Errorf("query plan %q sorts: the index should give the order", got)
	}
}
