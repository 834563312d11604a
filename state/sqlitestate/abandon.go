package sqlitestate

import (
	"context"
	"time"

	"github.com/syncd/syncd/state"
)

var _ state.RunAbandoner = (*Store)(nil)

// AbandonRuns marks job's runs still "running" as abandoned.
func (s *Store) AbandonRuns(ctx context.Context, job string, at time.Time) (int64, error) {
	res, err := s.w.ExecContext(ctx,
		`UPDATE runs SET status = ?, finished_at = ?, error = CASE WHEN error = '' THEN ? ELSE error END
		 WHERE job = ? AND status = ?`,
		string(state.RunAbandoned), micros(at), state.AbandonedReason, job, string(state.RunRunning))
	if err != nil {
		return 0, s.wrap("mark abandoned runs job="+job, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, s.wrap("mark abandoned runs job="+job, err)
	}
	return n, nil
}
