package state

import "context"

// CheckpointCounts summarises a job's checkpoints: what a run needs of the
// checkpoints it does not load (a delta run loads only those of the
// anchors its read carries).
type CheckpointCounts struct {
	// Total counts every checkpoint of the job.
	Total int
	// Active counts the checkpoints holding a PingOne user that syncd
	// left enabled (a user id, enabled), whatever their status: the
	// safety gate's base.
	Active int
	// Conflicts counts the checkpoints in StatusConflict.
	Conflicts int
}

// CheckpointCounter is implemented by stores that count a job's
// checkpoints without the caller streaming them.
type CheckpointCounter interface {
	// CountCheckpoints returns job's CheckpointCounts (zero for a job
	// without checkpoints).
	CountCheckpoints(ctx context.Context, job string) (CheckpointCounts, error)
}
