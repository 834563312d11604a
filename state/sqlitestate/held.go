package sqlitestate

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/syncd/syncd/state"
	"github.com/syncd/syncd/state/internal/batch"
)

var _ state.Held = (*Store)(nil)

// heldRow is one held disable as HoldDisables passes it in a JSON array.
type heldRow struct {
	Anchor   string `json:"a"`
	UserID   string `json:"i"`
	Username string `json:"u"`
	Reason   string `json:"r"`
	Gate     string `json:"g"`
	RunID    int64  `json:"n"`
	HeldAt   int64  `json:"t"`
}

// HoldDisables records held disables for job in one transaction.
func (s *Store) HoldDisables(ctx context.Context, job string, hs []state.HeldDisable) error {
	if len(hs) == 0 {
		return nil
	}
	rows := make([]heldRow, len(hs))
	for i, h := range hs {
		if h.Anchor == "" {
			return fmt.Errorf("state %s: hold disables job=%s: empty anchor", s.name, job)
		}
		at, _ := batch.Micros(h.HeldAt)
		rows[i] = heldRow{h.Anchor, h.UserID, h.Username, h.Reason, h.Gate, h.RunID, at}
	}
	b, err := json.Marshal(rows)
	if err != nil {
		return fmt.Errorf("state %s: hold disables job=%s: %w", s.name, job, err)
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO held_disables (job, anchor, user_id, username, reason, gate, run_id, held_at)
			SELECT ?, value->>'a', value->>'i', value->>'u', value->>'r', value->>'g', value->>'n', value->>'t'
			  FROM json_each(?) WHERE true
			ON CONFLICT (job, anchor) DO UPDATE SET user_id = excluded.user_id, username = excluded.username,
			  reason = excluded.reason, gate = excluded.gate`, job, string(b))
		return err
	})
	if err != nil {
		return s.wrap(fmt.Sprintf("hold %d disables job=%s (nothing written)", len(hs), job), err)
	}
	return nil
}

// HeldDisables returns job's held disables, by anchor.
func (s *Store) HeldDisables(ctx context.Context, job string) ([]state.HeldDisable, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT anchor, user_id, username, reason, gate, run_id, held_at
		FROM held_disables WHERE job = ? ORDER BY anchor`, job)
	if err != nil {
		return nil, s.wrap("read held disables job="+job, err)
	}
	defer rows.Close()
	var out []state.HeldDisable
	for rows.Next() {
		var (
			h  state.HeldDisable
			at sql.NullInt64
		)
		if err := rows.Scan(&h.Anchor, &h.UserID, &h.Username, &h.Reason, &h.Gate, &h.RunID, &at); err != nil {
			return nil, s.wrap("read held disables job="+job, err)
		}
		h.HeldAt = fromMicros(at)
		out = append(out, h)
	}
	if err := rows.Err(); err != nil {
		return nil, s.wrap("read held disables job="+job, err)
	}
	return out, nil
}

// ReleaseHeld forgets the held disables of anchors.
func (s *Store) ReleaseHeld(ctx context.Context, job string, anchors []string) error {
	if len(anchors) == 0 {
		return nil
	}
	b, err := json.Marshal(batch.Dedupe(anchors))
	if err != nil {
		return fmt.Errorf("state %s: release held disables job=%s: %w", s.name, job, err)
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM held_disables WHERE job = ? AND anchor IN (SELECT value FROM json_each(?))`, job, string(b))
		return err
	})
	if err != nil {
		return s.wrap(fmt.Sprintf("release %d held disables job=%s", len(anchors), job), err)
	}
	return nil
}

// CountWrites counts job's successful journaled writes since, by operation.
func (s *Store) CountWrites(ctx context.Context, job string, since time.Time) (map[string]int, error) {
	us, _ := batch.Micros(since)
	rows, err := s.r.QueryContext(ctx, `SELECT op, count(*) FROM journal
		WHERE job = ? AND at >= ? AND error = '' AND (status = 0 OR status BETWEEN 200 AND 299) GROUP BY op`, job, us)
	if err != nil {
		return nil, s.wrap("count writes job="+job, err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var (
			op string
			n  int
		)
		if err := rows.Scan(&op, &n); err != nil {
			return nil, s.wrap("count writes job="+job, err)
		}
		out[op] = n
	}
	if err := rows.Err(); err != nil {
		return nil, s.wrap("count writes job="+job, err)
	}
	return out, nil
}
