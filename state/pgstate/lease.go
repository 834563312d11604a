package pgstate

import (
	"context"
	"time"

	"github.com/syncd/syncd/state"
)

var _ state.Leaser = (*Store)(nil)

// AcquireLease implements state.Leaser in one statement on the server's
// clock: the upsert locks the lease's row, so of two replicas racing for
// a free or expired lease exactly one gets it, and the WHERE clause lets a
// holder renew its own lease and nobody take an unexpired one.
func (s *Store) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	if err := state.CheckLeaseArgs(name, holder, ttl); err != nil {
		return false, err
	}
	tag, err := s.pool.Exec(ctx, `
		INSERT INTO leases AS l (name, holder, acquired_at, expires_at)
		VALUES ($1, $2, now(), now() + $3::bigint * interval '1 microsecond')
		ON CONFLICT (name) DO UPDATE
		   SET holder = excluded.holder,
		       acquired_at = CASE WHEN l.holder = excluded.holder THEN l.acquired_at ELSE excluded.acquired_at END,
		       expires_at = excluded.expires_at
		 WHERE l.holder = excluded.holder OR l.expires_at <= now()`,
		name, holder, ttl.Microseconds())
	if err != nil {
		return false, s.wrap("acquire lease "+name+" holder="+holder, err)
	}
	return tag.RowsAffected() == 1, nil
}

// ReleaseLease implements state.Leaser.
func (s *Store) ReleaseLease(ctx context.Context, name, holder string) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM leases WHERE name = $1 AND holder = $2`, name, holder); err != nil {
		return s.wrap("release lease "+name+" holder="+holder, err)
	}
	return nil
}
