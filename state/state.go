package state

import (
	"context"
	"errors"
	"time"
)

// ErrLocked is returned by Store.Lock when another process holds the job's
// lock (DESIGN invariant 9: one writer per job).
var ErrLocked = errors.New("job lock held by another process")

// ErrSchemaTooNew is returned when the database schema was written by a newer
// syncd than this binary.
var ErrSchemaTooNew = errors.New("state schema is newer than this syncd binary")

// Status is the state of a managed object as syncd last left it.
type Status string

// Checkpoint statuses.
const (
	StatusActive   Status = "active"   // exists in PingOne, enabled by syncd
	StatusDisabled Status = "disabled" // disabled by syncd (left the source or its scope, or disabled there)
	StatusFailed   Status = "failed"   // the last operation on it failed; retried next run
	StatusConflict Status = "conflict" // PingOne holds a user syncd may not take over (e.g. username taken, no match rule)
	// StatusPending is a create whose intent was committed before its
	// request was sent and whose outcome is not recorded yet (syncd
	// stopped in between): the next run looks the user up by externalId
	// before it creates it again (DESIGN invariant 6).
	StatusPending Status = "pending"
	// StatusGone is a user deleted in PingOne outside syncd (a write to it
	// found 404); its user id is cleared.
	StatusGone Status = "gone"
)

// Checkpoint is what syncd knows of one managed user after its last applied
// change. The engine compares the desired user with it to plan a run.
type Checkpoint struct {
	Anchor       string
	UserID       string // PingOne user id; empty when the user was never created (failed create)
	Username     string
	PopulationID string
	Enabled      bool
	// Hash is the mapper's hash of the desired user last applied.
	Hash string
	// Attributes is a JSON object of the managed attribute values last
	// applied (PingOne attribute path -> value). Opaque to the store.
	Attributes []byte
	FirstSeen  time.Time
	LastSeen   time.Time
	LastSynced time.Time
	Status     Status
	LastError  string
	// Failures counts consecutive failed operations; reset on success.
	Failures int
	// DisabledAt is when syncd disabled the user (zero while it is
	// enabled, or when syncd never disabled it): a delete after a grace
	// period (jobs[].deprovision.delete_after) counts from it.
	DisabledAt time.Time
	// DeletedAt is when syncd deleted the user after its grace period:
	// the checkpoint then has status gone and no user id, and a record
	// coming back creates the user again under the same anchor.
	DeletedAt time.Time
}

// RunStatus is the outcome of a run.
type RunStatus string

// Run statuses.
const (
	RunRunning   RunStatus = "running"
	RunSucceeded RunStatus = "succeeded"
	RunFailed    RunStatus = "failed"
	RunGated     RunStatus = "gated" // stopped by the safety gate before any write
)

// Run records one run of one job.
type Run struct {
	ID         int64
	Job        string
	Mode       string // "full", "delta" or "dry-run"
	StartedAt  time.Time
	FinishedAt time.Time // zero while running
	Status     RunStatus
	// Counts per operation ("create", "update", "disable", ...) and result
	// ("failed", "rejected").
	Counts map[string]int
	Error  string
}

// Cursor is a job's position in its source.
type Cursor struct {
	// Value is opaque to the store: a syncrepl cookie, a USN watermark, a
	// timestamp, a file fingerprint.
	Value []byte
	// LastFullRead is when the last complete read of the source succeeded.
	LastFullRead time.Time
}

// Store is the state contract both backends implement.
type Store interface {
	// Migrate brings the schema to this binary's version. Concurrent callers
	// serialise; a schema newer than the binary gives ErrSchemaTooNew.
	Migrate(ctx context.Context) error
	// Ping checks the store is reachable (for /readyz and `validate --online`).
	Ping(ctx context.Context) error

	// Lock takes the job's exclusive lock, or returns ErrLocked at once when
	// another process holds it. The lock is released by calling unlock, or
	// automatically when the holder's connection or process dies.
	Lock(ctx context.Context, job string) (unlock func(context.Context) error, err error)

	// StartRun records a new run (Status running) and returns it with its ID.
	StartRun(ctx context.Context, run Run) (Run, error)
	// FinishRun records the end of a run: FinishedAt, Status, Counts, Error,
	// and Mode when set (a requested delta read may turn out complete).
	FinishRun(ctx context.Context, run Run) error
	// Runs returns the job's most recent runs, newest first ("" = all jobs).
	Runs(ctx context.Context, job string, limit int) ([]Run, error)

	// Checkpoints streams the job's checkpoints to fn, in no guaranteed
	// order, without holding them all in memory. An error from fn stops the
	// stream and is returned.
	Checkpoints(ctx context.Context, job string, fn func(Checkpoint) error) error
	// CheckpointsFor streams the job's checkpoints of the given anchors to
	// fn, in no guaranteed order; anchors without one are skipped. A run
	// that holds only a summary of every checkpoint fetches the few it
	// needs whole this way. An error from fn stops the stream.
	CheckpointsFor(ctx context.Context, job string, anchors []string, fn func(Checkpoint) error) error
	// SaveCheckpoints upserts a batch of checkpoints in one transaction with
	// set-based SQL: all are written or none is.
	SaveCheckpoints(ctx context.Context, job string, cps []Checkpoint) error
	// DeleteCheckpoints removes the job's checkpoints for the given anchors
	// in one transaction (used by purge and state rebuild).
	DeleteCheckpoints(ctx context.Context, job string, anchors []string) error
	// CountByStatus returns how many checkpoints the job has in each status.
	CountByStatus(ctx context.Context, job string) (map[Status]int, error)

	// Cursor returns the job's cursor; the zero Cursor when none was saved.
	Cursor(ctx context.Context, job string) (Cursor, error)
	// SetCursor saves the job's cursor.
	SetCursor(ctx context.Context, job string, c Cursor) error

	// Close releases the store's connections (and any lock still held).
	Close() error
}
