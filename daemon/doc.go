// Package daemon runs syncd's jobs on their schedules as a long-running
// service: the cron scheduler, graceful shutdown, SIGHUP reload, the
// systemd notify protocol (READY, STOPPING, watchdog) and the HTTP
// endpoints /healthz, /readyz and /metrics.
//
// It knows nothing about syncing: a job is a name, a schedule and a RunFunc
// that runs it once. cmd/syncd wires the RunFunc to the reconcile engine.
//
// # Watches
//
// Daemon.Watch adds real-time jobs (jobs[].watch, watch.go): a source
// that tells when it changes, debounced into batches, each applied by a
// WatchRunFunc under the job's guard (a batch never overlaps the job's
// scheduled run; it waits, and one refused by another process's job lock
// is retried). A watch disconnected past its StaleAfter makes /readyz
// fail. With a Leaser (the state store's leases), one replica at a time
// watches a job; a standby is ready and takes over when the lease
// expires.
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
