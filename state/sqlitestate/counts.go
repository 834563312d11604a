package sqlitestate

import (
	"context"

	"github.com/syncd/syncd/state"
)

var _ state.CheckpointCounter = (*Store)(nil)

// CountCheckpoints implements state.CheckpointCounter.
func (s *Store) CountCheckpoints(ctx context.Context, job string) (state.CheckpointCounts, error) {
	var c state.CheckpointCounts
	err := s.r.QueryRowContext(ctx, `
		SELECT count(*), coalesce(sum(user_id <> '' AND enabled), 0), coalesce(sum(status = 'conflict'), 0)
		  FROM checkpoints WHERE job = ?`, job).Scan(&c.Total, &c.Active, &c.Conflicts)
	if err != nil {
		return state.CheckpointCounts{}, s.wrap("count checkpoints job="+job, err)
	}
	return c, nil
}
