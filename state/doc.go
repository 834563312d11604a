// Package state defines the Store contract: what syncd remembers between
// runs so that each run is incremental and crash-safe. It keeps runs, one
// checkpoint per (job, anchor), a source cursor per job, and a lock per job.
// Stores may also count a job's checkpoints without streaming them
// (CheckpointCounter) and keep named, expiring leases (Leaser).
//
// Backends live below: state/pgstate (PostgreSQL through pgx, for production
// and HA pairs) and state/sqlitestate (embedded SQLite, the zero-setup
// default). Both pass the conformance suite in state/statetest.
// state/backend opens one of them from a state.url.
package state
