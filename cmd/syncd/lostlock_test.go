package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/syncd/syncd/internal/testenv"
	"github.com/syncd/syncd/state/pgstate"
)

// TestLostPostgresLockStopsTheRun: the connection holding a job's advisory
// lock is terminated mid-apply and a second `syncd sync` starts at once.
// The first notices at its next checkpoint, commits nothing more and exits
// 1; the second runs the job; PingOne ends with each user once.
func TestLostPostgresLockStopsTheRun(t *testing.T) {
	pgURL, schema := testenv.PostgresURL(t), testenv.PostgresSchema(t)
	h := newHarness(t, csvSource(), "    batch_size: 5\n")
	h.useStateURL(t, withSearchPath(pgURL, schema))
	h.writeCSV(rows(40)...)
	conn, err := pgx.Connect(context.Background(), pgURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	holder := func() int32 {
		var pid int32
		err := conn.QueryRow(context.Background(), `SELECT COALESCE((SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted
			AND classid = (($1::bigint >> 32) & 4294967295)::oid AND objid = ($1::bigint & 4294967295)::oid AND objsubid = 1), 0)`,
			pgstate.LockKey(schema, "people")).Scan(&pid)
		if err != nil {
			t.Fatal(err)
		}
		return pid
	}

	h.emu.SetFaults(0, 0, 5*time.Millisecond)
	first := h.start(t, nil, "sync")
	eventually(t, 60*time.Second, "the apply to be under way", func() bool { return h.emu.UserCount() >= 12 })
	release := h.emu.Stall()
	defer release()
	pid := holder()
	if pid == 0 {
		t.Fatal("the running sync holds no advisory lock")
	}
	if _, err := conn.Exec(context.Background(), "SELECT pg_terminate_backend($1)", pid); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "the server to release the lock", func() bool { return holder() == 0 })
	second := h.start(t, nil, "sync")
	eventually(t, 30*time.Second, "the second sync to take the job", func() bool { return holder() != 0 })
	release()
	h.emu.SetFaults(0, 0, 0)

	if code := first.wait(t, 60*time.Second); code != ExitFailed {
		t.Fatalf("the sync whose lock was lost: exit %d, want 1\n%s", code, first.output())
	}
	if out := first.output(); !strings.Contains(out, "job lock lost") {
		t.Fatalf("the first sync did not say its lock was lost:\n%s", out)
	}
	if code := second.wait(t, 60*time.Second); code != ExitOK {
		t.Fatalf("the second sync: exit %d, want 0\n%s", code, second.output())
	}
	seen := map[string]bool{}
	for _, u := range h.emu.Users() {
		ext := fmt.Sprint(u["externalId"])
		if seen[ext] {
			t.Fatalf("two PingOne users carry externalId %s", ext)
		}
		seen[ext] = true
	}
	if len(seen) != 40 {
		t.Fatalf("%d users in PingOne, want 40", len(seen))
	}
	// Converged: another run has nothing to do.
	h.emu.ResetStats()
	h.expect(ExitOK, "sync")
	if w := h.emu.Stats().Writes; w != 0 {
		t.Fatalf("a run after both made %d writes, want 0", w)
	}
}
