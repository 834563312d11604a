package chaos

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/syncd/syncd/sink/pingone/pingonetest"

	"github.com/syncd/syncd/internal/testenv"
)

// pgURL returns the shared test PostgreSQL with a fresh schema of the
// test's own as search_path.
func pgURL(t *testing.T) string {
	t.Helper()
	raw := testenv.PostgresURL(t)
	schema := testenv.PostgresSchema(t)
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// privatePG is a PostgreSQL cluster of the test's own, which it may stop
// and restart (the shared one serves other packages' tests).
type privatePG struct {
	t          *testing.T
	bin, data  string
	port       int
	asPostgres bool
	logFile    string
	socketDir  string
}

// startPrivatePG runs initdb into a temporary directory and starts the
// cluster on a free loopback port. As root it runs the server as the
// postgres user. No PostgreSQL binaries: testenv.Unavailable.
func startPrivatePG(t *testing.T) *privatePG {
	t.Helper()
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if p, err := exec.LookPath("initdb"); err == nil {
		bins = append(bins, p)
	}
	if len(bins) == 0 {
		testenv.Unavailable(t, "PostgreSQL server binaries (initdb, pg_ctl)", errors.New("no initdb in PATH or /usr/lib/postgresql/*/bin"))
	}
	dir, err := os.MkdirTemp("", "syncd-chaos-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	pg := &privatePG{t: t, bin: filepath.Dir(bins[0]), data: filepath.Join(dir, "data"), port: freePort(t),
		asPostgres: os.Geteuid() == 0, logFile: filepath.Join(dir, "server.log"), socketDir: dir}
	if pg.asPostgres {
		u, err := user.Lookup("postgres")
		if err != nil {
			testenv.Unavailable(t, "a postgres user to run a private PostgreSQL as (running as root)", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chmod(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	pg.ctl("initdb", "-D", pg.data, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8")
	pg.pgctl("start")
	t.Cleanup(func() { _ = pg.exec("pg_ctl", "-D", pg.data, "-m", "immediate", "-w", "stop") })
	return pg
}

func (pg *privatePG) exec(name string, args ...string) error {
	cmd := exec.Command(filepath.Join(pg.bin, name), args...)
	if pg.asPostgres {
		cmd = exec.Command("runuser", append([]string{"-u", "postgres", "--", filepath.Join(pg.bin, name)}, args...)...)
	}
	cmd.Dir = pg.socketDir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %v: %w\n%s", name, args, err, out)
	}
	return nil
}

func (pg *privatePG) ctl(name string, args ...string) {
	pg.t.Helper()
	if err := pg.exec(name, args...); err != nil {
		if testenv.InCI() {
			pg.t.Fatal(err)
		}
		testenv.Unavailable(pg.t, "a private PostgreSQL cluster", err)
	}
}

// pgctl runs pg_ctl start/restart with the test's port and settings.
func (pg *privatePG) pgctl(action string, extra ...string) {
	pg.t.Helper()
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off", pg.port, pg.socketDir)
	args := append([]string{"-D", pg.data, "-o", opts, "-l", pg.logFile, "-w", "-t", "60"}, extra...)
	pg.ctl("pg_ctl", append(args, action)...)
}

func (pg *privatePG) sql(stmt string) {
	pg.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, pg.url())
	if err != nil {
		pg.t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, stmt); err != nil {
		pg.t.Fatalf("%s: %v", stmt, err)
	}
}

func (pg *privatePG) url() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", pg.port)
}

// TestPostgresRestartMidApply restarts the state database while syncd is
// applying: the run must fail cleanly (exit 1, saying the state failed),
// and the next run must converge with no duplicate user.
func TestPostgresRestartMidApply(t *testing.T) {
	pg := startPrivatePG(t)
	trials := pick(1, 5)
	r := rng(t)
	for trial := 0; trial < trials; trial++ {
		t.Run(fmt.Sprintf("trial%02d", trial), func(t *testing.T) {
			n := 200
			h := newHarness(t, harnessConfig{
				emu:     pingonetest.Options{Latency: 3 * time.Millisecond},
				state:   pg.url() + "&search_path=" + fmt.Sprintf("trial%02d", trial),
				pingone: "  rate_limit: 100\n  concurrency: 4",
				job:     "    batch_size: 10\n    safety: {max_disables: 100000, max_disable_percent: 100}",
			})
			pg.sql(fmt.Sprintf("CREATE SCHEMA IF NOT EXISTS trial%02d", trial))
			all := people(n)
			h.writeCSV(all)
			p := h.start("sync")
			k := 20 + int(r.Uint64()%uint64(n/2))
			eventually(t, time.Minute, fmt.Sprintf("%d writes", k), func() bool { return h.emu.Stats().Writes >= k })
			pg.pgctl("restart", "-m", "fast")
			code := p.wait(t, 2*time.Minute)
			stderr := p.stderr.String()
			t.Logf("restarted after %d writes; exit %d", k, code)
			for _, l := range strings.Split(stderr, "\n") {
				if strings.HasPrefix(l, "syncd:") {
					t.Logf("%s", l)
				}
			}
			if code != exitFailed {
				t.Fatalf("exit %d after a state restart mid-apply, want %d; stderr:\n%s", code, exitFailed, tail(stderr, 3000))
			}
			if !strings.Contains(stderr, "syncd: job people") {
				t.Errorf("no error message naming the job on stderr:\n%s", tail(stderr, 3000))
			}
			h.syncUntilOK(3)
			checkConverged(t, h.emu, all, nil)
		})
	}
}
