package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/syncd/syncd/internal/testenv"
	"github.com/syncd/syncd/state"
	"github.com/syncd/syncd/state/pgstate"
)

// syncdBinary builds syncd once per test process.
func syncdBinary(t *testing.T) string { return testenv.SyncdBinary(t) }

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// proc is a syncd process with its output captured.
type proc struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  strings.Builder
	done chan error
}

func (h *harness) start(t *testing.T, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(syncdBinary(t), args...), done: make(chan error, 1)}
	p.cmd.Dir = h.dir
	p.cmd.Env = append(append(os.Environ(), "SYNCD_PINGONE_CLIENT_SECRET="+testSecret, "SYNCD_CONFIG="+h.conf), env...)
	// Never a pipe the test might stop draining: a blocked log write would
	// stall the daemon.
	p.cmd.Stdout, p.cmd.Stderr = (*lockedWriter)(p), (*lockedWriter)(p)
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		if t.Failed() {
			t.Logf("syncd %v output:\n%s", args, p.output())
		}
	})
	return p
}

type lockedWriter proc

func (w *lockedWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.out.Write(b)
}

func (p *proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// wait waits for the process to exit and returns its exit code.
func (p *proc) wait(t *testing.T, within time.Duration) int {
	t.Helper()
	select {
	case err := <-p.done:
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	case <-time.After(within):
		t.Fatalf("syncd did not exit within %s", within)
	}
	return -1
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", within, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestSIGTERMDuringApplyCheckpointsAndExitsZero(t *testing.T) {
	h := newHarness(t, csvSource(), "    batch_size: 10\n    run_at_start: true\n")
	h.writeCSV(rows(120)...)
	h.emu.SetFaults(0, 0, 15*time.Millisecond)
	p := h.start(t, nil, "run")
	eventually(t, 30*time.Second, "the apply to be under way", func() bool { return h.emu.UserCount() >= 25 })
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("exit %d after SIGTERM, want 0", code)
	}
	created := h.emu.UserCount()
	if created >= 120 {
		t.Fatalf("the apply ran to the end (%d users): SIGTERM came too late to test anything", created)
	}
	st := h.openSQLite(t)
	n := 0
	if err := st.Checkpoints(context.Background(), "people", func(c state.Checkpoint) error {
		if c.UserID != "" {
			n++
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	runs, err := st.Runs(context.Background(), "people", 10)
	st.Close()
	if n != created {
		t.Fatalf("%d users in PingOne but %d checkpointed: the batch in flight was not checkpointed", created, n)
	}
	if err != nil || len(runs) != 1 || runs[0].Status != state.RunStopped {
		t.Fatalf("run records %+v (%v): want one, stopped", runs, err)
	}
	h.emu.SetFaults(0, 0, 0)
	h.expect(ExitOK, "sync")
	if h.emu.UserCount() != 120 {
		t.Fatalf("after re-run: %d users", h.emu.UserCount())
	}
}

func (h *harness) openSQLite(t *testing.T) state.Store {
	t.Helper()
	st, err := openTestStore(filepath.Join(h.dir, "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestMetricsAfterARun(t *testing.T) {
	addr := freePort(t)
	h := newHarness(t, csvSource(), "    run_at_start: true\nhttp:\n  listen: "+addr+"\n")
	h.writeCSV(append(rows(5), "e900,ok900,broken-email,A,B")...)
	p := h.start(t, nil, "run")
	var body string
	eventually(t, 30*time.Second, "a run to show in /metrics", func() bool {
		resp, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		body = string(b)
		return strings.Contains(body, "syncd_last_run_timestamp_seconds{")
	})
	for _, want := range []string{
		`syncd_operations_total{result="ok",sync_job="people",type="create"} 5`,
		`syncd_objects{status="active",sync_job="people"} 5`,
		`syncd_rejects_total{reason="invalid_value",sync_job="people"} 1`,
		`syncd_api_requests_total{`,
		`syncd_run_duration_seconds_count{status="succeeded",sync_job="people"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s\n%s", want, grepLines(body, "syncd_"))
		}
	}
	for _, path := range []string{"/healthz", "/readyz"} {
		resp, err := http.Get("http://" + addr + path)
		if err != nil || resp.StatusCode != 200 {
			t.Errorf("GET %s: %v %v", path, resp, err)
		}
		if resp != nil {
			resp.Body.Close()
		}
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	if code := p.wait(t, 30*time.Second); code != 0 {
		t.Errorf("exit %d", code)
	}
}

func grepLines(s, prefix string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestTwoDaemonsNeverOverlap runs two `syncd run` on one PostgreSQL with the
// same job every second: the advisory lock keeps one writer per job. The
// contention is made certain: PingOne stalls until the replica holding the
// job has been refused by the other at least twice. Then one is killed and
// the other carries on.
func TestTwoDaemonsNeverOverlap(t *testing.T) {
	pgURL := testenv.PostgresURL(t)
	schema := testenv.PostgresSchema(t)
	url := pgURL + "&search_path=" + schema
	if !strings.Contains(pgURL, "?") {
		url = pgURL + "?search_path=" + schema
	}
	h := newHarness(t, csvSource(), "    schedule_override: x\n")
	cfg, _ := os.ReadFile(h.conf)
	c := strings.Replace(string(cfg), "url: sqlite://state.db", "url: "+url, 1)
	c = strings.Replace(c, `schedule: "@every 1m"`, `schedule: "@every 1s"`, 1)
	c = strings.Replace(c, "    schedule_override: x\n", "    run_at_start: true\n", 1)
	c = strings.Replace(c, "rate_limit: 500", "rate_limit: 500\n  concurrency: 1", 1)
	if err := os.WriteFile(h.conf, []byte(c), 0o600); err != nil {
		t.Fatal(err)
	}
	h.writeCSV(rows(30)...)
	release := h.emu.Stall()
	defer release()

	a := h.start(t, []string{"SYNCD_HTTP_LISTEN=" + freePort(t)}, "run")
	b := h.start(t, []string{"SYNCD_HTTP_LISTEN=" + freePort(t)}, "run")
	st, err := pgstate.Open(context.Background(), pgURL, pgstate.Options{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	const refused = "run skipped: job locked by another replica"
	skips := func() int { return strings.Count(a.output(), refused) + strings.Count(b.output(), refused) }
	// One replica holds the job, stalled in its first PingOne call; the
	// other ticks every second and must be turned away each time.
	eventually(t, 60*time.Second, "the second replica to be refused the job twice", func() bool { return skips() >= 2 })
	if strings.Contains(a.output(), refused) == strings.Contains(b.output(), refused) {
		t.Fatalf("both replicas or neither were refused while one held the job stalled:\nA:\n%s\nB:\n%s", a.output(), b.output())
	}
	if h.emu.InFlight() != 1 {
		t.Fatalf("%d PingOne requests held while one replica holds the job, want 1 (concurrency 1, one writer)", h.emu.InFlight())
	}
	release()

	finished := func() []state.Run {
		runs, err := st.Runs(context.Background(), "people", 1000)
		if err != nil {
			return nil
		}
		var out []state.Run
		for _, r := range runs {
			if !r.FinishedAt.IsZero() {
				out = append(out, r)
			}
		}
		return out
	}
	eventually(t, 60*time.Second, "five finished runs", func() bool { return len(finished()) >= 5 })

	_ = a.cmd.Process.Kill()
	a.wait(t, 10*time.Second)
	n := len(finished())
	eventually(t, 60*time.Second, "the survivor to keep running the job", func() bool { return len(finished()) >= n+3 })
	_ = b.cmd.Process.Signal(syscall.SIGTERM)
	b.wait(t, 30*time.Second)

	runs := finished()
	sort.Slice(runs, func(i, j int) bool { return runs[i].StartedAt.Before(runs[j].StartedAt) })
	for i := 1; i < len(runs); i++ {
		if runs[i].StartedAt.Before(runs[i-1].FinishedAt) {
			t.Errorf("run %d (%s..%s) overlaps run %d (%s..%s)", runs[i].ID, runs[i].StartedAt, runs[i].FinishedAt,
				runs[i-1].ID, runs[i-1].StartedAt, runs[i-1].FinishedAt)
		}
	}
	if mc := h.emu.Stats().MaxConcurrent; mc > 1 {
		t.Errorf("PingOne saw %d requests at once with concurrency 1: two applies overlapped", mc)
	}
	if h.emu.UserCount() != 30 {
		t.Errorf("%d users, want 30", h.emu.UserCount())
	}
}

func TestSIGHUPReloadsOrKeepsTheOldConfig(t *testing.T) {
	addr := freePort(t)
	h := newHarness(t, csvSource(), "http:\n  listen: "+addr+"\n")
	h.writeCSV(rows(2)...)
	p := h.start(t, nil, "run")
	ready := func() bool {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	}
	eventually(t, 30*time.Second, "the daemon to be ready", ready)
	good, _ := os.ReadFile(h.conf)

	// A broken config: logged, the old one stays.
	if err := os.WriteFile(h.conf, []byte("jobs: [{name: x, unknown_key: 1}]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_ = p.cmd.Process.Signal(syscall.SIGHUP)
	eventually(t, 10*time.Second, "the reload error to be logged", func() bool {
		return strings.Contains(p.output(), "config reload failed: keeping the running config")
	})
	if !ready() {
		t.Fatal("not ready after a failed reload")
	}

	// A good config with a new schedule is taken.
	c := strings.Replace(string(good), `schedule: "@every 1m"`, `schedule: "@every 1s"`, 1)
	if err := os.WriteFile(h.conf, []byte(c), 0o600); err != nil {
		t.Fatal(err)
	}
	_ = p.cmd.Process.Signal(syscall.SIGHUP)
	eventually(t, 10*time.Second, "the reload to be logged", func() bool { return strings.Contains(p.output(), "config reloaded") })
	eventually(t, 20*time.Second, "the new schedule to run the job", func() bool { return h.emu.UserCount() == 2 })
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	if code := p.wait(t, 30*time.Second); code != 0 {
		t.Errorf("exit %d", code)
	}
}
