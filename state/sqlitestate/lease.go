package sqlitestate

import (
	"context"
	"time"

	"github.com/syncd/syncd/state"
)

var _ state.Leaser = (*Store)(nil)

// AcquireLease implements state.Leaser in one statement on the store's
// writer (SQLite serialises writers across processes), on this host's
// clock: the processes sharing a SQLite file share the host.
func (s *Store) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	if err := state.CheckLeaseArgs(name, holder, ttl); err != nil {
		return false, err
	}
	now := time.Now()
	res, err := s.w.ExecContext(ctx, `
		INSERT INTO leases AS l (name, holder, acquired_at, expires_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (name) DO UPDATE
		   SET holder = excluded.holder,
		       acquired_at = CASE WHEN l.holder = excluded.holder THEN l.acquired_at ELSE excluded.acquired_at END,
		       expires_at = excluded.expires_at
		 WHERE l.holder = excluded.holder OR l.expires_at <= ?`,
		name, holder, now.UnixMicro(), now.Add(ttl).UnixMicro(), now.UnixMicro())
	if err != nil {
		return false, s.wrap("acquire lease "+name+" holder="+holder, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, s.wrap("acquire lease "+name+" holder="+holder, err)
	}
	return n == 1, nil
}

// ReleaseLease implements state.Leaser.
func (s *Store) ReleaseLease(ctx context.Context, name, holder string) error {
	if _, err := s.w.ExecContext(ctx, `DELETE FROM leases WHERE name = ? AND holder = ?`, name, holder); err != nil {
		return s.wrap("release lease "+name+" holder="+holder, err)
	}
	return nil
}
