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

var _ state.Rejects = (*Store)(nil)

// rejectsUpsertSQL adds or replaces a batch of rejects given as parallel
// arrays; first_seen keeps the stored value.
const rejectsUpsertSQL = `
INSERT INTO rejects (job, key, anchor, pos, attribute, reason, first_seen, last_seen)
SELECT $1, u.key, u.anchor, u.pos, u.attribute, u.reason, u.first_seen, u.last_seen
  FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::timestamptz[], $8::timestamptz[])
       AS u(key, anchor, pos, attribute, reason, first_seen, last_seen)
ON CONFLICT (job, key) DO UPDATE SET anchor = EXCLUDED.anchor, pos = EXCLUDED.pos,
  attribute = EXCLUDED.attribute, reason = EXCLUDED.reason, last_seen = EXCLUDED.last_seen`

// SaveRejects records one run's rejects for job in one transaction.
func (s *Store) SaveRejects(ctx context.Context, job string, complete bool, rs []state.Reject, accepted []string) error {
	rs, err := batch.PrepareRejects(rs)
	if err != nil {
		return fmt.Errorf("state %s: save rejects job=%s: %w", s.name, job, err)
	}
	n := len(rs)
	keys, anchors, poss, attrs, reasons := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	firsts, lasts := make([]time.Time, n), make([]time.Time, n)
	for i, r := range rs {
		keys[i], anchors[i], poss[i], attrs[i], reasons[i] = state.RejectKey(r), r.Anchor, r.Pos, r.Attribute, r.Reason
		firsts[i], lasts[i] = r.FirstSeen.UTC(), r.LastSeen.UTC()
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		if complete {
			_, err = tx.Exec(ctx, `DELETE FROM rejects WHERE job = $1 AND NOT (key = ANY($2::text[]))`, job, keys)
		} else {
			_, err = tx.Exec(ctx, `DELETE FROM rejects WHERE job = $1 AND key = ANY($2::text[])`, job, batch.Dedupe(accepted))
		}
		if err != nil || n == 0 {
			return err
		}
		_, err = tx.Exec(ctx, rejectsUpsertSQL, job, keys, anchors, poss, attrs, reasons, firsts, lasts)
		return err
	})
	if err != nil {
		return s.wrap(fmt.Sprintf("save %d rejects job=%s (nothing written)", n, job), err)
	}
	return nil
}

// StandingRejects streams job's standing rejects, by anchor, anonymous last.
func (s *Store) StandingRejects(ctx context.Context, job string, fn func(state.Reject) error) error {
	rows, err := s.pool.Query(ctx, `SELECT anchor, pos, attribute, reason, first_seen, last_seen FROM rejects
		WHERE job = $1 ORDER BY anchor = '', anchor COLLATE "C", key COLLATE "C"`, job)
	if err != nil {
		return s.wrap("read rejects job="+job, err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			r           state.Reject
			first, last pgtype.Timestamptz
		)
		if err := rows.Scan(&r.Anchor, &r.Pos, &r.Attribute, &r.Reason, &first, &last); err != nil {
			return s.wrap("read rejects job="+job, err)
		}
		r.FirstSeen, r.LastSeen = first.Time.UTC(), last.Time.UTC()
		if err := fn(r); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return s.wrap("read rejects job="+job, err)
	}
	return nil
}

// CountRejects counts job's standing rejects.
func (s *Store) CountRejects(ctx context.Context, job string) (int, error) {
	var n int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM rejects WHERE job = $1`, job).Scan(&n); err != nil {
		return 0, s.wrap("count rejects job="+job, err)
	}
	return n, nil
}
