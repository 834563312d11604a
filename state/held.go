package state

import (
	"context"
	"time"
)

// HeldDisable is a disable the watch's safety gate held (migration 00014):
// it is applied only by a run with --allow-mass-disable.
type HeldDisable struct {
	Anchor   string
	UserID   string
	Username string
	// Reason is why the disable was planned ("deleted in the source");
	// Gate why it was held.
	Reason string
	Gate   string
	// RunID is the run that held it; HeldAt when.
	RunID  int64
	HeldAt time.Time
}

// Held is the part of a store that keeps held disables and counts a job's
// recent writes for the watch's sliding-window gate. Both backends
// implement it.
type Held interface {
	// HoldDisables records hs for job (an anchor held already keeps its
	// first HeldAt and RunID).
	HoldDisables(ctx context.Context, job string, hs []HeldDisable) error
	// HeldDisables returns job's held disables, by anchor.
	HeldDisables(ctx context.Context, job string) ([]HeldDisable, error)
	// ReleaseHeld forgets the held disables of anchors (applied, or no
	// longer wanted).
	ReleaseHeld(ctx context.Context, job string, anchors []string) error
	// CountWrites counts job's journaled writes that succeeded at or after
	// since, by operation (OpDisable, OpEnable, OpCreate, ...).
	CountWrites(ctx context.Context, job string, since time.Time) (map[string]int, error)
}
