package pgstate

import (
	"context"

	"github.com/syncd/syncd/state"
)

var _ state.CheckpointCounter = (*Store)(nil)

// CountCheckpoints implements state.CheckpointCounter.
func (s *Store) CountCheckpoints(ctx context.Context, job string) (state.CheckpointCounts, error) {
	var total, active, conflicts int64
	err := s.pool.QueryRow(ctx, `
		SELECT count(*), count(*) FILTER (WHERE user_id <> '' AND enabled), count(*) FILTER (WHERE status = 'conflict')
		  FROM checkpoints WHERE job = $1`, job).Scan(&total, &active, &conflicts)
	if err != nil {
		return state.CheckpointCounts{}, s.wrap("count checkpoints job="+job, err)
	}
	return state.CheckpointCounts{Total: int(total), Active: int(active), Conflicts: int(conflicts)}, nil
}
