package main

import (
	"context"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/syncd/syncd/internal/testenv"
	"github.com/syncd/syncd/state"
	"github.com/syncd/syncd/state/backend"
	"github.com/syncd/syncd/state/pgstate"
)

// TestSIGHUPMidApplyKeepsTheRunWhole: a reload (SIGHUP, what `systemctl
// reload` sends) while a run is applying must not disturb it. The run keeps
// its store and its job lock to the end: every user it created is
// checkpointed, its record ends "succeeded", and nobody else can take the
// job meanwhile. On both backends, against the built binary.
func TestSIGHUPMidApplyKeepsTheRunWhole(t *testing.T) {
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			h := newHarness(t, csvSource(), "    batch_size: 5\n    run_at_start: true\nhttp:\n  listen: off\n")
			var stateURL string
			var lockHeld func() bool
			switch kind {
			case "sqlite":
				stateURL = "sqlite://" + h.dir + "/state.db"
			case "postgres":
				pgURL, schema := testenv.PostgresURL(t), testenv.PostgresSchema(t)
				stateURL = withSearchPath(pgURL, schema)
				h.useStateURL(t, stateURL)
				key := pgstate.LockKey(schema, "people")
				lockHeld = func() bool {
					conn, err := pgx.Connect(context.Background(), pgURL)
					if err != nil {
						t.Fatal(err)
					}
					defer conn.Close(context.Background())
					var n int
					err = conn.QueryRow(context.Background(), `SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted
						AND classid = (($1::bigint >> 32) & 4294967295)::oid AND objid = ($1::bigint & 4294967295)::oid AND objsubid = 1`, key).Scan(&n)
					if err != nil {
						t.Fatal(err)
					}
					return n == 1
				}
			}
			h.writeCSV(rows(40)...)
			h.emu.SetFaults(0, 0, 5*time.Millisecond)
			p := h.start(t, nil, "run")
			eventually(t, 60*time.Second, "the apply to be under way", func() bool { return h.emu.UserCount() >= 12 })
			release := h.emu.Stall()
			defer release()

			// A reloaded config: another log level, the same state.
			cfg, _ := os.ReadFile(h.conf)
			if err := os.WriteFile(h.conf, []byte(strings.Replace(string(cfg), "level: debug", "level: info", 1)), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
				t.Fatal(err)
			}
			eventually(t, 30*time.Second, "the reload", func() bool { return strings.Contains(p.output(), "config reloaded") })

			// The run still holds the job: another writer is refused.
			other := h.start(t, nil, "sync")
			if code := other.wait(t, 30*time.Second); code != ExitLocked {
				t.Fatalf("a sync during the reloaded daemon's run: exit %d, want %d (locked)\n%s", code, ExitLocked, other.output())
			}
			if lockHeld != nil && !lockHeld() {
				t.Fatal("the run's advisory lock is gone after the reload")
			}
			release()
			h.emu.SetFaults(0, 0, 0)

			st, err := backend.Open(context.Background(), stateURL, backend.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			var first state.Run
			eventually(t, 60*time.Second, "the first run to finish", func() bool {
				runs, err := st.Runs(context.Background(), "people", 100)
				if err != nil || len(runs) == 0 {
					return false
				}
				first = runs[len(runs)-1]
				return first.Status != state.RunRunning
			})
			if first.Status != state.RunSucceeded {
				t.Fatalf("the run interrupted by SIGHUP ended %s: %s", first.Status, first.Error)
			}
			if out := p.output(); strings.Contains(out, "database is closed") || strings.Contains(out, "closed pool") {
				t.Fatalf("the run used a closed store:\n%s", out)
			}
			if n := h.emu.UserCount(); n != 40 {
				t.Fatalf("%d users in PingOne, want 40", n)
			}
			ids := map[string]bool{}
			if err := st.Checkpoints(context.Background(), "people", func(c state.Checkpoint) error {
				if c.UserID != "" && c.Status == state.StatusActive {
					ids[c.UserID] = true
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if len(ids) != 40 {
				t.Fatalf("%d users checkpointed, want all 40: the reload lost some", len(ids))
			}
			_ = p.cmd.Process.Signal(syscall.SIGTERM)
			if code := p.wait(t, 30*time.Second); code != 0 {
				t.Fatalf("exit %d after SIGTERM", code)
			}
		})
	}
}

// TestSIGHUPAppliesTheLogLevel: log.level is applied by a reload, not only
// at start; a setting a reload cannot apply is named in a warning.
func TestSIGHUPAppliesTheLogLevel(t *testing.T) {
	h := newHarness(t, csvSource(), "http:\n  listen: off\n")
	h.writeCSV(rows(2)...)
	cfg, _ := os.ReadFile(h.conf)
	info := strings.Replace(string(cfg), "level: debug", "level: info\n  format: json", 1)
	if err := os.WriteFile(h.conf, []byte(info), 0o600); err != nil {
		t.Fatal(err)
	}
	p := h.start(t, nil, "run")
	eventually(t, 30*time.Second, "the daemon to start", func() bool { return strings.Contains(p.output(), "daemon started") })
	if strings.Contains(p.output(), `"level":"debug"`) {
		t.Fatalf("debug lines at log.level info:\n%s", p.output())
	}
	debug := strings.Replace(string(cfg), "level: debug", "level: debug\n  format: console", 1)
	debug = strings.Replace(debug, `schedule: "@every 1m"`, `schedule: "@every 1s"`, 1)
	if err := os.WriteFile(h.conf, []byte(debug), 0o600); err != nil {
		t.Fatal(err)
	}
	_ = p.cmd.Process.Signal(syscall.SIGHUP)
	eventually(t, 30*time.Second, "debug lines after the reload", func() bool { return strings.Contains(p.output(), `"level":"debug"`) })
	if !strings.Contains(p.output(), "log.format") {
		t.Errorf("the changed log.format (restart only) was not named:\n%s", p.output())
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	if code := p.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("exit %d", code)
	}
}
