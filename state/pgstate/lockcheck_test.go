package pgstate_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/syncd/syncd/internal/testenv"
	"github.com/syncd/syncd/state"
	"github.com/syncd/syncd/state/pgstate"
)

// lockBackend returns the pid of the backend holding job's advisory lock in
// schema, or 0.
func lockBackend(t *testing.T, schema, job string) int32 {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), testenv.PostgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var pid int32
	err = conn.QueryRow(context.Background(), `SELECT COALESCE((SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted
		AND classid = (($1::bigint >> 32) & 4294967295)::oid AND objid = ($1::bigint & 4294967295)::oid AND objsubid = 1), 0)`,
		pgstate.LockKey(schema, job)).Scan(&pid)
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

// TestLostLockRefusesTheCheckpoint: when the connection holding a job's
// advisory lock dies, the next checkpoint of that job is refused
// (state.ErrLockLost) and writes nothing: another process may hold the job.
func TestLostLockRefusesTheCheckpoint(t *testing.T) {
	schema := testenv.PostgresSchema(t)
	s := open(t, schema, true)
	ctx := context.Background()
	unlock, err := s.Lock(ctx, "hr")
	if err != nil {
		t.Fatal(err)
	}
	defer unlock(ctx) //nolint:errcheck
	cp := func(anchor string) []state.Checkpoint {
		return []state.Checkpoint{{Anchor: anchor, UserID: "u-" + anchor, Username: anchor, Status: state.StatusActive, Enabled: true}}
	}
	if err := s.SaveCheckpoints(ctx, "hr", cp("a")); err != nil {
		t.Fatalf("save while the lock is held: %v", err)
	}
	pid := lockBackend(t, schema, "hr")
	if pid == 0 {
		t.Fatal("the lock is not in pg_locks")
	}
	exec(t, "SELECT pg_terminate_backend($1)", pid)
	deadline := time.Now().Add(10 * time.Second)
	for lockBackend(t, schema, "hr") != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the terminated backend still holds the lock")
		}
		time.Sleep(10 * time.Millisecond)
	}
	err = s.SaveCheckpoints(ctx, "hr", cp("b"))
	if !errors.Is(err, state.ErrLockLost) {
		t.Fatalf("save after the lock's backend was terminated: %v, want ErrLockLost", err)
	}
	err = s.SaveJournaled(ctx, "hr", cp("c"), nil)
	if !errors.Is(err, state.ErrLockLost) {
		t.Fatalf("journaled save after the lock was lost: %v, want ErrLockLost", err)
	}
	n := 0
	if err := s.Checkpoints(ctx, "hr", func(state.Checkpoint) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatalf("%d checkpoints, want 1: a save after the lock was lost was committed", n)
	}
	// Another job, whose lock this store does not hold, is not affected.
	if err := s.SaveCheckpoints(ctx, "other", cp("a")); err != nil {
		t.Fatalf("save of a job without a lock: %v", err)
	}
}
