package pgstate

import (
	"context"
	"time"

	"github.com/syncd/syncd/state"
)

var _ state.RunAbandoner = (*Store)(nil)

// AbandonRuns marks job's runs still "running" as abandoned.
func (s *Store) AbandonRuns(ctx context.Context, job string, at time.Time) (int64, error) {
	tag, err := s.pool.Exec(ctx,
		`UPDATE runs SET status = $2, finished_at = $3, error = CASE WHEN error = '' THEN $4 ELSE error END
		 WHERE job = $1 AND status = $5`,
		job, string(state.RunAbandoned), at.UTC(), state.AbandonedReason, string(state.RunRunning))
	if err != nil {
		return 0, s.wrap("mark abandoned runs job="+job, err)
	}
	return tag.RowsAffected(), nil
}
