package daemon_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/syncd/syncd/daemon"
)

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// fakeClock is the clock backoff decisions read; tests move it by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// recordingNotifier records the notify states sent.
type recordingNotifier struct {
	mu     sync.Mutex
	states []string
}

func (n *recordingNotifier) Notify(s string) error {
	n.mu.Lock()
	n.states = append(n.states, s)
	n.mu.Unlock()
	return nil
}

func (n *recordingNotifier) WatchdogInterval() (time.Duration, error) { return 0, nil }

func (n *recordingNotifier) States() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]string(nil), n.states...)
}

// harness runs a daemon in the background and stops it at cleanup.
type harness struct {
	d      *daemon.Daemon
	logs   *observer.ObservedLogs
	cancel context.CancelFunc
	done   chan error
}

func (h *harness) count(msg string) int { return h.logs.FilterMessage(msg).Len() }

// stop cancels the daemon's context and returns Run's result.
func (h *harness) stop(t *testing.T) error {
	t.Helper()
	h.cancel()
	select {
	case err := <-h.done:
		h.done <- err // keep it for cleanup
		return err
	case <-time.After(30 * time.Second):
		t.Fatal("daemon did not stop within 30s")
		return nil
	}
}

func start(t *testing.T, opts daemon.Options, jobs []daemon.Job, run daemon.RunFunc) *harness {
	t.Helper()
	core, logs := observer.New(zap.DebugLevel)
	opts.Logger = zap.New(core)
	if opts.Notifier == nil {
		opts.Notifier = &recordingNotifier{}
	}
	d := daemon.New(opts)
	ctx, cancel := context.WithCancel(context.Background())
	h := &harness{d: d, logs: logs, cancel: cancel, done: make(chan error, 1)}
	go func() { h.done <- d.Run(ctx, jobs, run) }()
	select {
	case <-d.Started():
	case err := <-h.done:
		cancel()
		t.Fatalf("daemon did not start: %v", err)
	case <-time.After(10 * time.Second):
		cancel()
		t.Fatal("daemon did not start within 10s")
	}
	t.Cleanup(func() {
		cancel()
		<-h.done
	})
	return h
}
