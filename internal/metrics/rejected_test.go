package metrics_test

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/syncd/syncd/internal/metrics"
)

// syncd_rejected_records is a gauge of the rejects standing after a run:
// a run that does not know (nil) leaves it as it was.
func TestRejectedRecordsGaugeStandsBetweenRuns(t *testing.T) {
	t.Parallel()
	m, reg := newMetrics(t)
	n := func(v int) *int { return &v }
	start := time.Unix(1_700_000_000, 0)
	m.ObserveRun(metrics.RunResult{Job: "hr", Started: start, Status: metrics.StatusSucceeded, RejectedRecords: n(203)})
	m.ObserveRun(metrics.RunResult{Job: "hr", Started: start, Status: metrics.StatusFailed})
	want := `
# HELP syncd_rejected_records Source records that stand rejected after the job's last run (every run exits 4 while any stands).
# TYPE syncd_rejected_records gauge
syncd_rejected_records{sync_job="hr"} 203
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "syncd_rejected_records"); err != nil {
		t.Fatal(err)
	}
	m.ObserveRun(metrics.RunResult{Job: "hr", Started: start, Status: metrics.StatusSucceeded, RejectedRecords: n(0)})
	if err := testutil.GatherAndCompare(reg, strings.NewReader(strings.Replace(want, "} 203", "} 0", 1)), "syncd_rejected_records"); err != nil {
		t.Fatal(err)
	}
}
