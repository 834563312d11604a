package state

import "context"

// Owners finds which job manages a PingOne user, across every job that
// shares the state database (DESIGN invariant 4: one owner per user). Both
// backends implement it; the engine asks before it takes a user it does
// not manage yet, and before it writes to one another job manages too.
type Owners interface {
	// Jobs lists the jobs that hold checkpoints, sorted.
	Jobs(ctx context.Context) ([]string, error)
	// CheckpointsOfUsers streams job's checkpoints that hold one of the
	// given PingOne user ids to fn, in no guaranteed order. An error from
	// fn stops the stream.
	CheckpointsOfUsers(ctx context.Context, job string, userIDs []string, fn func(Checkpoint) error) error
	// RenameAnchors re-keys job's checkpoints from old to new anchor
	// (renames maps old to new) in one transaction; a checkpoint already
	// at a new anchor is replaced. It moves checkpoints written before
	// anchors were normalised to their normal form.
	RenameAnchors(ctx context.Context, job string, renames map[string]string) error
}
