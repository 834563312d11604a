package daemon_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap/zapcore"

	"github.com/syncd/syncd/daemon"
	"github.com/syncd/syncd/internal/metrics"
	"github.com/syncd/syncd/state"
)

// counter counts RunFunc calls per job.
type counter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *counter) inc(job string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[job]++
	return c.n[job]
}

func (c *counter) get(job string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[job]
}

func TestScheduledRunsHappen(t *testing.T) {
	t.Parallel()
	var c counter
	n := &recordingNotifier{}
	h := start(t, daemon.Options{Notifier: n}, []daemon.Job{{Name: "a", Schedule: "@every 1s"}},
		func(ctx context.Context, job string) error { c.inc(job); return nil })
	waitFor(t, 10*time.Second, "two scheduled runs", func() bool { return c.get("a") >= 2 })
	if err := h.stop(t); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if got := strings.Join(n.States(), ","); got != "READY=1,STOPPING=1" {
		t.Errorf("notify states = %s, want READY=1,STOPPING=1", got)
	}
	if h.count("run finished") < 2 {
		t.Errorf("want 2+ 'run finished' logs, got %d", h.count("run finished"))
	}
}

func TestRunAtStart(t *testing.T) {
	t.Parallel()
	var c counter
	start(t, daemon.Options{}, []daemon.Job{
		{Name: "now", Schedule: "@yearly", RunAtStart: true},
		{Name: "later", Schedule: "@yearly"},
	}, func(ctx context.Context, job string) error { c.inc(job); return nil })
	waitFor(t, 5*time.Second, "the run at start", func() bool { return c.get("now") == 1 })
	if c.get("later") != 0 {
		t.Error("job without RunAtStart ran at start")
	}
}

func TestSlowRunIsNotOverlapped(t *testing.T) {
	t.Parallel()
	var running, maxRunning, calls atomic.Int32
	release := make(chan struct{})
	jobs := []daemon.Job{{Name: "slow", Schedule: "@every 1s", RunAtStart: true}}
	h := start(t, daemon.Options{}, jobs,
		func(ctx context.Context, job string) error {
			calls.Add(1)
			r := running.Add(1)
			defer running.Add(-1)
			for {
				m := maxRunning.Load()
				if r <= m || maxRunning.CompareAndSwap(m, r) {
					break
				}
			}
			select {
			case <-release:
			case <-ctx.Done():
			}
			return nil
		})
	skipped := func() int { return h.count("run skipped: previous run still in progress") }
	waitFor(t, 10*time.Second, "two ticks skipped while the run is in progress", func() bool { return skipped() >= 2 })
	if got := calls.Load(); got != 1 {
		t.Errorf("calls while the first run is in progress = %d, want 1", got)
	}
	// A reload schedules new cron entries; the run in flight still guards the job.
	if err := h.d.Reload(jobs, func(ctx context.Context, job string) error { calls.Add(1); return nil }); err != nil {
		t.Fatalf("Reload: %v", err)
	}
	n := skipped()
	waitFor(t, 10*time.Second, "a tick after the reload skipped", func() bool { return skipped() > n })
	if got := calls.Load(); got != 1 {
		t.Errorf("calls after a reload while the first run is in progress = %d, want 1", got)
	}
	close(release)
	waitFor(t, 10*time.Second, "a run after the slow one ended", func() bool { return calls.Load() >= 2 })
	if got := maxRunning.Load(); got != 1 {
		t.Errorf("max concurrent runs = %d, want 1", got)
	}
}

func TestLockHeldIsASkip(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	m := metrics.New(reg)
	var c counter
	h := start(t, daemon.Options{Metrics: m, BackoffBase: time.Hour},
		[]daemon.Job{{Name: "ha", Schedule: "@every 1s", RunAtStart: true}},
		func(ctx context.Context, job string) error {
			c.inc(job)
			return fmt.Errorf("job %s: lock: %w", job, state.ErrLocked)
		})
	// With a one-hour backoff, a second call proves no backoff was applied.
	waitFor(t, 10*time.Second, "two runs", func() bool { return c.get("ha") >= 2 })
	if got := h.count("run skipped: job locked by another replica"); got < 1 {
		t.Errorf("lock-held skip logs = %d, want 1+", got)
	}
	for _, e := range h.logs.All() {
		if e.Level >= zapcore.ErrorLevel {
			t.Errorf("lock held logged at %s: %s", e.Level, e.Message)
		}
	}
	if v := gathered(t, reg, "syncd_runs_skipped_total"); v < 1 {
		t.Errorf("syncd_runs_skipped_total = %v, want 1+", v)
	}
}

func TestFailureBackoff(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	var c counter
	var succeed atomic.Bool
	h := start(t, daemon.Options{Now: clock.Now, BackoffBase: time.Hour, BackoffMax: 3 * time.Hour},
		[]daemon.Job{{Name: "flaky", Schedule: "@every 1s", RunAtStart: true}},
		func(ctx context.Context, job string) error {
			n := c.inc(job)
			if succeed.Load() {
				return nil
			}
			if n == 1 {
				panic("boom") // a panic is a failure too, and the daemon lives on
			}
			return errors.New("pingone: 503 service unavailable")
		})
	backingOff := func() int { return h.count("run skipped: backing off after failures") }

	waitFor(t, 5*time.Second, "the first (failing) run", func() bool { return c.get("flaky") == 1 })
	waitFor(t, 5*time.Second, "a tick skipped by backoff", func() bool { return backingOff() >= 1 })
	if got := c.get("flaky"); got != 1 {
		t.Fatalf("runs during backoff = %d, want 1", got)
	}
	failed := h.logs.FilterMessage("run failed").All()
	if len(failed) != 1 || failed[0].Level != zapcore.ErrorLevel {
		t.Fatalf("want one error-level 'run failed' log, got %v", failed)
	}
	if f := failed[0].ContextMap(); f["job"] != "flaky" || !strings.Contains(f["error"].(string), "panic: boom") || f["backoff"] != time.Hour {
		t.Errorf("run failed fields = %v", f)
	}

	clock.Advance(time.Hour) // first backoff over
	waitFor(t, 5*time.Second, "the second run", func() bool { return c.get("flaky") == 2 })
	waitFor(t, 5*time.Second, "the second failure logged", func() bool { return h.count("run failed") == 2 })
	if f := h.logs.FilterMessage("run failed").All()[1].ContextMap(); f["backoff"] != 2*time.Hour || f["failures"] != int64(2) {
		t.Errorf("second failure: backoff %v failures %v, want 2h and 2", f["backoff"], f["failures"])
	}

	clock.Advance(time.Hour) // halfway through the doubled backoff
	before := backingOff()
	waitFor(t, 5*time.Second, "a tick skipped by the doubled backoff", func() bool { return backingOff() > before })
	if got := c.get("flaky"); got != 2 {
		t.Fatalf("runs during doubled backoff = %d, want 2", got)
	}

	succeed.Store(true)
	clock.Advance(time.Hour)
	waitFor(t, 5*time.Second, "the third (successful) run", func() bool { return c.get("flaky") >= 3 })
	// Success resets the backoff: the next tick runs without moving the clock.
	waitFor(t, 5*time.Second, "a run right after success", func() bool { return c.get("flaky") >= 4 })
}

func TestShutdownWaitsForRunInFlight(t *testing.T) {
	t.Parallel()
	started := make(chan struct{})
	var checkpointed atomic.Bool
	h := start(t, daemon.Options{ShutdownTimeout: 20 * time.Second},
		[]daemon.Job{{Name: "batch", Schedule: "@yearly", RunAtStart: true}},
		func(ctx context.Context, job string) error {
			close(started)
			<-ctx.Done() // shutdown cancels the run's context ...
			// ... and the engine finishes its batch and checkpoints it.
			time.Sleep(100 * time.Millisecond)
			checkpointed.Store(true)
			return ctx.Err()
		})
	<-started
	if err := h.stop(t); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if !checkpointed.Load() {
		t.Error("Run returned before the run in flight finished")
	}
	if h.count("run stopped by shutdown") != 1 || h.count("run failed") != 0 {
		t.Errorf("a run cancelled by shutdown should log 'run stopped by shutdown', not a failure")
	}
}

func TestShutdownTimeout(t *testing.T) {
	t.Parallel()
	started, release, finished := make(chan struct{}), make(chan struct{}), make(chan struct{})
	h := start(t, daemon.Options{ShutdownTimeout: 200 * time.Millisecond, AbortWait: 200 * time.Millisecond},
		[]daemon.Job{{Name: "stuck", Schedule: "@yearly", RunAtStart: true}},
		func(ctx context.Context, job string) error {
			defer close(finished)
			close(started)
			<-release // ignores its context
			return nil
		})
	<-started
	err := h.stop(t)
	close(release)
	<-finished
	if err == nil || !strings.Contains(err.Error(), "still in flight") {
		t.Fatalf("Run = %v, want a shutdown timeout error", err)
	}
}

// TestShutdownTimeoutAbortsRunsInFlight: a run whose requests stall past
// ShutdownTimeout is told to cut them short (Aborted), and the daemon
// waits for it to checkpoint what finished and return: a stop that ends
// with every run recorded, not abandoned.
func TestShutdownTimeoutAbortsRunsInFlight(t *testing.T) {
	t.Parallel()
	started := make(chan struct{})
	dc := make(chan *daemon.Daemon, 1)
	var abortedBeforeTimeout, checkpointed atomic.Bool
	h := start(t, daemon.Options{ShutdownTimeout: 300 * time.Millisecond},
		[]daemon.Job{{Name: "stalled", Schedule: "@yearly", RunAtStart: true}},
		func(ctx context.Context, job string) error {
			close(started)
			d := <-dc
			<-ctx.Done() // the graceful stop: requests in flight go on ...
			select {
			case <-d.Aborted():
				abortedBeforeTimeout.Store(true) // closed at once: no grace at all
			default:
			}
			<-d.Aborted() // ... until the shutdown timeout cuts them short
			checkpointed.Store(true)
			return ctx.Err()
		})
	dc <- h.d
	<-started
	if err := h.stop(t); err != nil {
		t.Fatalf("Run = %v, want nil: the run returned once aborted", err)
	}
	if !checkpointed.Load() {
		t.Error("Run returned before the aborted run finished")
	}
	if abortedBeforeTimeout.Load() {
		t.Error("Aborted was closed as the stop began, before ShutdownTimeout")
	}
	if h.count("shutdown timeout: cancelling the requests in flight; what finished is checkpointed") != 1 || h.count("runs in flight stopped") != 1 {
		t.Error("the abort at the shutdown timeout was not logged")
	}
}

func TestJitterIsInterruptedByShutdown(t *testing.T) {
	t.Parallel()
	var c counter
	h := start(t, daemon.Options{ShutdownTimeout: 10 * time.Second},
		[]daemon.Job{{Name: "j", Schedule: "@yearly", RunAtStart: true, Jitter: time.Hour}},
		func(ctx context.Context, job string) error { c.inc(job); return nil })
	if err := h.stop(t); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if c.get("j") != 0 {
		t.Error("a run waiting out its jitter ran after shutdown")
	}
}

func TestReload(t *testing.T) {
	t.Parallel()
	var c counter
	run := func(ctx context.Context, job string) error { c.inc(job); return nil }
	h := start(t, daemon.Options{}, []daemon.Job{{Name: "a", Schedule: "@every 1s"}}, run)
	waitFor(t, 10*time.Second, "a first run of a", func() bool { return c.get("a") >= 1 })

	err := h.d.Reload([]daemon.Job{{Name: "a", Schedule: "@every 1s"}, {Name: "b", Schedule: "every five minutes"}}, run)
	if err == nil || !strings.Contains(err.Error(), `job "b"`) || !strings.Contains(err.Error(), `"every five minutes"`) {
		t.Fatalf("Reload with a bad spec = %v, want an error naming job b and its spec", err)
	}
	n := c.get("a")
	waitFor(t, 10*time.Second, "the old schedule still running after a failed reload", func() bool { return c.get("a") > n })
	if c.get("b") != 0 {
		t.Fatal("a job from the rejected reload ran")
	}

	var c2 counter
	run2 := func(ctx context.Context, job string) error { c2.inc(job); return nil }
	if err := h.d.Reload([]daemon.Job{{Name: "b", Schedule: "@every 1s"}}, run2); err != nil {
		t.Fatalf("Reload: %v", err)
	}
	waitFor(t, 10*time.Second, "job b run by the new RunFunc", func() bool { return c2.get("b") >= 1 })
	n = c.get("a") + c2.get("a")
	waitFor(t, 10*time.Second, "another run of b", func() bool { return c2.get("b") >= 2 })
	if got := c.get("a") + c2.get("a"); got != n {
		t.Errorf("job a ran %d more times after being removed", got-n)
	}
}

func TestReloadWhenNotRunning(t *testing.T) {
	t.Parallel()
	d := daemon.New(daemon.Options{})
	if err := d.Reload(nil, nil); err == nil {
		t.Error("Reload before Run succeeded")
	}
}

func TestRunRejectsInvalidJobs(t *testing.T) {
	t.Parallel()
	d := daemon.New(daemon.Options{})
	err := d.Run(context.Background(), []daemon.Job{{Name: "x", Schedule: "61 * * * *"}}, nil)
	if err == nil || !strings.Contains(err.Error(), `job "x": schedule "61 * * * *"`) {
		t.Fatalf("Run = %v, want an error naming the job and spec", err)
	}
}

func TestValidateJobs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		jobs    []daemon.Job
		wantErr []string
	}{
		{"five fields", []daemon.Job{{Name: "a", Schedule: "*/15 * * * *"}}, nil},
		{"every", []daemon.Job{{Name: "a", Schedule: "@every 15m"}}, nil},
		{"hourly", []daemon.Job{{Name: "a", Schedule: "@hourly"}}, nil},
		{"timezone prefix", []daemon.Job{{Name: "a", Schedule: "CRON_TZ=Europe/Paris 0 3 * * *"}}, nil},
		{"no jobs", nil, nil},
		{"six fields", []daemon.Job{{Name: "a", Schedule: "0 */15 * * * *"}}, []string{`job "a": schedule "0 */15 * * * *"`}},
		{"empty spec", []daemon.Job{{Name: "a"}}, []string{`job "a": schedule ""`}},
		{"never fires", []daemon.Job{{Name: "a", Schedule: "0 0 30 2 *"}}, []string{`job "a": schedule "0 0 30 2 *": never fires`}},
		{"no name", []daemon.Job{{Schedule: "@hourly"}}, []string{"jobs[0]: name: required"}},
		{"duplicate", []daemon.Job{{Name: "a", Schedule: "@hourly"}, {Name: "a", Schedule: "@daily"}}, []string{`job "a": name: duplicate`}},
		{"negative jitter", []daemon.Job{{Name: "a", Schedule: "@hourly", Jitter: -1}}, []string{`job "a": jitter`}},
		{"every problem at once", []daemon.Job{{Name: "a", Schedule: "bad"}, {Name: "b", Schedule: "@weekly"}, {Name: "c", Schedule: "@fortnightly"}},
			[]string{`job "a"`, `job "c"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := daemon.ValidateJobs(tt.jobs)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("ValidateJobs: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("ValidateJobs accepted invalid jobs")
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if strings.Contains(err.Error(), `job "b"`) {
				t.Errorf("error %q names a valid job", err)
			}
		})
	}
}

// gathered sums the values of the named series in reg.
func gathered(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			sum += m.GetCounter().GetValue() + m.GetGauge().GetValue()
		}
	}
	return sum
}
