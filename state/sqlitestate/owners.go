package sqlitestate

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/syncd/syncd/state"
)

var _ state.Owners = (*Store)(nil)

// Jobs lists the jobs holding checkpoints, walking the primary key from one
// job to the next rather than reading every row.
func (s *Store) Jobs(ctx context.Context) ([]string, error) {
	rows, err := s.r.QueryContext(ctx, `WITH RECURSIVE j(job) AS (
		SELECT min(job) FROM checkpoints
		UNION ALL
		SELECT (SELECT min(job) FROM checkpoints WHERE job > j.job) FROM j WHERE j.job IS NOT NULL)
		SELECT job FROM j WHERE job IS NOT NULL`)
	if err != nil {
		return nil, s.wrap("list jobs", err)
	}
	defer rows.Close()
	var jobs []string
	for rows.Next() {
		var j string
		if err := rows.Scan(&j); err != nil {
			return nil, s.wrap("list jobs", err)
		}
		jobs = append(jobs, j)
	}
	if err := rows.Err(); err != nil {
		return nil, s.wrap("list jobs", err)
	}
	sort.Strings(jobs)
	return jobs, nil
}

// CheckpointsOfUsers streams job's checkpoints holding userIDs, forBatch
// ids a query, through the (job, user_id) index.
func (s *Store) CheckpointsOfUsers(ctx context.Context, job string, userIDs []string, fn func(state.Checkpoint) error) error {
	for len(userIDs) > 0 {
		n := min(len(userIDs), forBatch)
		list, err := json.Marshal(userIDs[:n])
		if err != nil {
			return fmt.Errorf("state %s: read checkpoints of users job=%s: %w", s.name, job, err)
		}
		err = s.checkpoints(ctx, job, fn, checkpointsSQL+` AND user_id <> '' AND user_id IN (SELECT value FROM json_each(?))`, job, string(list))
		if err != nil {
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
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		for old, nu := range renames {
			if old == nu || nu == "" {
				return fmt.Errorf("rename anchor %q to %q: want a different, non-empty anchor", old, nu)
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM checkpoints WHERE job = ? AND anchor = ?`, job, nu); err != nil {
				return fmt.Errorf("rename anchor %q: %w", old, err)
			}
			if _, err := tx.ExecContext(ctx, `UPDATE checkpoints SET anchor = ? WHERE job = ? AND anchor = ?`, nu, job, old); err != nil {
				return fmt.Errorf("rename anchor %q: %w", old, err)
			}
		}
		return nil
	})
	if err != nil {
		return s.wrap(fmt.Sprintf("rename %d anchors job=%s (nothing written)", len(renames), job), err)
	}
	return nil
}
