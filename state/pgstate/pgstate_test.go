package pgstate_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"go.uber.org/goleak"
	"go.uber.org/zap/zaptest"

	"github.com/syncd/syncd/internal/testenv"
	"github.com/syncd/syncd/state"
	"github.com/syncd/syncd/state/pgstate"
	"github.com/syncd/syncd/state/statetest"
)

// open opens a store on the test database in schema, closed at cleanup.
func open(t *testing.T, schema string, migrate bool) *pgstate.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	s, err := pgstate.Open(ctx, testenv.PostgresURL(t), pgstate.Options{
		Logger:      zaptest.NewLogger(t),
		Schema:      schema,
		AutoMigrate: migrate,
	})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// exec runs sql on its own connection to the test database.
func exec(t *testing.T, sql string, args ...any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, testenv.PostgresURL(t))
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// terminateLockHolder ends the backend holding job's advisory lock in schema,
// found through pg_locks as an operator would.
func terminateLockHolder(t *testing.T, schema, job string) {
	t.Helper()
	key := uint64(pgstate.LockKey(schema, job))
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, testenv.PostgresURL(t))
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(ctx)
	var n int
	err = conn.QueryRow(ctx, `
		SELECT count(pg_terminate_backend(pid)) FROM pg_locks
		 WHERE locktype = 'advisory' AND granted AND objsubid = 1
		   AND classid = $1::bigint::oid AND objid = $2::bigint::oid`,
		int64(key>>32), int64(key&0xffffffff)).Scan(&n)
	if err != nil {
		t.Fatalf("terminate lock holder: %v", err)
	}
	if n != 1 {
		t.Fatalf("terminated %d lock holders, want 1", n)
	}
}

func backend() statetest.Backend {
	return statetest.Backend{
		Open: func(t *testing.T) state.Store {
			return open(t, testenv.PostgresSchema(t), true)
		},
		OpenPeer: func(t *testing.T, s state.Store) state.Store {
			return open(t, s.(*pgstate.Store).Schema(), false)
		},
		HoldLock: func(t *testing.T, s state.Store, job string) func() {
			schema := s.(*pgstate.Store).Schema()
			holder := open(t, schema, false)
			if _, err := holder.Lock(t.Context(), job); err != nil {
				t.Fatalf("holder Lock: %v", err)
			}
			return func() { terminateLockHolder(t, schema, job) }
		},
		SetSchemaVersion: func(t *testing.T, s state.Store, version int64) {
			exec(t, `INSERT INTO `+pgx.Identifier{s.(*pgstate.Store).Schema(), pgstate.VersionTable}.Sanitize()+
				` (version_id, is_applied) VALUES ($1, true)`, version)
		},
	}
}

func TestConformance(t *testing.T) {
	t.Parallel()
	statetest.Run(t, backend())
}

func TestOpenUnreachable(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	// Port 1 on loopback: nothing listens, the connection is refused at once.
	_, err := pgstate.Open(ctx, "postgres://syncd:s3cretpw@127.0.0.1:1/syncd?sslmode=disable", pgstate.Options{})
	if err == nil {
		t.Fatal("Open of an unreachable server: no error")
	}
	msg := err.Error()
	for _, want := range []string{"state postgres://syncd:xxxxx@127.0.0.1:1/syncd", "is PostgreSQL running? check state.url"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not contain %q", msg, want)
		}
	}
	if strings.Contains(msg, "s3cretpw") {
		t.Errorf("error %q leaks the password", msg)
	}
}

func TestOpenBadSchemaName(t *testing.T) {
	t.Parallel()
	_, err := pgstate.Open(t.Context(), testenv.PostgresURL(t), pgstate.Options{Schema: `x"; DROP TABLE y; --`})
	if err == nil || !strings.Contains(err.Error(), "schema") {
		t.Fatalf("Open with a bad schema name = %v, want a schema error", err)
	}
}

// TestInterruptedBatch interrupts a batch while its upsert waits on a row
// lock (so the interruption lands mid-statement, deterministically) and
// checks nothing of the batch was written.
func TestInterruptedBatch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// interrupt ends the save once it is blocked (reporting whether it
		// was): blocker holds the row lock, cancel cancels the save's context.
		interrupt func(ctx context.Context, blocker *pgx.Conn, cancel func()) (bool, error)
		wantErr   []string
	}{
		{
			name: "connection killed",
			interrupt: func(ctx context.Context, blocker *pgx.Conn, _ func()) (bool, error) {
				var n int
				err := blocker.QueryRow(ctx, `
					SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
					 WHERE $1::int = ANY(pg_blocking_pids(pid))`, blocker.PgConn().PID()).Scan(&n)
				return n > 0, err
			},
			wantErr: []string{"is PostgreSQL running?", "nothing written"},
		},
		{
			name: "context cancelled",
			interrupt: func(ctx context.Context, blocker *pgx.Conn, cancel func()) (bool, error) {
				var n int
				err := blocker.QueryRow(ctx, `
					SELECT count(*) FROM pg_stat_activity
					 WHERE $1::int = ANY(pg_blocking_pids(pid))`, blocker.PgConn().PID()).Scan(&n)
				if n > 0 {
					cancel()
				}
				return n > 0, err
			},
			wantErr: []string{"context canceled", "nothing written"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			schema := testenv.PostgresSchema(t)
			s := open(t, schema, true)
			ctx := t.Context()
			first := state.Checkpoint{Anchor: "a0", Hash: "old", Status: state.StatusActive}
			if err := s.SaveCheckpoints(ctx, "job", []state.Checkpoint{first}); err != nil {
				t.Fatalf("SaveCheckpoints: %v", err)
			}

			// Another session holds a0's row lock, so the batch's upsert blocks.
			blocker, err := pgx.Connect(ctx, testenv.PostgresURL(t))
			if err != nil {
				t.Fatalf("connect: %v", err)
			}
			defer blocker.Close(context.Background())
			tx, err := blocker.Begin(ctx)
			if err != nil {
				t.Fatalf("begin: %v", err)
			}
			defer tx.Rollback(context.Background())
			if _, err := tx.Exec(ctx, `SELECT 1 FROM `+pgx.Identifier{schema, "checkpoints"}.Sanitize()+` WHERE anchor = 'a0' FOR UPDATE`); err != nil {
				t.Fatalf("lock row: %v", err)
			}

			batch := make([]state.Checkpoint, 1000)
			for i := range batch {
				batch[i] = state.Checkpoint{Anchor: fmt.Sprintf("a%d", i), Hash: "new", Status: state.StatusActive}
			}
			saveCtx, cancel := context.WithCancel(ctx)
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- s.SaveCheckpoints(saveCtx, "job", batch) }()

			// Poll until the upsert is blocked by the blocker, then interrupt it
			// (pg_blocking_pids finds it; pg_stat_activity's query text is not
			// reliable for a cached prepared statement).
			deadline := time.Now().Add(15 * time.Second)
			for {
				ok, err := tt.interrupt(ctx, blocker, cancel)
				if err != nil {
					t.Fatalf("interrupt: %v", err)
				}
				if ok {
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("the upsert never blocked")
				}
				time.Sleep(10 * time.Millisecond) // polling interval
			}
			err = <-done
			if err == nil {
				t.Fatal("SaveCheckpoints succeeded despite the interruption")
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if err := tx.Rollback(ctx); err != nil {
				t.Fatalf("rollback blocker: %v", err)
			}
			var got []string
			err = s.Checkpoints(ctx, "job", func(cp state.Checkpoint) error {
				got = append(got, cp.Anchor+"="+cp.Hash)
				return nil
			})
			if err != nil {
				t.Fatalf("Checkpoints after the interrupted batch: %v", err)
			}
			if len(got) != 1 || got[0] != "a0=old" {
				t.Errorf("after the interrupted batch: %d rows %.5v, want only a0=old", len(got), got)
			}
		})
	}
}

// TestLockUnlockAfterConnectionLoss checks unlock reports a lock whose
// connection died instead of pretending it released it.
func TestLockUnlockAfterConnectionLoss(t *testing.T) {
	t.Parallel()
	schema := testenv.PostgresSchema(t)
	s := open(t, schema, true)
	unlock, err := s.Lock(t.Context(), "job")
	if err != nil {
		t.Fatalf("Lock: %v", err)
	}
	terminateLockHolder(t, schema, "job")
	if err := unlock(t.Context()); err == nil {
		t.Error("unlock after the connection died: no error")
	}
}

func TestMigrateNotRun(t *testing.T) {
	t.Parallel()
	s := open(t, testenv.PostgresSchema(t), false)
	err := s.SetCursor(t.Context(), "job", state.Cursor{Value: []byte("x")})
	if err == nil {
		t.Fatal("SetCursor before Migrate: no error")
	}
	if errors.Is(err, state.ErrLocked) || !strings.Contains(err.Error(), "run `syncd migrate`") {
		t.Fatalf("SetCursor before Migrate = %v, want a hint to run syncd migrate", err)
	}
}

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
