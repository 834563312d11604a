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

var _ state.Held = (*Store)(nil)

// HoldDisables records held disables for job in one statement.
func (s *Store) HoldDisables(ctx context.Context, job string, hs []state.HeldDisable) error {
	n := len(hs)
	if n == 0 {
		return nil
	}
	anchors, ids, names, reasons, gates := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	runs, ats := make([]int64, n), make([]time.Time, n)
	for i, h := range hs {
		if h.Anchor == "" {
			return fmt.Errorf("state %s: hold disables job=%s: empty anchor", s.name, job)
		}
		anchors[i], ids[i], names[i], reasons[i], gates[i] = h.Anchor, h.UserID, h.Username, h.Reason, h.Gate
		runs[i], ats[i] = h.RunID, h.HeldAt.UTC()
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO held_disables (job, anchor, user_id, username, reason, gate, run_id, held_at)
		SELECT $1, u.anchor, u.user_id, u.username, u.reason, u.gate, u.run_id, u.held_at
		  FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[], $8::timestamptz[])
		       AS u(anchor, user_id, username, reason, gate, run_id, held_at)
		ON CONFLICT (job, anchor) DO UPDATE SET user_id = EXCLUDED.user_id, username = EXCLUDED.username,
		  reason = EXCLUDED.reason, gate = EXCLUDED.gate`, job, anchors, ids, names, reasons, gates, runs, ats)
	if err != nil {
		return s.wrap(fmt.Sprintf("hold %d disables job=%s (nothing written)", n, job), err)
	}
	return nil
}

// HeldDisables returns job's held disables, by anchor.
func (s *Store) HeldDisables(ctx context.Context, job string) ([]state.HeldDisable, error) {
	rows, err := s.pool.Query(ctx, `SELECT anchor, user_id, username, reason, gate, run_id, held_at
		FROM held_disables WHERE job = $1 ORDER BY anchor COLLATE "C"`, job)
	if err != nil {
		return nil, s.wrap("read held disables job="+job, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (state.HeldDisable, error) {
		var (
			h  state.HeldDisable
			at pgtype.Timestamptz
		)
		err := r.Scan(&h.Anchor, &h.UserID, &h.Username, &h.Reason, &h.Gate, &h.RunID, &at)
		h.HeldAt = at.Time.UTC()
		return h, err
	})
	if err != nil {
		return nil, s.wrap("read held disables job="+job, err)
	}
	return out, nil
}

// ReleaseHeld forgets the held disables of anchors.
func (s *Store) ReleaseHeld(ctx context.Context, job string, anchors []string) error {
	if len(anchors) == 0 {
		return nil
	}
	if _, err := s.pool.Exec(ctx, `DELETE FROM held_disables WHERE job = $1 AND anchor = ANY($2::text[])`, job, batch.Dedupe(anchors)); err != nil {
		return s.wrap(fmt.Sprintf("release %d held disables job=%s", len(anchors), job), err)
	}
	return nil
}

// CountWrites counts job's successful journaled writes since, by operation.
func (s *Store) CountWrites(ctx context.Context, job string, since time.Time) (map[string]int, error) {
	rows, err := s.pool.Query(ctx, `SELECT op, count(*) FROM journal
		WHERE job = $1 AND at >= $2 AND error = '' AND (status = 0 OR status BETWEEN 200 AND 299) GROUP BY op`, job, since.UTC())
	if err != nil {
		return nil, s.wrap("count writes job="+job, err)
	}
	out := map[string]int{}
	var (
		op string
		n  int
	)
	_, err = pgx.ForEachRow(rows, []any{&op, &n}, func() error {
		out[op] = n
		return nil
	})
	if err != nil {
		return nil, s.wrap("count writes job="+job, err)
	}
	return out, nil
}
