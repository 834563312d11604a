package state

import (
	"context"
	"time"
)

// Deletes is the part of a store that finds the users a job may delete
// after a grace period (jobs[].deprovision.delete_after). Both backends
// implement it, from an index: a job that disabled many users over the
// years reads only those whose grace period has passed.
type Deletes interface {
	// DisabledBefore streams to fn the job's checkpoints of users syncd
	// disabled at or before before and that are still disabled (status
	// disabled, a user id), oldest disable first. An error from fn stops
	// the stream.
	DisabledBefore(ctx context.Context, job string, before time.Time, fn func(Checkpoint) error) error
}
