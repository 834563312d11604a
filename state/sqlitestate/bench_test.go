package sqlitestate_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/syncd/syncd/state/sqlitestate"
	"github.com/syncd/syncd/state/statetest"
)

// openBench opens a migrated store in a temporary directory.
func openBench(b *testing.B) *sqlitestate.Store {
	b.Helper()
	s, err := sqlitestate.Open(context.Background(), filepath.Join(b.TempDir(), "state.db"), sqlitestate.Options{AutoMigrate: true})
	if err != nil {
		b.Fatalf("Open: %v", err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

// BenchmarkSaveCheckpoints: 100k checkpoints in batches of 500 per op.
func BenchmarkSaveCheckpoints(b *testing.B) {
	statetest.BenchSave(b, openBench(b), nil) // embedded: client CPU is all of it
}

// BenchmarkCheckpoints1M streams 1M checkpoints seeded with one recursive
// INSERT ... SELECT (the API would make seeding the slow part).
func BenchmarkCheckpoints1M(b *testing.B) {
	const n = 1_000_000
	s := openBench(b)
	db, err := sql.Open("sqlite", s.Path()+"?_pragma=busy_timeout(10000)")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	now := int64(1_773_500_000_000_000)
	_, err = db.Exec(`
		WITH RECURSIVE g(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM g WHERE x < ?)
		INSERT INTO checkpoints (job, anchor, user_id, username, population_id, enabled, hash, attributes,
		                         first_seen, last_seen, last_synced, status, last_error, failures)
		SELECT 'bench', 'anchor-' || x, lower(hex(randomblob(16))), 'user' || x, 'pop-1', x % 3 <> 0,
		       printf('%064x', x), CAST(? AS BLOB), ?, ?, ?,
		       CASE x % 4 WHEN 0 THEN 'active' WHEN 1 THEN 'disabled' WHEN 2 THEN 'failed' ELSE 'conflict' END, '', 0
		  FROM g`, n, statetest.BenchAttributes, now, now, now)
	if err != nil {
		b.Fatalf("seed: %v", err)
	}
	b.ResetTimer()
	statetest.BenchLoad(b, s, "bench", n, nil)
}
