package sqlitestate

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/syncd/syncd/state"
	"github.com/syncd/syncd/state/internal/batch"
)

var _ state.Rejects = (*Store)(nil)

// rejectRow is one reject as SaveRejects passes it in a JSON array.
type rejectRow struct {
	Key       string `json:"k"`
	Anchor    string `json:"a"`
	Pos       string `json:"p"`
	Attribute string `json:"t"`
	Reason    string `json:"r"`
	FirstSeen int64  `json:"f"`
	LastSeen  int64  `json:"l"`
}

// SaveRejects records one run's rejects for job in one transaction.
func (s *Store) SaveRejects(ctx context.Context, job string, complete bool, rs []state.Reject, accepted []string) error {
	rs, err := batch.PrepareRejects(rs)
	if err != nil {
		return fmt.Errorf("state %s: save rejects job=%s: %w", s.name, job, err)
	}
	rows := make([]rejectRow, len(rs))
	keys := make([]string, len(rs))
	for i, r := range rs {
		first, _ := batch.Micros(r.FirstSeen)
		last, _ := batch.Micros(r.LastSeen)
		keys[i] = state.RejectKey(r)
		rows[i] = rejectRow{keys[i], r.Anchor, r.Pos, r.Attribute, r.Reason, first, last}
	}
	rowsJSON, err := json.Marshal(rows)
	if err != nil {
		return fmt.Errorf("state %s: save rejects job=%s: %w", s.name, job, err)
	}
	var gone []byte
	if complete {
		gone, err = json.Marshal(keys)
	} else {
		gone, err = json.Marshal(batch.Dedupe(accepted))
	}
	if err != nil {
		return fmt.Errorf("state %s: save rejects job=%s: %w", s.name, job, err)
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		del := `DELETE FROM rejects WHERE job = ? AND key IN (SELECT value FROM json_each(?))`
		if complete {
			del = `DELETE FROM rejects WHERE job = ? AND key NOT IN (SELECT value FROM json_each(?))`
		}
		if _, err := tx.ExecContext(ctx, del, job, string(gone)); err != nil {
			return err
		}
		if len(rows) == 0 {
			return nil
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO rejects (job, key, anchor, pos, attribute, reason, first_seen, last_seen)
			SELECT ?, value->>'k', value->>'a', value->>'p', value->>'t', value->>'r', value->>'f', value->>'l'
			  FROM json_each(?) WHERE true
			ON CONFLICT (job, key) DO UPDATE SET anchor = excluded.anchor, pos = excluded.pos,
			  attribute = excluded.attribute, reason = excluded.reason, last_seen = excluded.last_seen`, job, string(rowsJSON))
		return err
	})
	if err != nil {
		return s.wrap(fmt.Sprintf("save %d rejects job=%s (nothing written)", len(rs), job), err)
	}
	return nil
}

// StandingRejects streams job's standing rejects, by anchor, anonymous last.
func (s *Store) StandingRejects(ctx context.Context, job string, fn func(state.Reject) error) error {
	rows, err := s.r.QueryContext(ctx, `SELECT anchor, pos, attribute, reason, first_seen, last_seen FROM rejects
		WHERE job = ? ORDER BY anchor = '', anchor, key`, job)
	if err != nil {
		return s.wrap("read rejects job="+job, err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			r           state.Reject
			first, last sql.NullInt64
		)
		if err := rows.Scan(&r.Anchor, &r.Pos, &r.Attribute, &r.Reason, &first, &last); err != nil {
			return s.wrap("read rejects job="+job, err)
		}
		r.FirstSeen, r.LastSeen = fromMicros(first), fromMicros(last)
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
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM rejects WHERE job = ?`, job).Scan(&n); err != nil {
		return 0, s.wrap("count rejects job="+job, err)
	}
	return n, nil
}
