package sqlitestate

import (
	"context"
	"database/sql"
	"errors"

	"github.com/syncd/syncd/state"
)

var _ state.CheckpointCounter = (*Store)(nil)

// CountCheckpoints implements state.CheckpointCounter: one row of
// checkpoint_counts, which triggers keep in step with every write to
// checkpoints (migration 00015).
func (s *Store) CountCheckpoints(ctx context.Context, job string) (state.CheckpointCounts, error) {
	var c state.CheckpointCounts
	err := s.r.QueryRowContext(ctx, `SELECT total, active, conflicts FROM checkpoint_counts WHERE job = ?`, job).Scan(&c.Total, &c.Active, &c.Conflicts)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return state.CheckpointCounts{}, s.wrap("count checkpoints job="+job, err)
	}
	return c, nil
}
