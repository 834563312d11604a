package sqlitestate

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/syncd/syncd/sink/pingone/budget"
	"github.com/syncd/syncd/state"
)

var _ state.BudgetPool = (*Store)(nil)

// Take implements budget.Pool on the pingone_budget table: every process
// on this host that shares the file shares the budget. Each reservation is
// one short write transaction (BEGIN IMMEDIATE) on the store's writer.
func (s *Store) Take(ctx context.Context, env string, rate float64, want int) (budget.Grant, error) {
	var g budget.Grant
	err := s.budgetTx(ctx, env, rate, func(b *budget.Bucket, now time.Time) { g = b.Take(now, rate, want) })
	if err != nil {
		return budget.Grant{}, s.wrap("take pingone budget environment="+env, err)
	}
	return g, nil
}

// Throttle implements budget.Pool.
func (s *Store) Throttle(ctx context.Context, env string, rate float64) (float64, error) {
	var eff float64
	err := s.budgetTx(ctx, env, rate, func(b *budget.Bucket, now time.Time) { eff = b.Throttle(now, rate) })
	if err != nil {
		return 0, s.wrap("throttle pingone budget environment="+env, err)
	}
	return eff, nil
}

// budgetTx runs fn on env's bucket (created full if missing) and saves
// it, in one write transaction. The clock is this host's: the processes
// sharing a SQLite file share the host.
func (s *Store) budgetTx(ctx context.Context, env string, rate float64, fn func(*budget.Bucket, time.Time)) error {
	if err := budget.CheckArgs(env, rate); err != nil {
		return err
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		now := time.Now()
		var (
			b               budget.Bucket
			next, throttled sql.NullInt64
		)
		err := tx.QueryRowContext(ctx, `SELECT next_at, floor_rate, throttled_at
			FROM pingone_budget WHERE environment = ?`, env).Scan(&next, &b.Floor, &throttled)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			b = budget.NewBucket(now)
		case err != nil:
			return err
		default:
			b.Next, b.Throttled = fromMicros(next), fromMicros(throttled)
		}
		fn(&b, now)
		var th any
		if !b.Throttled.IsZero() {
			th = b.Throttled.UnixMicro()
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO pingone_budget (environment, next_at, floor_rate, throttled_at)
			VALUES (?, ?, ?, ?)
			ON CONFLICT (environment) DO UPDATE SET next_at = excluded.next_at,
				floor_rate = excluded.floor_rate, throttled_at = excluded.throttled_at`,
			env, b.Next.UnixMicro(), b.Floor, th)
		return err
	})
}
