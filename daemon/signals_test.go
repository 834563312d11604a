package daemon_test

import (
	"context"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/syncd/syncd/daemon"
)

// TestSignals sends real signals to the test process; Signals has them
// routed to its channel, so none takes its default action.
func TestSignals(t *testing.T) {
	// Not parallel: signals are process-wide.
	var exitCode atomic.Int32
	exitCode.Store(-1)
	exited := make(chan struct{})
	ctx, reload, stop := daemon.Signals(context.Background(), zap.NewNop(), func(code int) {
		exitCode.Store(int32(code))
		close(exited)
	})
	defer stop()

	kill := func(sig syscall.Signal) {
		t.Helper()
		if err := syscall.Kill(syscall.Getpid(), sig); err != nil {
			t.Fatal(err)
		}
	}
	kill(syscall.SIGHUP)
	select {
	case <-reload:
	case <-time.After(10 * time.Second):
		t.Fatal("SIGHUP did not reach reload")
	}
	if ctx.Err() != nil {
		t.Fatal("SIGHUP cancelled the context")
	}

	kill(syscall.SIGTERM)
	select {
	case <-ctx.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("SIGTERM did not cancel the context")
	}
	if exitCode.Load() != -1 {
		t.Fatal("first SIGTERM exited")
	}

	kill(syscall.SIGINT)
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		t.Fatal("second stop signal did not exit")
	}
	if got := exitCode.Load(); got != 1 {
		t.Errorf("exit code = %d, want 1", got)
	}
}
