package pgstate

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/syncd/syncd/state"
)

// heldLock returns the lock this store holds on job, or nil.
func (s *Store) heldLock(job string) *jobLock {
	s.mu.Lock()
	defer s.mu.Unlock()
	for l := range s.locks {
		if l.job == job {
			return l
		}
	}
	return nil
}

// lockHeldSQL: does backend $1 hold the advisory lock $2? pg_locks shows a
// bigint key as classid (high 32 bits) and objid (low 32 bits), objsubid 1.
const lockHeldSQL = `SELECT EXISTS (SELECT 1 FROM pg_locks
 WHERE locktype = 'advisory' AND granted AND pid = $1
   AND classid = (($2::bigint >> 32) & 4294967295)::oid
   AND objid = ($2::bigint & 4294967295)::oid AND objsubid = 1)`

// verifyLock checks, inside tx and so just before its commit, that the job
// lock this store took for job is still held by its connection's backend.
// The lock lives on a dedicated connection nothing else uses: when that
// connection dies the server releases the lock, and a second writer may
// enter while this one goes on. A job this store holds no lock on (purge,
// rebuild) is not checked.
func (s *Store) verifyLock(ctx context.Context, tx pgx.Tx, job string) error {
	l := s.heldLock(job)
	if l == nil {
		return nil
	}
	pid := l.conn.PgConn().PID()
	var held bool
	if err := tx.QueryRow(ctx, lockHeldSQL, int32(pid), l.key).Scan(&held); err != nil {
		return fmt.Errorf("check job lock: %w", err)
	}
	if !held {
		return fmt.Errorf("job %s: %w: its connection (backend pid %d) is gone — PostgreSQL restarted, pg_terminate_backend, or a network cut — and another process may hold the job now; stopping", job, state.ErrLockLost, pid)
	}
	return nil
}
