package daemon_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/syncd/syncd/daemon"
	"github.com/syncd/syncd/internal/metrics"
)

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: read body: %v", url, err)
	}
	return resp.StatusCode, string(body)
}

func TestEndpoints(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	m := metrics.New(reg)
	m.RunSkipped("corp-ad")
	var readyErr atomic.Pointer[error]
	h := start(t, daemon.Options{
		Listen:     "127.0.0.1:0",
		Registry:   reg,
		Metrics:    m,
		ReadyCache: -1, // every probe sees the current state
		Ready: func(ctx context.Context) error {
			if p := readyErr.Load(); p != nil {
				return *p
			}
			return nil
		},
	}, []daemon.Job{{Name: "corp-ad", Schedule: "@every 15m"}}, func(context.Context, string) error { return nil })
	base := "http://" + h.d.Addr().String()

	type check struct {
		path       string
		wantStatus int
		wantBody   string
	}
	run := func(t *testing.T, checks []check) {
		t.Helper()
		for _, c := range checks {
			status, body := get(t, base+c.path)
			if status != c.wantStatus || !strings.Contains(body, c.wantBody) {
				t.Errorf("GET %s = %d %q, want %d containing %q", c.path, status, body, c.wantStatus, c.wantBody)
			}
			if strings.Contains(body, "hunter2") {
				t.Errorf("GET %s leaked a secret: %q", c.path, body)
			}
		}
	}
	run(t, []check{
		{"/healthz", 200, "ok"},
		{"/readyz", 200, "ready"},
		{"/metrics", 200, `syncd_runs_skipped_total{sync_job="corp-ad"} 1`},
		{"/metrics", 200, `syncd_job_schedule_interval_seconds{sync_job="corp-ad"} 900`},
		{"/nope", 404, ""},
	})

	err := errors.New("failed to connect to postgres://syncd:hunter2@db:5432/syncd")
	readyErr.Store(&err)
	run(t, []check{
		{"/healthz", 200, "ok"},
		{"/readyz", 503, "not ready: state store unreachable"},
		{"/readyz", 503, "not ready"},
	})
	if got := h.count("not ready: readiness check failed"); got != 1 {
		t.Errorf("readiness failure logged %d times, want once per transition", got)
	}
	readyErr.Store(nil)
	run(t, []check{{"/readyz", 200, "ready"}})
	if got := h.count("ready again"); got != 1 {
		t.Errorf("'ready again' logged %d times, want 1", got)
	}

	if err := h.stop(t); err != nil {
		t.Fatalf("Run: %v", err)
	}
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	if resp, err := client.Get(base + "/healthz"); err == nil {
		resp.Body.Close()
		t.Error("HTTP server still answers after Run returned")
	}
}

func TestReadyzBeforeStart(t *testing.T) {
	t.Parallel()
	d := daemon.New(daemon.Options{})
	srv := httptest.NewServer(d.Handler())
	defer srv.Close()
	status, body := get(t, srv.URL+"/readyz")
	if status != 503 || !strings.Contains(body, "starting") {
		t.Errorf("/readyz before Run = %d %q, want 503 starting", status, body)
	}
	if status, _ := get(t, srv.URL+"/metrics"); status != 404 {
		t.Errorf("/metrics without a Registry = %d, want 404", status)
	}
	if status, _ := get(t, srv.URL+"/healthz"); status != 200 {
		t.Errorf("/healthz = %d, want 200", status)
	}
}

func TestListenError(t *testing.T) {
	t.Parallel()
	d := daemon.New(daemon.Options{Listen: "127.0.0.1:notaport"})
	err := d.Run(context.Background(), []daemon.Job{{Name: "a", Schedule: "@hourly"}}, func(context.Context, string) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "listen 127.0.0.1:notaport") {
		t.Fatalf("Run = %v, want a listen error", err)
	}
}

// TestReadyzCachesTheCheck: a burst of probes costs one readiness check.
func TestReadyzCachesTheCheck(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	h := start(t, daemon.Options{
		Listen:     "127.0.0.1:0",
		ReadyCache: time.Hour, // long enough that this test never sees it expire
		Ready:      func(context.Context) error { calls.Add(1); return nil },
	}, []daemon.Job{{Name: "a", Schedule: "@every 15m"}}, func(context.Context, string) error { return nil })
	base := "http://" + h.d.Addr().String()
	for range 20 {
		if status, _ := get(t, base+"/readyz"); status != 200 {
			t.Fatalf("readyz %d", status)
		}
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("20 probes ran the check %d times, want 1", n)
	}
	if err := h.stop(t); err != nil {
		t.Fatal(err)
	}
}

// TestIdleConnectionsAreClosed: a client that connects and sends nothing
// is disconnected by the server's read-header timeout, not kept forever.
func TestIdleConnectionsAreClosed(t *testing.T) {
	t.Parallel()
	h := start(t, daemon.Options{Listen: "127.0.0.1:0"}, []daemon.Job{{Name: "a", Schedule: "@every 15m"}}, func(context.Context, string) error { return nil })
	conn, err := net.Dial("tcp", h.d.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetReadDeadline(time.Now().Add(time.Minute))
	if _, err := conn.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Errorf("silent connection: read = %v, want the server to close it (EOF)", err)
	}
	if err := h.stop(t); err != nil {
		t.Fatal(err)
	}
}
