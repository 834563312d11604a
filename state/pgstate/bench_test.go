package pgstate_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/syncd/syncd/internal/testenv"
	"github.com/syncd/syncd/state/pgstate"
	"github.com/syncd/syncd/state/statetest"
)

// openBench migrates a fresh schema, then opens the store the benchmark
// measures on it with a single pooled connection under a unique
// application_name, so the server process serving it can be found and its
// CPU time read (when PostgreSQL runs on this machine).
func openBench(b *testing.B) (*pgstate.Store, statetest.ServerCPU) {
	b.Helper()
	ctx := context.Background()
	url := testenv.PostgresURL(b)
	schema := testenv.PostgresSchema(b)
	m, err := pgstate.Open(ctx, url, pgstate.Options{Schema: schema, AutoMigrate: true})
	if err != nil {
		b.Fatalf("Open: %v", err)
	}
	m.Close()
	app := "syncd_bench_" + schema
	sep := "?"
	if strings.Contains(url, "?") {
		sep = "&"
	}
	s, err := pgstate.Open(ctx, url+sep+"pool_max_conns=1&application_name="+app, pgstate.Options{Schema: schema})
	if err != nil {
		b.Fatalf("Open: %v", err)
	}
	b.Cleanup(func() { s.Close() })
	return s, serverCPU(b, url, app)
}

// serverCPU returns a func reading the CPU time of the server processes
// whose application_name is app, or nil when /proc does not show them
// (PostgreSQL elsewhere).
func serverCPU(b *testing.B, url, app string) statetest.ServerCPU {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		b.Fatalf("connect: %v", err)
	}
	b.Cleanup(func() { conn.Close(context.Background()) })
	read := func() (time.Duration, error) {
		rows, err := conn.Query(ctx, `SELECT pid FROM pg_stat_activity WHERE application_name = $1`, app)
		if err != nil {
			return 0, err
		}
		pids, err := pgx.CollectRows(rows, pgx.RowTo[int32])
		if err != nil {
			return 0, err
		}
		if len(pids) == 0 {
			return 0, fmt.Errorf("no server process for %s", app)
		}
		var total time.Duration
		for _, pid := range pids {
			stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
			if err != nil {
				return 0, err
			}
			// Fields after "(comm)": state is field 3; utime and stime are 14 and 15.
			f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
			utime, err1 := strconv.ParseInt(f[11], 10, 64)
			stime, err2 := strconv.ParseInt(f[12], 10, 64)
			if err1 != nil || err2 != nil {
				return 0, fmt.Errorf("parse /proc/%d/stat", pid)
			}
			total += time.Duration(utime+stime) * 10 * time.Millisecond // USER_HZ is 100 on Linux
		}
		return total, nil
	}
	if _, err := read(); err != nil {
		b.Logf("server CPU not measurable: %v", err)
		return nil
	}
	return func() time.Duration {
		d, err := read()
		if err != nil {
			b.Fatalf("server CPU: %v", err)
		}
		return d
	}
}

// BenchmarkSaveCheckpoints: 100k checkpoints in batches of 500 per op.
func BenchmarkSaveCheckpoints(b *testing.B) {
	s, cpu := openBench(b)
	statetest.BenchSave(b, s, cpu)
}

// BenchmarkCheckpoints1M streams 1M checkpoints seeded with one INSERT ...
// SELECT generate_series (the API would make seeding the slow part).
func BenchmarkCheckpoints1M(b *testing.B) {
	const n = 1_000_000
	s, cpu := openBench(b)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, testenv.PostgresURL(b))
	if err != nil {
		b.Fatalf("connect: %v", err)
	}
	defer conn.Close(ctx)
	table := pgx.Identifier{s.Schema(), "checkpoints"}.Sanitize()
	_, err = conn.Exec(ctx, `
		INSERT INTO `+table+`
		       (job, anchor, user_id, username, population_id, enabled, hash, attributes,
		        first_seen, last_seen, last_synced, status, last_error, failures)
		SELECT 'bench', 'anchor-' || g, gen_random_uuid()::text, 'user' || g, 'pop-1', g % 3 <> 0,
		       lpad(to_hex(g), 64, '0'), convert_to($1, 'UTF8'), now(), now(), now(),
		       (ARRAY['active', 'disabled', 'failed', 'conflict'])[g % 4 + 1], '', 0
		  FROM generate_series(1, $2::int) AS g`, statetest.BenchAttributes, n)
	if err != nil {
		b.Fatalf("seed: %v", err)
	}
	if _, err := conn.Exec(ctx, `VACUUM ANALYZE `+table); err != nil {
		b.Fatalf("vacuum: %v", err)
	}
	b.ResetTimer()
	statetest.BenchLoad(b, s, "bench", n, cpu)
}
