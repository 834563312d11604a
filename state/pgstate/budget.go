package pgstate

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/syncd/syncd/sink/pingone/budget"
	"github.com/syncd/syncd/state"
)

var _ state.BudgetPool = (*Store)(nil)

// Take implements budget.Pool on the pingone_budget table: one short
// transaction locks the environment's row and reserves the next slots by
// the server's clock.
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

// budgetTx runs fn on env's bucket (created full if missing) at the
// server's clock, and saves it, in one transaction.
func (s *Store) budgetTx(ctx context.Context, env string, rate float64, fn func(*budget.Bucket, time.Time)) error {
	if err := budget.CheckArgs(env, rate); err != nil {
		return err
	}
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var (
			b         budget.Bucket
			throttled *time.Time
			now       time.Time
		)
		read := func() error {
			return tx.QueryRow(ctx, `SELECT next_at, floor_rate, throttled_at, clock_timestamp()
				FROM pingone_budget WHERE environment = $1 FOR UPDATE`, env).
				Scan(&b.Next, &b.Floor, &throttled, &now)
		}
		err := read()
		if errors.Is(err, pgx.ErrNoRows) {
			_, err = tx.Exec(ctx, `INSERT INTO pingone_budget (environment, next_at)
				VALUES ($1, clock_timestamp() - $2::interval) ON CONFLICT (environment) DO NOTHING`,
				env, budget.BurstWindow)
			if err == nil {
				err = read()
			}
		}
		if err != nil {
			return err
		}
		if throttled != nil {
			b.Throttled = *throttled
		}
		fn(&b, now)
		throttled = nil
		if !b.Throttled.IsZero() {
			throttled = &b.Throttled
		}
		_, err = tx.Exec(ctx, `UPDATE pingone_budget SET next_at = $2, floor_rate = $3, throttled_at = $4
			WHERE environment = $1`, env, b.Next, b.Floor, throttled)
		return err
	})
}
