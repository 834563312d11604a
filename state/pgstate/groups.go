package pgstate

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/syncd/syncd/state"
	"github.com/syncd/syncd/state/internal/batch"
)

var _ state.GroupStore = (*Store)(nil)

// GroupCheckpoints streams the job's group checkpoints.
func (s *Store) GroupCheckpoints(ctx context.Context, job string, fn func(state.GroupCheckpoint) error) error {
	rows, err := s.pool.Query(ctx, `SELECT anchor, group_id, name, description, population_id, adopted, status,
		last_error, members, first_seen, last_synced FROM group_checkpoints WHERE job = $1 ORDER BY anchor`, job)
	if err != nil {
		return s.wrap("read group checkpoints job="+job, err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			g             state.GroupCheckpoint
			status        string
			members       int32
			first, synced pgtype.Timestamptz
		)
		if err := rows.Scan(&g.Anchor, &g.GroupID, &g.Name, &g.Description, &g.PopulationID, &g.Adopted, &status,
			&g.LastError, &members, &first, &synced); err != nil {
			return s.wrap("read group checkpoints job="+job, err)
		}
		g.Status, g.Members, g.FirstSeen, g.LastSynced = state.GroupStatus(status), int(members), tsTime(first), tsTime(synced)
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
	rows, err := s.pool.Query(ctx, `SELECT group_anchor, nested, member, preexisting, pending, since FROM memberships
		WHERE job = $1 ORDER BY group_anchor COLLATE "C", nested, member COLLATE "C"`, job)
	if err != nil {
		return s.wrap("read memberships job="+job, err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			m     state.Membership
			since pgtype.Timestamptz
		)
		if err := rows.Scan(&m.Group, &m.Nested, &m.Member, &m.Preexisting, &m.Pending, &since); err != nil {
			return s.wrap("read memberships job="+job, err)
		}
		m.Since = tsTime(since)
		if err := fn(m); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return s.wrap("read memberships job="+job, err)
	}
	return nil
}

const upsertGroupsSQL = `
INSERT INTO group_checkpoints AS g (job, anchor, group_id, name, description, population_id, adopted, status,
                                    last_error, members, first_seen, last_synced)
SELECT DISTINCT ON (u.anchor) $1, u.anchor, u.group_id, u.name, u.description, u.population_id, u.adopted, u.status,
       u.last_error, u.members, u.first_seen, u.last_synced
  FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::boolean[], $8::text[], $9::text[],
              $10::integer[], $11::timestamptz[], $12::timestamptz[])
       WITH ORDINALITY AS u(anchor, group_id, name, description, population_id, adopted, status, last_error,
                            members, first_seen, last_synced, n)
 ORDER BY u.anchor, u.n DESC
ON CONFLICT (job, anchor) DO UPDATE SET
    group_id = EXCLUDED.group_id, name = EXCLUDED.name, description = EXCLUDED.description,
    population_id = EXCLUDED.population_id, adopted = EXCLUDED.adopted, status = EXCLUDED.status,
    last_error = EXCLUDED.last_error, members = EXCLUDED.members,
    first_seen = COALESCE(g.first_seen, EXCLUDED.first_seen), last_synced = EXCLUDED.last_synced`

const addMembershipsSQL = `
INSERT INTO memberships (job, group_anchor, nested, member, preexisting, pending, since)
SELECT DISTINCT ON (u.g, u.nested, u.m) $1, u.g, u.nested, u.m, u.pre, u.pending, u.since
  FROM unnest($2::text[], $3::boolean[], $4::text[], $5::boolean[], $6::boolean[], $7::timestamptz[])
       WITH ORDINALITY AS u(g, nested, m, pre, pending, since, n)
 ORDER BY u.g, u.nested, u.m, u.n DESC
ON CONFLICT (job, group_anchor, nested, member) DO UPDATE SET preexisting = EXCLUDED.preexisting, pending = EXCLUDED.pending`

const removeMembershipsSQL = `
DELETE FROM memberships AS m USING unnest($2::text[], $3::boolean[], $4::text[]) AS u(g, nested, member)
 WHERE m.job = $1 AND m.group_anchor = u.g AND m.nested = u.nested AND m.member = u.member`

// SaveGroups writes b in one transaction, each part in one statement.
func (s *Store) SaveGroups(ctx context.Context, job string, b state.GroupBatch) error {
	if err := b.Validate(); err != nil {
		return fmt.Errorf("state %s: save groups job=%s: %w", s.name, job, err)
	}
	if err := batch.CheckEntries(b.Journal); err != nil {
		return fmt.Errorf("state %s: save groups job=%s: journal: %w", s.name, job, err)
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if n := len(b.Groups); n > 0 {
			var (
				anchors, ids, names, descs, pops, statuses, errs = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
				adopted                                          = make([]bool, n)
				members                                          = make([]int32, n)
				first, synced                                    = make([]pgtype.Timestamptz, n), make([]pgtype.Timestamptz, n)
			)
			for i, g := range b.Groups {
				anchors[i], ids[i], names[i], descs[i], pops[i] = g.Anchor, g.GroupID, g.Name, g.Description, g.PopulationID
				statuses[i], errs[i], adopted[i], members[i] = string(g.Status), g.LastError, g.Adopted, int32(min(g.Members, 1<<31-1))
				first[i], synced[i] = ts(g.FirstSeen), ts(g.LastSynced)
			}
			if _, err := tx.Exec(ctx, upsertGroupsSQL, job, anchors, ids, names, descs, pops, adopted, statuses, errs, members, first, synced); err != nil {
				return fmt.Errorf("group checkpoints: %w", err)
			}
		}
		if len(b.DropGroups) > 0 {
			if _, err := tx.Exec(ctx, `DELETE FROM memberships WHERE job = $1 AND group_anchor = ANY($2::text[])`, job, b.DropGroups); err != nil {
				return fmt.Errorf("drop groups: %w", err)
			}
			if _, err := tx.Exec(ctx, `DELETE FROM group_checkpoints WHERE job = $1 AND anchor = ANY($2::text[])`, job, b.DropGroups); err != nil {
				return fmt.Errorf("drop groups: %w", err)
			}
		}
		if len(b.Remove) > 0 {
			gs, nested, ms := membershipArrays(b.Remove)
			if _, err := tx.Exec(ctx, removeMembershipsSQL, job, gs, nested, ms); err != nil {
				return fmt.Errorf("remove memberships: %w", err)
			}
		}
		if len(b.Add) > 0 {
			gs, nested, ms := membershipArrays(b.Add)
			pre, pending, since := make([]bool, len(b.Add)), make([]bool, len(b.Add)), make([]pgtype.Timestamptz, len(b.Add))
			for i, m := range b.Add {
				pre[i], pending[i], since[i] = m.Preexisting, m.Pending, ts(m.Since)
			}
			if _, err := tx.Exec(ctx, addMembershipsSQL, job, gs, nested, ms, pre, pending, since); err != nil {
				return fmt.Errorf("add memberships: %w", err)
			}
		}
		if n := len(b.Journal); n > 0 {
			var (
				runIDs                                         = make([]int64, n)
				anchors, userIDs, groupIDs, ops, corrIDs, errs = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
				befores, afters                                = make([]pgtype.Text, n), make([]pgtype.Text, n)
				statuses                                       = make([]int32, n)
				ats                                            = make([]time.Time, n)
			)
			for i, e := range b.Journal {
				runIDs[i], anchors[i], userIDs[i], groupIDs[i], ops[i] = e.RunID, e.Anchor, e.UserID, e.GroupID, e.Op
				befores[i], afters[i] = pgtype.Text{String: string(e.Before), Valid: e.Before != nil}, pgtype.Text{String: string(e.After), Valid: e.After != nil}
				statuses[i], corrIDs[i], errs[i], ats[i] = int32(e.Status), e.CorrelationID, e.Error, e.At.UTC()
			}
			if _, err := tx.Exec(ctx, journalSQL, job, runIDs, anchors, userIDs, groupIDs, ops, befores, afters, statuses, corrIDs, errs, ats); err != nil {
				return fmt.Errorf("journal: %w", err)
			}
		}
		return s.verifyLock(ctx, tx, job)
	})
	if err != nil {
		return s.wrap(fmt.Sprintf("save %d groups, %d memberships added, %d removed job=%s (nothing written)",
			len(b.Groups), len(b.Add), len(b.Remove), job), err)
	}
	return nil
}

func membershipArrays(ms []state.Membership) (groups []string, nested []bool, members []string) {
	groups, nested, members = make([]string, len(ms)), make([]bool, len(ms)), make([]string, len(ms))
	for i, m := range ms {
		groups[i], nested[i], members[i] = m.Group, m.Nested, m.Member
	}
	return groups, nested, members
}

// UserNames streams the job's user name index.
func (s *Store) UserNames(ctx context.Context, job string, fn func(state.UserName) error) error {
	rows, err := s.pool.Query(ctx, `SELECT anchor, dn, uid, population, username FROM user_names WHERE job = $1 ORDER BY anchor COLLATE "C"`, job)
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

// SaveUserNames updates the index in one transaction, set-based.
func (s *Store) SaveUserNames(ctx context.Context, job string, replace bool, set []state.UserName, drop []string) error {
	n := len(set)
	anchors, dns, uids, pops, names := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	for i, u := range set {
		if u.Anchor == "" {
			return fmt.Errorf("state %s: save user names job=%s: empty anchor", s.name, job)
		}
		anchors[i], dns[i], uids[i], pops[i], names[i] = u.Anchor, u.DN, u.UID, u.Population, u.Username
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if replace {
			if _, err := tx.Exec(ctx, `DELETE FROM user_names WHERE job = $1`, job); err != nil {
				return err
			}
		}
		if len(drop) > 0 {
			if _, err := tx.Exec(ctx, `DELETE FROM user_names WHERE job = $1 AND anchor = ANY($2::text[])`, job, drop); err != nil {
				return err
			}
		}
		if n == 0 {
			return nil
		}
		_, err := tx.Exec(ctx, `INSERT INTO user_names (job, anchor, dn, uid, population, username)
			SELECT DISTINCT ON (u.a) $1, u.a, u.dn, u.uid, u.pop, u.name
			  FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[]) WITH ORDINALITY AS u(a, dn, uid, pop, name, n)
			 ORDER BY u.a, u.n DESC
			ON CONFLICT (job, anchor) DO UPDATE SET dn = EXCLUDED.dn, uid = EXCLUDED.uid, population = EXCLUDED.population, username = EXCLUDED.username`,
			job, anchors, dns, uids, pops, names)
		return err
	})
	if err != nil {
		return s.wrap(fmt.Sprintf("save %d user names job=%s (nothing written)", n, job), err)
	}
	return nil
}
