package pgstate

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/syncd/syncd/state"
)

var _ state.CheckpointCounter = (*Store)(nil)

// CountCheckpoints implements state.CheckpointCounter: one row of
// checkpoint_counts, which triggers keep in step with every write to
// checkpoints (migration 00015).
func (s *Store) CountCheckpoints(ctx context.Context, job string) (state.CheckpointCounts, error) {
	var total, active, conflicts int64
	err := s.pool.QueryRow(ctx, `SELECT total, active, conflicts FROM checkpoint_counts WHERE job = $1`, job).Scan(&total, &active, &conflicts)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return state.CheckpointCounts{}, s.wrap("count checkpoints job="+job, err)
	}
	return state.CheckpointCounts{Total: int(total), Active: int(active), Conflicts: int(conflicts)}, nil
}
