// Package daemon runs syncd's jobs on their schedules as a long-running
// service: the cron scheduler, graceful shutdown, SIGHUP reload, the
// systemd notify protocol (READY, STOPPING, watchdog) and the HTTP
// endpoints /healthz, /readyz and /metrics.
//
// It knows nothing about syncing: a job is a name, a schedule and a RunFunc
// that runs it once. cmd/syncd wires the RunFunc to the reconcile engine.
//
// # Failure policy
//
// A run that returns an error never stops the daemon. The error is logged
// once, at error level, with the job's name, and the job enters backoff:
// after n consecutive failures its scheduled ticks are skipped until
// BackoffBase·2^(n−1) (capped at BackoffMax) has passed since the failure.
// The first successful run resets the count. Backoff never makes a job run
// more often than its schedule: it only skips ticks. A run that returns
// state.ErrLocked (another replica holds the job's lock) is a skip, logged
// at info, and neither a failure nor a success. A panicking run is
// recovered and counts as a failure.
//
// # Shutdown
//
// When Run's context is cancelled (SIGTERM/SIGINT via Signals), the daemon
// tells systemd STOPPING=1, reports not-ready, stops scheduling, cancels the
// context of every run in flight (the engine finishes the batch it is
// applying, checkpoints it and returns), waits up to ShutdownTimeout for
// those runs, shuts the HTTP server down and returns. A run still in flight
// at ShutdownTimeout (PingOne stalls: each request would wait for its
// timeout and its retries) is cut short: Aborted closes, the engine
// cancels its requests and backoff waits, checkpoints what finished and
// records the run as stopped, and the daemon waits up to AbortWait more.
package daemon
