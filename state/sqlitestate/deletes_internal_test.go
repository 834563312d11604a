package sqlitestate

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestDisabledBeforeUsesItsIndex: the delete candidates are searched in
// checkpoints_job_disabled_idx, never a scan of the job's checkpoints.
func TestDisabledBeforeUsesItsIndex(t *testing.T) {
	t.Parallel()
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "state.db"), Options{AutoMigrate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rows, err := s.r.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+disabledBeforeSQL, "job", 5)
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
	if got := strings.Join(plan, "; "); !strings.Contains(got, "SEARCH checkpoints USING INDEX checkpoints_job_disabled_idx (job=?") {
		t.Errorf("query plan %q does not search checkpoints_job_disabled_idx", got)
	}
}
