// Package sqlitestate is the embedded SQLite state backend
// (modernc.org/sqlite, pure Go, no cgo): syncd's default, so a new user
// needs no database server.
//
// The database runs in WAL mode with a busy timeout and foreign keys on.
// Writes go through a single connection whose transactions begin IMMEDIATE
// (one writer, no lock-upgrade deadlocks); reads use a small pool of their
// own, so streaming checkpoints never blocks a write from the same process.
// SaveCheckpoints writes multi-row INSERT ... ON CONFLICT DO UPDATE
// statements of up to 500 rows inside one transaction.
//
// Job locks are flock(2) locks on files beside the database,
// <db>.lock-<job>: the kernel frees them when the holder dies.
// Migrate serialises concurrent starters the same way, on <db>.migrate.lock.
package sqlitestate
