package sqlitestate

import (
	"strings"
	"testing"
)

// TestDisabledBeforeUsesItsIndex: the delete candidates are searched in
// checkpoints_job_disabled_idx, never a scan of the job's checkpoints.
func TestDisabledBeforeUsesItsIndex(t *testing.T) {
	t.Parallel()
	plan := queryPlan(t, disabledBeforeSQL, "job", 5)
	if got := strings.Join(plan, "; "); !strings.Contains(got, "SEARCH checkpoints USING INDEX checkpoints_job_disabled_idx (job=?") {
		t.Errorf("query plan %q does not search checkpoints_job_disabled_idx", got)
	}
}
