package sqlitestate

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/syncd/syncd/state"
	"github.com/syncd/syncd/state/internal/batch"
)

var _ state.Journal = (*Store)(nil)

// SaveJournaled upserts cps and appends entries for job in one transaction.
func (s *Store) SaveJournaled(ctx context.Context, job string, cps []state.Checkpoint, entries []state.JournalEntry) error {
	cps, err := batch.Prepare(cps)
	if err != nil {
		return fmt.Errorf("state %s: save checkpoints job=%s: %w", s.name, job, err)
	}
	if err := batch.CheckEntries(entries); err != nil {
		return fmt.Errorf("state %s: save journal job=%s: %w", s.name, job, err)
	}
	if len(cps) == 0 && len(entries) == 0 {
		return nil
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		if len(cps) > 0 {
			if err := upsertCheckpoints(ctx, tx, job, cps); err != nil {
				return err
			}
		}
		if len(entries) == 0 {
			return nil
		}
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO journal (run_id, job, anchor, user_id, group_id, op, before, after,
			status, correlation_id, error, at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)`)
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, e := range entries {
			if _, err := stmt.ExecContext(ctx, e.RunID, job, e.Anchor, e.UserID, e.GroupID, e.Op, text(e.Before), text(e.After),
				e.Status, e.CorrelationID, e.Error, micros(e.At)); err != nil {
				return fmt.Errorf("journal entry anchor=%s op=%s: %w", e.Anchor, e.Op, err)
			}
		}
		return nil
	})
	if err != nil {
		return s.wrap(fmt.Sprintf("save %d checkpoints and %d journal entries job=%s (nothing written)", len(cps), len(entries), job), err)
	}
	return nil
}

// text binds JSON bytes as TEXT, or NULL for nil.
func text(b []byte) any {
	if b == nil {
		return nil
	}
	return string(b)
}

// JournalEntries streams the entries f selects, oldest first.
func (s *Store) JournalEntries(ctx context.Context, f state.JournalFilter, fn func(state.JournalEntry) error) error {
	var (
		where []string
		args  []any
	)
	add := func(cond string, v any) { where = append(where, cond); args = append(args, v) }
	if f.Job != "" {
		add("job = ?", f.Job)
	}
	if f.RunID != 0 {
		add("run_id = ?", f.RunID)
	}
	if f.AfterRun != 0 {
		add("run_id > ?", f.AfterRun)
	}
	if f.Anchor != "" {
		add("anchor = ?", f.Anchor)
	}
	if !f.Since.IsZero() {
		add("at >= ?", f.Since.UnixMicro())
	}
	q := `SELECT id, run_id, job, anchor, user_id, group_id, op, before, after, status, correlation_id, error, at FROM journal`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	rows, err := s.r.QueryContext(ctx, q+" ORDER BY id", args...)
	if err != nil {
		return s.wrap("read journal", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			e             state.JournalEntry
			before, after sql.NullString
			at            int64
		)
		if err := rows.Scan(&e.ID, &e.RunID, &e.Job, &e.Anchor, &e.UserID, &e.GroupID, &e.Op, &before, &after,
			&e.Status, &e.CorrelationID, &e.Error, &at); err != nil {
			return s.wrap("read journal", err)
		}
		if before.Valid {
			e.Before = []byte(before.String)
		}
		if after.Valid {
			e.After = []byte(after.String)
		}
		e.At = batch.FromMicros(at)
		if err := fn(e); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return s.wrap("read journal", err)
	}
	return nil
}

// Run returns the run with id.
func (s *Store) Run(ctx context.Context, id int64) (state.Run, bool, error) {
	var (
		r                 state.Run
		started, finished sql.NullInt64
		status, counts    string
	)
	err := s.r.QueryRowContext(ctx, `SELECT id, job, mode, started_at, finished_at, status, counts, error FROM runs WHERE id = ?`, id).
		Scan(&r.ID, &r.Job, &r.Mode, &started, &finished, &status, &counts, &r.Error)
	if errors.Is(err, sql.ErrNoRows) {
		return state.Run{}, false, nil
	}
	if err != nil {
		return state.Run{}, false, s.wrap(fmt.Sprintf("read run %d", id), err)
	}
	r.StartedAt, r.FinishedAt, r.Status = fromMicros(started), fromMicros(finished), state.RunStatus(status)
	if err := json.Unmarshal([]byte(counts), &r.Counts); err != nil {
		return state.Run{}, false, fmt.Errorf("state %s: read run %d: counts: %w", s.name, id, err)
	}
	return r, true, nil
}

// Prune deletes journal entries and finished runs older than before.
func (s *Store) Prune(ctx context.Context, before time.Time) (entries, runs int64, err error) {
	us := before.UnixMicro()
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM journal WHERE at < ?`, us)
		if err != nil {
			return err
		}
		entries, _ = res.RowsAffected()
		res, err = tx.ExecContext(ctx, `DELETE FROM runs WHERE started_at < ? AND finished_at IS NOT NULL AND finished_at < ?`, us, us)
		if err != nil {
			return err
		}
		runs, _ = res.RowsAffected()
		return nil
	})
	if err != nil {
		return 0, 0, s.wrap("prune journal and runs", err)
	}
	return entries, runs, nil
}
