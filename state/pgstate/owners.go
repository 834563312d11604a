package pgstate

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/syncd/syncd/state"
)

var _ state.Owners = (*Store)(nil)

// Jobs lists the jobs holding checkpoints, walking the primary key from one
// job to the next rather than reading every row.
func (s *Store) Jobs(ctx context.Context) ([]string, error) {
	rows, err := s.pool.Query(ctx, `WITH RECURSIVE j(job) AS (
		SELECT min(job) FROM checkpoints
		UNION ALL
		SELECT (SELECT min(job) FROM checkpoints WHERE job > j.job) FROM j WHERE j.job IS NOT NULL)
		SELECT job FROM j WHERE job IS NOT NULL ORDER BY job`)
	if err != nil {
		return nil, s.wrap("list jobs", err)
	}
	jobs, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, s.wrap("list jobs", err)
	}
	return jobs, nil
}

// CheckpointsOfUsers streams job's checkpoints holding userIDs, forBatch
// ids a query, through the (job, user_id) index.
func (s *Store) CheckpointsOfUsers(ctx context.Context, job string, userIDs []string, fn func(state.Checkpoint) error) error {
	for len(userIDs) > 0 {
		n := min(len(userIDs), forBatch)
		if err := s.checkpoints(ctx, job, fn, checkpointsSQL+` AND user_id <> '' AND user_id = ANY($2::text[])`, job, userIDs[:n]); err != nil {
			return err
		}
		userIDs = userIDs[n:]
	}
	return nil
}

// RenameAnchors re-keys job's checkpoints in one transaction.
func (s *Store) RenameAnchors(ctx context.Context, job string, renames map[string]string) error {
	if len(renames) == 0 {
		return nil
	}
	olds, news := make([]string, 0, len(renames)), make([]string, 0, len(renames))
	for old, nu := range renames {
		if old == nu || nu == "" {
			return fmt.Errorf("state %s: rename anchor %q to %q: want a different, non-empty anchor", s.name, old, nu)
		}
		olds, news = append(olds, old), append(news, nu)
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM checkpoints WHERE job = $1 AND anchor = ANY($2::text[])`, job, news); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `UPDATE checkpoints c SET anchor = r.new
			  FROM unnest($2::text[], $3::text[]) AS r(old, new)
			 WHERE c.job = $1 AND c.anchor = r.old`, job, olds, news)
		return err
	})
	if err != nil {
		return s.wrap(fmt.Sprintf("rename %d anchors job=%s (nothing written)", len(renames), job), err)
	}
	return nil
}
