// Package pgstate is the PostgreSQL state backend (pgx/v5 pool), for
// production and HA pairs where two syncd daemons share one database.
//
// Open connects and checks the server; Migrate applies the embedded
// migrations (package migrations) with goose, serialised between concurrent
// starters by a session advisory lock. All tables live in the connection's
// current schema (Options.Schema or the URL's search_path), so several syncd
// installations, or tests, can share a database in different schemas.
//
// Writes are set-based: SaveCheckpoints sends a batch as one INSERT ...
// SELECT FROM unnest(arrays) ... ON CONFLICT DO UPDATE in one transaction.
// Checkpoints streams rows from the server without collecting them. Lock
// takes pg_try_advisory_lock on a dedicated connection, so the server frees
// it if the holder dies.
package pgstate
