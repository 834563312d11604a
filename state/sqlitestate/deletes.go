package sqlitestate

import (
	"context"
	"time"

	"github.com/syncd/syncd/state"
)

var _ state.Deletes = (*Store)(nil)

// DisabledBefore streams job's checkpoints of users syncd disabled at or
// before before and that are still disabled, oldest disable first, from
// checkpoints_job_disabled_idx.
func (s *Store) DisabledBefore(ctx context.Context, job string, before time.Time, fn func(state.Checkpoint) error) error {
	return s.checkpoints(ctx, job, fn, disabledBeforeSQL, job, micros(before))
}

// disabledBeforeSQL reads the delete candidates; "disabled_at IS NOT NULL"
// lets SQLite use the partial index.
const disabledBeforeSQL = checkpointsSQL + ` AND disabled_at IS NOT NULL AND disabled_at <= ?
	    AND status = 'disabled' AND user_id <> '' AND enabled = 0 ORDER BY disabled_at, anchor`
