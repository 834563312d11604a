package sqlitestate

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/syncd/syncd/state"
	"github.com/syncd/syncd/state/internal/batch"
)

var _ state.GroupStore = (*Store)(nil)

// GroupCheckpoints streams the job's group checkpoints.
func (s *Store) GroupCheckpoints(ctx context.Context, job string, fn func(state.GroupCheckpoint) error) error {
	rows, err := s.r.QueryContext(ctx, `SELECT anchor, group_id, name, description, population_id, adopted, status,
		last_error, members, first_seen, last_synced FROM group_checkpoints WHERE job = ? ORDER BY anchor`, job)
	if err != nil {
		return s.wrap("read group checkpoints job="+job, err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			g             state.GroupCheckpoint
			status        string
			first, synced sql.NullInt64
		)
		if err := rows.Scan(&g.Anchor, &g.GroupID, &g.Name, &g.Description, &g.PopulationID, &g.Adopted, &status,
			&g.LastError, &g.Members, &first, &synced); err != nil {
			return s.wrap("read group checkpoints job="+job, err)
		}
		g.Status, g.FirstSeen, g.LastSynced = state.GroupStatus(status), fromMicros(first), fromMicros(synced)
		if err := fn(g); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return s.wrap("read group checkpoints job="+job, err)
	}
	return nil
}

// Memberships streams the job's memberships, by group, nesting, member.
func (s *Store) Memberships(ctx context.Context, job string, fn func(state.Membership) error) error {
	rows, err := s.r.QueryContext(ctx, `SELECT group_anchor, nested, member, preexisting, pending, since FROM memberships
		WHERE job = ? ORDER BY group_anchor, nested, member`, job)
	if err != nil {
		return s.wrap("read memberships job="+job, err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			m     state.Membership
			since sql.NullInt64
		)
		if err := rows.Scan(&m.Group, &m.Nested, &m.Member, &m.Preexisting, &m.Pending, &since); err != nil {
			return s.wrap("read memberships job="+job, err)
		}
		m.Since = fromMicros(since)
		if err := fn(m); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return s.wrap("read memberships job="+job, err)
	}
	return nil
}

// SaveGroups writes b in one transaction.
func (s *Store) SaveGroups(ctx context.Context, job string, b state.GroupBatch) error {
	if err := b.Validate(); err != nil {
		return fmt.Errorf("state %s: save groups job=%s: %w", s.name, job, err)
	}
	if err := batch.CheckEntries(b.Journal); err != nil {
		return fmt.Errorf("state %s: save groups job=%s: journal: %w", s.name, job, err)
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := execEach(ctx, tx, `INSERT INTO group_checkpoints (job, anchor, group_id, name, description, population_id,
			adopted, status, last_error, members, first_seen, last_synced) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)
			ON CONFLICT (job, anchor) DO UPDATE SET group_id = excluded.group_id, name = excluded.name,
			description = excluded.description, population_id = excluded.population_id, adopted = excluded.adopted,
			status = excluded.status, last_error = excluded.last_error, members = excluded.members,
			first_seen = COALESCE(group_checkpoints.first_seen, excluded.first_seen), last_synced = excluded.last_synced`,
			len(b.Groups), func(i int) []any {
				g := b.Groups[i]
				return []any{job, g.Anchor, g.GroupID, g.Name, g.Description, g.PopulationID, g.Adopted, string(g.Status),
					g.LastError, g.Members, micros(g.FirstSeen), micros(g.LastSynced)}
			}); err != nil {
			return fmt.Errorf("group checkpoint: %w", err)
		}
		for _, q := range []string{`DELETE FROM memberships WHERE job = ? AND group_anchor = ?`, `DELETE FROM group_checkpoints WHERE job = ? AND anchor = ?`} {
			if err := execEach(ctx, tx, q, len(b.DropGroups), func(i int) []any { return []any{job, b.DropGroups[i]} }); err != nil {
				return fmt.Errorf("drop group: %w", err)
			}
		}
		if err := execEach(ctx, tx, `DELETE FROM memberships WHERE job = ? AND group_anchor = ? AND nested = ? AND member = ?`,
			len(b.Remove), func(i int) []any { m := b.Remove[i]; return []any{job, m.Group, m.Nested, m.Member} }); err != nil {
			return fmt.Errorf("remove membership: %w", err)
		}
		if err := execEach(ctx, tx, `INSERT INTO memberships (job, group_anchor, nested, member, preexisting, pending, since) VALUES (?,?,?,?,?,?,?)
			ON CONFLICT (job, group_anchor, nested, member) DO UPDATE SET preexisting = excluded.preexisting, pending = excluded.pending`,
			len(b.Add), func(i int) []any {
				m := b.Add[i]
				return []any{job, m.Group, m.Nested, m.Member, m.Preexisting, m.Pending, micros(m.Since)}
			}); err != nil {
			return fmt.Errorf("add membership: %w", err)
		}
		return execEach(ctx, tx, `INSERT INTO journal (run_id, job, anchor, user_id, group_id, op, before, after,
			status, correlation_id, error, at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)`, len(b.Journal), func(i int) []any {
			e := b.Journal[i]
			return []any{e.RunID, job, e.Anchor, e.UserID, e.GroupID, e.Op, text(e.Before), text(e.After),
				e.Status, e.CorrelationID, e.Error, micros(e.At)}
		})
	})
	if err != nil {
		return s.wrap(fmt.Sprintf("save %d groups, %d memberships added, %d removed job=%s (nothing written)",
			len(b.Groups), len(b.Add), len(b.Remove), job), err)
	}
	return nil
}

// execEach runs one prepared statement n times.
func execEach(ctx context.Context, tx *sql.Tx, query string, n int, args func(int) []any) error {
	if n == 0 {
		return nil
	}
	stmt, err := tx.PrepareContext(ctx, query)
	if err != nil {
		return err
	}
	defer stmt.Close()
	for i := 0; i < n; i++ {
		if _, err := stmt.ExecContext(ctx, args(i)...); err != nil {
			return err
		}
	}
	return nil
}

// UserNames streams the job's user name index.
func (s *Store) UserNames(ctx context.Context, job string, fn func(state.UserName) error) error {
	rows, err := s.r.QueryContext(ctx, `SELECT anchor, dn, uid, population, username FROM user_names WHERE job = ? ORDER BY anchor`, job)
	if err != nil {
		return s.wrap("read user names job="+job, err)
	}
	defer rows.Close()
	for rows.Next() {
		var u state.UserName
		if err := rows.Scan(&u.Anchor, &u.DN, &u.UID, &u.Population, &u.Username); err != nil {
			return s.wrap("read user names job="+job, err)
		}
		if err := fn(u); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return s.wrap("read user names job="+job, err)
	}
	return nil
}

// SaveUserNames updates the index in one transaction.
func (s *Store) SaveUserNames(ctx context.Context, job string, replace bool, set []state.UserName, drop []string) error {
	for _, u := range set {
		if u.Anchor == "" {
			return fmt.Errorf("state %s: save user names job=%s: empty anchor", s.name, job)
		}
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if replace {
			if _, err := tx.ExecContext(ctx, `DELETE FROM user_names WHERE job = ?`, job); err != nil {
				return err
			}
		}
		if err := execEach(ctx, tx, `DELETE FROM user_names WHERE job = ? AND anchor = ?`, len(drop), func(i int) []any { return []any{job, drop[i]} }); err != nil {
			return err
		}
		return execEach(ctx, tx, `INSERT INTO user_names (job, anchor, dn, uid, population, username) VALUES (?,?,?,?,?,?)
			ON CONFLICT (job, anchor) DO UPDATE SET dn = excluded.dn, uid = excluded.uid, population = excluded.population, username = excluded.username`,
			len(set), func(i int) []any { u := set[i]; return []any{job, u.Anchor, u.DN, u.UID, u.Population, u.Username} })
	})
	if err != nil {
		return s.wrap(fmt.Sprintf("save %d user names job=%s (nothing written)", len(set), job), err)
	}
	return nil
}
