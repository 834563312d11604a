package pgstate_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/syncd/syncd/internal/testenv"
	"github.com/syncd/syncd/state/pgstate"
	"github.com/syncd/syncd/state/statetest"
)

// openBench opens a migrated store in a fresh schema for a benchmark.
func openBench(b *testing.B) *pgstate.Store {
	b.Helper()
	s, err := pgstate.Open(context.Background(), testenv.PostgresURL(b), pgstate.Options{
		Schema:      testenv.PostgresSchema(b),
		AutoMigrate: true,
	})
	if err != nil {
		b.Fatalf("Open: %v", err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

// BenchmarkSaveCheckpoints: 100k checkpoints in batches of 500 per op.
func BenchmarkSaveCheckpoints(b *testing.B) {
	statetest.BenchSave(b, openBench(b))
}

// BenchmarkCheckpoints1M streams 1M checkpoints seeded with one INSERT ...
// SELECT generate_series (the API would make seeding the slow part).
func BenchmarkCheckpoints1M(b *testing.B) {
	const n = 1_000_000
	s := openBench(b)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, testenv.PostgresURL(b))
	if err != nil {
		b.Fatalf("connect: %v", err)
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, `
		INSERT INTO `+pgx.Identifier{s.Schema(), "checkpoints"}.Sanitize()+`
		       (job, anchor, user_id, username, population_id, enabled, hash, attributes,
		        first_seen, last_seen, last_synced, status, last_error, failures)
		SELECT 'bench', 'anchor-' || g, gen_random_uuid()::text, 'user' || g, 'pop-1', g % 3 <> 0,
		       lpad(to_hex(g), 64, '0'), convert_to($1, 'UTF8'), now(), now(), now(),
		       (ARRAY['active', 'disabled', 'failed', 'conflict'])[g % 4 + 1], '', 0
		  FROM generate_series(1, $2::int) AS g`, statetest.BenchAttributes, n)
	if err != nil {
		b.Fatalf("seed: %v", err)
	}
	if _, err := conn.Exec(ctx, `ANALYZE `+pgx.Identifier{s.Schema(), "checkpoints"}.Sanitize()); err != nil {
		b.Fatalf("analyze: %v", err)
	}
	b.ResetTimer()
	statetest.BenchLoad(b, s, "bench", n)
}
