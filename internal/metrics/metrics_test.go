package metrics_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/syncd/syncd/internal/metrics"
)

func newMetrics(t *testing.T) (*metrics.Metrics, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	return metrics.New(reg), reg
}

func TestObserveRun(t *testing.T) {
	t.Parallel()
	m, reg := newMetrics(t)
	start := time.Unix(1_700_000_000, 0)
	m.ObserveRun(metrics.RunResult{
		Job: "corp-ad", Started: start, Duration: 90 * time.Second, Status: metrics.StatusSucceeded,
		Ops: map[string]map[string]int{
			"create":  {"ok": 3, "failed": 1},
			"disable": {"ok": 2},
			"bogus":   {"ok": 1},
		},
		Rejects: map[string]int{"invalid_value": 2, "jane.doe@example.com is bad": 1},
		Objects: map[string]int{"active": 10, "disabled": 2},
	})
	m.ObserveRun(metrics.RunResult{
		Job: "corp-ad", Started: start.Add(time.Hour), Duration: 5 * time.Second,
		Status: metrics.StatusGated, GateTripped: true,
		Objects: map[string]int{"active": 9},
	})

	want := `
# HELP syncd_operations_total PingOne operations applied by type (create, update, enable, disable, move, adopt) and result (ok, failed).
# TYPE syncd_operations_total counter
syncd_operations_total{result="failed",sync_job="corp-ad",type="create"} 1
syncd_operations_total{result="ok",sync_job="corp-ad",type="create"} 3
syncd_operations_total{result="ok",sync_job="corp-ad",type="disable"} 2
syncd_operations_total{result="ok",sync_job="corp-ad",type="other"} 1
# HELP syncd_rejects_total Source records rejected by the mapper or planner, by reason.
# TYPE syncd_rejects_total counter
syncd_rejects_total{reason="conflict",sync_job="corp-ad"} 0
syncd_rejects_total{reason="duplicate",sync_job="corp-ad"} 0
syncd_rejects_total{reason="expression",sync_job="corp-ad"} 0
syncd_rejects_total{reason="invalid_value",sync_job="corp-ad"} 2
syncd_rejects_total{reason="missing",sync_job="corp-ad"} 0
syncd_rejects_total{reason="other",sync_job="corp-ad"} 1
syncd_rejects_total{reason="source",sync_job="corp-ad"} 0
# HELP syncd_objects Managed objects by status (active, disabled, failed, conflict, pending, gone) after the job's last run.
# TYPE syncd_objects gauge
syncd_objects{status="active",sync_job="corp-ad"} 9
syncd_objects{status="conflict",sync_job="corp-ad"} 0
syncd_objects{status="disabled",sync_job="corp-ad"} 0
syncd_objects{status="failed",sync_job="corp-ad"} 0
syncd_objects{status="gone",sync_job="corp-ad"} 0
syncd_objects{status="pending",sync_job="corp-ad"} 0
# HELP syncd_last_success_timestamp_seconds Unix time at which the job's last successful run finished.
# TYPE syncd_last_success_timestamp_seconds gauge
syncd_last_success_timestamp_seconds{sync_job="corp-ad"} 1.70000009e+09
# HELP syncd_last_run_timestamp_seconds Unix time at which the job's last run finished, whatever its outcome.
# TYPE syncd_last_run_timestamp_seconds gauge
syncd_last_run_timestamp_seconds{sync_job="corp-ad"} 1.700003605e+09
# HELP syncd_last_run_status 1 for the outcome of the job's last run (succeeded, failed, gated), 0 for the others.
# TYPE syncd_last_run_status gauge
syncd_last_run_status{status="failed",sync_job="corp-ad"} 0
syncd_last_run_status{status="gated",sync_job="corp-ad"} 1
syncd_last_run_status{status="succeeded",sync_job="corp-ad"} 0
# HELP syncd_safety_gate_trips_total Runs stopped by the safety gate before any write.
# TYPE syncd_safety_gate_trips_total counter
syncd_safety_gate_trips_total{sync_job="corp-ad"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"syncd_operations_total", "syncd_rejects_total", "syncd_objects",
		"syncd_last_success_timestamp_seconds", "syncd_last_run_timestamp_seconds",
		"syncd_last_run_status", "syncd_safety_gate_trips_total"); err != nil {
		t.Fatal(err)
	}
	if n := testutil.CollectAndCount(reg, "syncd_run_duration_seconds"); n != 2 {
		t.Errorf("run duration series = %d, want 2 (succeeded, gated)", n)
	}
}

func TestObserveRunStatuses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, status    string
		wantSuccessSet  bool
		wantStatusLabel string
		wantGateTrips   float64
	}{
		{"succeeded", metrics.StatusSucceeded, true, "succeeded", 0},
		{"failed", metrics.StatusFailed, false, "failed", 0},
		{"gated", metrics.StatusGated, false, "gated", 1},
		{"unknown counts as failed", "weird", false, "failed", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m, reg := newMetrics(t)
			m.ObserveRun(metrics.RunResult{Job: "j", Started: time.Unix(100, 0), Duration: time.Second, Status: tt.status})
			n := testutil.CollectAndCount(reg, "syncd_last_success_timestamp_seconds")
			if got := n == 1; got != tt.wantSuccessSet {
				t.Errorf("last success series = %d, want set=%v", n, tt.wantSuccessSet)
			}
			mfs, err := reg.Gather()
			if err != nil {
				t.Fatal(err)
			}
			var gotStatus string
			var gotTrips float64
			for _, mf := range mfs {
				for _, mt := range mf.GetMetric() {
					labels := map[string]string{}
					for _, l := range mt.GetLabel() {
						labels[l.GetName()] = l.GetValue()
					}
					switch mf.GetName() {
					case "syncd_last_run_status":
						if mt.GetGauge().GetValue() == 1 {
							gotStatus = labels["status"]
						}
					case "syncd_safety_gate_trips_total":
						gotTrips = mt.GetCounter().GetValue()
					}
				}
			}
			if gotStatus != tt.wantStatusLabel {
				t.Errorf("last run status = %q, want %q", gotStatus, tt.wantStatusLabel)
			}
			if gotTrips != tt.wantGateTrips {
				t.Errorf("gate trips = %v, want %v", gotTrips, tt.wantGateTrips)
			}
		})
	}
}

func TestAPIObserver(t *testing.T) {
	t.Parallel()
	m, reg := newMetrics(t)
	m.Request("create_user", 201, 120*time.Millisecond)
	m.Request("create_user", 429, 10*time.Millisecond)
	m.Request("create_user", 0, 30*time.Second)
	m.Request("name with spaces and personal data", 200, time.Millisecond)
	m.Retry("create_user", "429")
	m.Retry("create_user", "429")
	m.Retry("update_user", "timeout")
	m.RateLimited("create_user")
	m.LimiterWait(1500 * time.Millisecond)
	m.LimiterWait(500 * time.Millisecond)
	m.LimiterWait(-time.Second) // ignored
	m.RunSkipped("corp-ad")
	m.SetJobInterval("corp-ad", 15*time.Minute)

	want := `
# HELP syncd_api_requests_total PingOne API requests by operation and HTTP status ("error" when no response arrived).
# TYPE syncd_api_requests_total counter
syncd_api_requests_total{operation="create_user",status="201"} 1
syncd_api_requests_total{operation="create_user",status="429"} 1
syncd_api_requests_total{operation="create_user",status="error"} 1
syncd_api_requests_total{operation="other",status="200"} 1
# HELP syncd_api_retries_total PingOne API requests retried, by operation and reason.
# TYPE syncd_api_retries_total counter
syncd_api_retries_total{operation="create_user",reason="429"} 2
syncd_api_retries_total{operation="update_user",reason="timeout"} 1
# HELP syncd_api_rate_limited_total PingOne API responses with status 429, by operation.
# TYPE syncd_api_rate_limited_total counter
syncd_api_rate_limited_total{operation="create_user"} 1
# HELP syncd_rate_limiter_wait_seconds_total Time spent waiting on syncd's own PingOne rate limiter.
# TYPE syncd_rate_limiter_wait_seconds_total counter
syncd_rate_limiter_wait_seconds_total 2
# HELP syncd_runs_skipped_total Scheduled runs skipped because another replica held the job's lock.
# TYPE syncd_runs_skipped_total counter
syncd_runs_skipped_total{sync_job="corp-ad"} 1
# HELP syncd_job_schedule_interval_seconds Seconds between two scheduled runs of the job (for staleness alerts).
# TYPE syncd_job_schedule_interval_seconds gauge
syncd_job_schedule_interval_seconds{sync_job="corp-ad"} 900
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"syncd_api_requests_total", "syncd_api_retries_total", "syncd_api_rate_limited_total",
		"syncd_rate_limiter_wait_seconds_total", "syncd_runs_skipped_total",
		"syncd_job_schedule_interval_seconds"); err != nil {
		t.Fatal(err)
	}
	if n := testutil.CollectAndCount(reg, "syncd_api_request_duration_seconds"); n != 2 {
		t.Errorf("api duration series = %d, want 2", n)
	}
	m.ForgetJob("corp-ad")
	if n := testutil.CollectAndCount(reg, "syncd_job_schedule_interval_seconds"); n != 0 {
		t.Errorf("interval series after ForgetJob = %d, want 0", n)
	}
}

// TestScrape reads the series the way Prometheus does, over HTTP.
func TestScrape(t *testing.T) {
	t.Parallel()
	m, reg := newMetrics(t)
	m.ObserveRun(metrics.RunResult{Job: "csv", Started: time.Unix(1000, 0), Duration: 3 * time.Second, Status: "succeeded"})
	m.Request("get_token", 200, 50*time.Millisecond)
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`syncd_run_duration_seconds_bucket{status="succeeded",sync_job="csv",le="4"} 1`,
		`syncd_run_duration_seconds_count{status="succeeded",sync_job="csv"} 1`,
		`syncd_last_success_timestamp_seconds{sync_job="csv"} 1003`,
		`syncd_api_request_duration_seconds_count{operation="get_token"} 1`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("scrape lacks %q\n%s", want, body)
		}
	}
}

func TestNewTwiceOnOneRegistryPanics(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	metrics.New(reg)
	defer func() {
		if recover() == nil {
			t.Error("second New on one registry did not panic")
		}
	}()
	metrics.New(reg)
}

func TestSetJobIntervalInitialisesCounters(t *testing.T) {
	t.Parallel()
	m, reg := newMetrics(t)
	m.SetJobInterval("new", time.Hour)
	for name, want := range map[string]int{
		"syncd_rejects_total": 7, "syncd_safety_gate_trips_total": 1, "syncd_runs_skipped_total": 1,
	} {
		if got := testutil.CollectAndCount(reg, name); got != want {
			t.Errorf("%s series = %d, want %d (at zero before the first run)", name, got, want)
		}
	}
}
