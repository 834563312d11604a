package sqlitestate_test

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
	"go.uber.org/zap/zaptest"

	"github.com/syncd/syncd/state"
	"github.com/syncd/syncd/state/sqlitestate"
	"github.com/syncd/syncd/state/statetest"
)

// Environment variables that turn the test binary into a lock holder.
const (
	envLockDB  = "SYNCD_SQLITESTATE_TEST_LOCK_DB"
	envLockJob = "SYNCD_SQLITESTATE_TEST_LOCK_JOB"
)

func TestMain(m *testing.M) {
	if db := os.Getenv(envLockDB); db != "" {
		os.Exit(holdLock(db, os.Getenv(envLockJob)))
	}
	goleak.VerifyTestMain(m)
}

// holdLock is the child process: it takes job's lock, says "locked" on
// stdout, and holds it until killed or until its stdin closes.
func holdLock(db, job string) int {
	ctx := context.Background()
	s, err := sqlitestate.Open(ctx, db, sqlitestate.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if _, err := s.Lock(ctx, job); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println("locked")
	bufio.NewReader(os.Stdin).ReadString('\n')
	return 0
}

// open opens a store on path, closed at cleanup.
func open(t *testing.T, path string, migrate bool) *sqlitestate.Store {
	t.Helper()
	s, err := sqlitestate.Open(t.Context(), path, sqlitestate.Options{Logger: zaptest.NewLogger(t), AutoMigrate: migrate})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// rawDB opens path without the store, as an sqlite3 shell would.
func rawDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// holdInChild starts a child process holding job's lock on path and
// returns a func that SIGKILLs it.
func holdInChild(t *testing.T, path, job string) func() {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envLockDB+"="+path, envLockJob+"="+job)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start lock holder: %v", err)
	}
	killed := false
	kill := func() {
		if killed {
			return
		}
		killed = true
		cmd.Process.Kill()
		cmd.Wait()
		stdin.Close()
	}
	t.Cleanup(kill)
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "locked\n" {
		t.Fatalf("lock holder said %q, %v; want locked", line, err)
	}
	return kill
}

func backend() statetest.Backend {
	return statetest.Backend{
		Open: func(t *testing.T) state.Store {
			return open(t, filepath.Join(t.TempDir(), "state.db"), true)
		},
		OpenPeer: func(t *testing.T, s state.Store) state.Store {
			return open(t, s.(*sqlitestate.Store).Path(), false)
		},
		HoldLock: func(t *testing.T, s state.Store, job string) func() {
			return holdInChild(t, s.(*sqlitestate.Store).Path(), job)
		},
		SetSchemaVersion: func(t *testing.T, s state.Store, version int64) {
			db := rawDB(t, s.(*sqlitestate.Store).Path())
			if _, err := db.Exec(`INSERT INTO `+sqlitestate.VersionTable+` (version_id, is_applied) VALUES (?, 1)`, version); err != nil {
				t.Fatalf("set schema version: %v", err)
			}
		},
	}
}

func TestConformance(t *testing.T) {
	t.Parallel()
	statetest.Run(t, backend())
}

func TestOpenErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.db")
	if err := os.WriteFile(garbage, []byte(strings.Repeat("this is not an SQLite database\n", 200)), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		path string
		want []string
	}{
		{"not a database", garbage, []string{"state sqlite://" + garbage, "not a syncd state database"}},
		{"missing directory", filepath.Join(dir, "nope", "state.db"), []string{"does not exist", "state.url"}},
		{"question mark", filepath.Join(dir, "a?b.db"), []string{"'?'"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, err := sqlitestate.Open(t.Context(), tt.path, sqlitestate.Options{AutoMigrate: true})
			if err == nil {
				s.Close()
				t.Fatal("Open: no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestFileMode(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "state.db")
	open(t, path, true)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		t.Errorf("state file mode %v: readable by others", fi.Mode().Perm())
	}
}

// TestDatabaseLocked checks a write blocked by another process's write lock
// fails after the busy timeout with a clear error and writes nothing.
func TestDatabaseLocked(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "state.db")
	open(t, path, true).Close()
	s, err := sqlitestate.Open(t.Context(), path, sqlitestate.Options{BusyTimeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s.Close()

	other := rawDB(t, path)
	conn, err := other.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(t.Context(), "BEGIN EXCLUSIVE"); err != nil {
		t.Fatalf("begin exclusive: %v", err)
	}
	err = s.SaveCheckpoints(t.Context(), "job", []state.Checkpoint{{Anchor: "a", Status: state.StatusActive}})
	if err == nil {
		t.Fatal("SaveCheckpoints while another process holds the write lock: no error")
	}
	for _, w := range []string{"sqlite://" + path, "another process holds the database locked", "nothing written"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not contain %q", err, w)
		}
	}
	if _, err := conn.ExecContext(t.Context(), "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	n := 0
	if err := s.Checkpoints(t.Context(), "job", func(state.Checkpoint) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("%d checkpoints written by the failed save", n)
	}
}

func TestLockFileNames(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "state.db")
	s := open(t, path, true)
	// Jobs that sanitise alike still get separate locks.
	for _, job := range []string{"corp/ad", "corp_ad", "../escape", strings.Repeat("x", 300)} {
		unlock, err := s.Lock(t.Context(), job)
		if err != nil {
			t.Fatalf("Lock(%q): %v", job, err)
		}
		defer unlock(context.Background())
	}
	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	locks := 0
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "state.db.lock-") {
			locks++
			if strings.ContainsAny(strings.TrimPrefix(e.Name(), "state.db.lock-"), "/") || len(e.Name()) > 120 {
				t.Errorf("lock file name %q", e.Name())
			}
		}
	}
	if locks != 4 {
		t.Errorf("%d lock files, want 4", locks)
	}
}

func TestMigrateNotRun(t *testing.T) {
	t.Parallel()
	s := open(t, filepath.Join(t.TempDir(), "state.db"), false)
	err := s.SetCursor(t.Context(), "job", state.Cursor{Value: []byte("x")})
	if err == nil || !strings.Contains(err.Error(), "run `syncd migrate`") {
		t.Fatalf("SetCursor before Migrate = %v, want a hint to run syncd migrate", err)
	}
}
