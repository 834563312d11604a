package state

import (
	"context"
	"time"
)

// Run statuses for runs that did not end by themselves.
const (
	// RunStopped: the run was stopped (SIGTERM, SIGINT, the daemon's
	// shutdown) after checkpointing everything it had applied.
	RunStopped RunStatus = "stopped"
	// RunAbandoned: the process running it ended without recording its end
	// (a crash, kill -9, a stop cut short at the shutdown timeout). Marked
	// when the job's lock is next taken.
	RunAbandoned RunStatus = "abandoned"
)

// AbandonedReason is the error recorded on an abandoned run.
const AbandonedReason = "the process running it ended without recording its end (crash, kill -9, or a stop cut short at the shutdown timeout); marked abandoned when the job was next locked"

// RunAbandoner is implemented by stores that can close the run records a
// dead process left "running". Its caller must hold the job's lock: then
// no live process can be running the job.
type RunAbandoner interface {
	// AbandonRuns marks the job's runs still "running" as RunAbandoned,
	// finished at at, and returns how many it marked.
	AbandonRuns(ctx context.Context, job string, at time.Time) (int64, error)
}
