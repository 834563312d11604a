package pgstate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/syncd/syncd/state"
	"github.com/syncd/syncd/state/internal/batch"
)

var _ state.Journal = (*Store)(nil)

// journalSQL appends a batch of entries as parallel arrays.
const journalSQL = `
INSERT INTO journal (run_id, job, anchor, user_id, group_id, op, before, after, status, correlation_id, error, at)
SELECT u.run_id, $1, u.anchor, u.user_id, u.group_id, u.op, u.before, u.after, u.status, u.correlation_id, u.error, u.at
  FROM unnest($2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
              $9::integer[], $10::text[], $11::text[], $12::timestamptz[])
       WITH ORDINALITY AS u(run_id, anchor, user_id, group_id, op, before, after, status, correlation_id, error, at, n)
 ORDER BY u.n`

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
	n := len(entries)
	var (
		runIDs                                         = make([]int64, n)
		anchors, userIDs, groupIDs, ops, corrIDs, errs = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		befores, afters                                = make([]pgtype.Text, n), make([]pgtype.Text, n)
		statuses                                       = make([]int32, n)
		ats                                            = make([]time.Time, n)
	)
	for i, e := range entries {
		runIDs[i], anchors[i], userIDs[i], groupIDs[i], ops[i] = e.RunID, e.Anchor, e.UserID, e.GroupID, e.Op
		befores[i], afters[i] = pgtype.Text{String: string(e.Before), Valid: e.Before != nil}, pgtype.Text{String: string(e.After), Valid: e.After != nil}
		statuses[i], corrIDs[i], errs[i], ats[i] = int32(e.Status), e.CorrelationID, e.Error, e.At.UTC()
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if len(cps) > 0 {
			if _, err := tx.Exec(ctx, upsertSQL, upsertArgs(job, cps)...); err != nil {
				return err
			}
		}
		if n > 0 {
			if _, err := tx.Exec(ctx, journalSQL, job, runIDs, anchors, userIDs, groupIDs, ops, befores, afters, statuses, corrIDs, errs, ats); err != nil {
				return err
			}
		}
		return s.verifyLock(ctx, tx, job)
	})
	if err != nil {
		return s.wrap(fmt.Sprintf("save %d checkpoints and %d journal entries job=%s (nothing written)", len(cps), n, job), err)
	}
	return nil
}

// JournalEntries streams the entries f selects, oldest first.
func (s *Store) JournalEntries(ctx context.Context, f state.JournalFilter, fn func(state.JournalEntry) error) error {
	var (
		where []string
		args  []any
	)
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, fmt.Sprintf(cond, len(args)))
	}
	if f.Job != "" {
		add("job = $%d", f.Job)
	}
	if f.RunID != 0 {
		add("run_id = $%d", f.RunID)
	}
	if f.AfterRun != 0 {
		add("run_id > $%d", f.AfterRun)
	}
	if f.Anchor != "" {
		add("anchor = $%d", f.Anchor)
	}
	if !f.Since.IsZero() {
		add("at >= $%d", f.Since.UTC())
	}
	q := `SELECT id, run_id, job, anchor, user_id, group_id, op, before, after, status, correlation_id, error, at FROM journal`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	rows, err := s.pool.Query(ctx, q+" ORDER BY id", args...)
	if err != nil {
		return s.wrap("read journal", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			e             state.JournalEntry
			before, after pgtype.Text
			status        int32
		)
		if err := rows.Scan(&e.ID, &e.RunID, &e.Job, &e.Anchor, &e.UserID, &e.GroupID, &e.Op, &before, &after,
			&status, &e.CorrelationID, &e.Error, &e.At); err != nil {
			return s.wrap("read journal", err)
		}
		if before.Valid {
			e.Before = []byte(before.String)
		}
		if after.Valid {
			e.After = []byte(after.String)
		}
		e.Status, e.At = int(status), e.At.UTC()
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
		r        state.Run
		finished pgtype.Timestamptz
		status   string
		counts   []byte
	)
	err := s.pool.QueryRow(ctx, `SELECT id, job, mode, started_at, finished_at, status, counts, error FROM runs WHERE id = $1`, id).
		Scan(&r.ID, &r.Job, &r.Mode, &r.StartedAt, &finished, &status, &counts, &r.Error)
	if errors.Is(err, pgx.ErrNoRows) {
		return state.Run{}, false, nil
	}
	if err != nil {
		return state.Run{}, false, s.wrap(fmt.Sprintf("read run %d", id), err)
	}
	r.StartedAt, r.Status = r.StartedAt.UTC(), state.RunStatus(status)
	if finished.Valid {
		r.FinishedAt = finished.Time.UTC()
	}
	if err := json.Unmarshal(counts, &r.Counts); err != nil {
		return state.Run{}, false, fmt.Errorf("state %s: read run %d: counts: %w", s.name, id, err)
	}
	return r, true, nil
}

// Prune deletes journal entries and finished runs older than before.
func (s *Store) Prune(ctx context.Context, before time.Time) (entries, runs int64, err error) {
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM journal WHERE at < $1`, before.UTC())
		if err != nil {
			return err
		}
		entries = tag.RowsAffected()
		tag, err = tx.Exec(ctx, `DELETE FROM runs WHERE started_at < $1 AND finished_at < $1`, before.UTC())
		if err != nil {
			return err
		}
		runs = tag.RowsAffected()
		return nil
	})
	if err != nil {
		return 0, 0, s.wrap("prune journal and runs", err)
	}
	return entries, runs, nil
}
