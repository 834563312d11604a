package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"
)

// notifyContext returns a context that the first SIGINT or SIGTERM
// cancels: every command then stops gracefully (the batch in flight is
// finished and checkpointed, reads return). A second one ends the process
// at once with 128+signal (130, 143), whatever it is waiting for: an
// operator who asks twice means it.
func notifyContext(stderr io.Writer) (context.Context, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case <-ch:
			cancel()
		case <-done:
			return
		}
		select {
		case sig := <-ch:
			fmt.Fprintf(stderr, "syncd: second %s: exiting now, without waiting for the work in flight\n", signalName(sig))
			os.Exit(128 + signalNumber(sig))
		case <-done:
		}
	}()
	return ctx, func() {
		signal.Stop(ch)
		close(done)
		cancel()
	}
}

func signalName(s os.Signal) string {
	if s == syscall.SIGTERM {
		return "SIGTERM"
	}
	return "SIGINT"
}

func signalNumber(s os.Signal) int {
	if n, ok := s.(syscall.Signal); ok {
		return int(n)
	}
	return int(syscall.SIGINT)
}

// crashBySignal makes a fatal runtime error (out of memory, an unrecovered
// panic) end the process by SIGABRT instead of exit status 2: 2 is syncd's
// "configuration error", which a CronJob does not retry, while an
// out-of-memory death should be retried like any failed run. Where SIGABRT
// cannot kill (syncd as PID 1 of a container without an init), the runtime
// falls back to 2; there the usual out-of-memory death is the cgroup's
// SIGKILL (137) anyway. noCoreDump keeps that abort from writing a core
// file holding the client secret and tokens.
func crashBySignal() {
	debug.SetTraceback("crash")
	noCoreDump()
}

// abortAfter returns a channel closed timeout after ctx ends, for
// reconcile.Options.Abort: a one-shot command stops as the daemon does,
// its requests in flight cut short at daemon.shutdown_timeout rather than
// waited for through their timeouts and retries. stop releases it.
func abortAfter(ctx context.Context, timeout time.Duration) (abort <-chan struct{}, stop func()) {
	ch := make(chan struct{})
	done := make(chan struct{})
	go func() {
		select {
		case <-done:
			return
		case <-ctx.Done():
		}
		t := time.NewTimer(timeout)
		defer t.Stop()
		select {
		case <-done:
		case <-t.C:
			close(ch)
		}
	}()
	return ch, func() { close(done) }
}
