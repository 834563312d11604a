package state

import "errors"

// ErrLockLost is returned by a checkpoint write of a job whose lock the
// store held and has lost since (PostgreSQL: the lock's connection ended —
// a server restart, pg_terminate_backend, a network cut — and the server
// released the lock). Nothing of that write is committed: another process
// may hold the job now, and the run must stop (DESIGN invariant 9).
var ErrLockLost = errors.New("job lock lost")
