package main

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/syncd/syncd/internal/testenv"
	"github.com/syncd/syncd/migrations"
)

// schemaBackend is a state database a test can reach behind syncd's back.
type schemaBackend struct {
	name string
	// setup points h's config at a fresh database and returns a function
	// running one SQL statement in it.
	setup func(t *testing.T, h *harness) (exec func(stmt string))
	fsys  func() []int64
}

func schemaBackends() []schemaBackend {
	versions := func(fsys func() ([]int64, error)) func() []int64 {
		return func() []int64 {
			v, err := fsys()
			if err != nil {
				panic(err)
			}
			return v
		}
	}
	return []schemaBackend{
		{name: "sqlite", fsys: versions(func() ([]int64, error) { return migrations.Versions(migrations.SQLite) }),
			setup: func(t *testing.T, h *harness) func(string) {
				return func(stmt string) {
					t.Helper()
					db, err := sql.Open("sqlite", filepath.Join(h.dir, "state.db"))
					if err != nil {
						t.Fatal(err)
					}
					defer db.Close()
					if _, err := db.Exec(stmt); err != nil {
						t.Fatalf("%s: %v", stmt, err)
					}
				}
			}},
		{name: "postgres", fsys: versions(func() ([]int64, error) { return migrations.Versions(migrations.Postgres) }),
			setup: func(t *testing.T, h *harness) func(string) {
				pgURL, schema := testenv.PostgresURL(t), testenv.PostgresSchema(t)
				h.useStateURL(t, withSearchPath(pgURL, schema))
				return func(stmt string) {
					t.Helper()
					conn, err := pgx.Connect(context.Background(), withSearchPath(pgURL, schema))
					if err != nil {
						t.Fatal(err)
					}
					defer conn.Close(context.Background())
					if _, err := conn.Exec(context.Background(), stmt); err != nil {
						t.Fatalf("%s: %v", stmt, err)
					}
				}
			}},
	}
}

func withSearchPath(pgURL, schema string) string {
	sep := "?"
	if strings.Contains(pgURL, "?") {
		sep = "&"
	}
	return pgURL + sep + "search_path=" + schema
}

// useStateURL points the harness's config at another state database.
func (h *harness) useStateURL(t *testing.T, url string) {
	t.Helper()
	cfg, err := os.ReadFile(h.conf)
	if err != nil {
		t.Fatal(err)
	}
	c := strings.Replace(string(cfg), "url: sqlite://state.db", "url: "+url, 1)
	if err := os.WriteFile(h.conf, []byte(c), 0o600); err != nil {
		t.Fatal(err)
	}
}

// syncdBounded runs one command line in-process like h.syncd, but a
// daemon (`run`) that starts rather than refusing is stopped after 20s
// (and then exits 0): the caller's assertion fails instead of the test
// hanging. It returns the exit code and stderr.
func (h *harness) syncdBounded(args ...string) (int, string) {
	h.t.Helper()
	var out, errb bytes.Buffer
	m := NewMain(strings.NewReader(""), &out, &errb)
	m.Getenv = func(k string) string {
		switch k {
		case "SYNCD_PINGONE_CLIENT_SECRET":
			return testSecret
		case "SYNCD_CONFIG":
			return h.conf
		case "SYNCD_HTTP_LISTEN":
			return "off"
		}
		return h.syncdEnv[k]
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return m.Run(ctx, args), errb.String()
}

// setAutoMigrate sets state.auto_migrate in the harness's config.
func (h *harness) setAutoMigrate(t *testing.T, v string) {
	t.Helper()
	cfg, err := os.ReadFile(h.conf)
	if err != nil {
		t.Fatal(err)
	}
	c := strings.Replace(string(cfg), "\nstate:\n", "\nstate:\n  auto_migrate: "+v+"\n", 1)
	if err := os.WriteFile(h.conf, []byte(c), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestSchemaNewerThanTheBinaryIsRefused: a state schema a newer syncd wrote
// is refused by every command that opens the store, with or without
// auto-migrate, naming both versions, before anything is written.
func TestSchemaNewerThanTheBinaryIsRefused(t *testing.T) {
	for _, b := range schemaBackends() {
		t.Run(b.name, func(t *testing.T) {
			for _, auto := range []string{"true", "false"} {
				t.Run("auto_migrate="+auto, func(t *testing.T) {
					h := newHarness(t, csvSource(), "")
					h.setAutoMigrate(t, auto)
					h.writeCSV(rows(2)...)
					exec := b.setup(t, h)
					h.expect(ExitOK, "migrate")
					exec("INSERT INTO syncd_schema_version (version_id, is_applied) VALUES (99999, true)")
					vs := b.fsys()
					latest := fmt.Sprint(vs[len(vs)-1])
					for _, cmd := range [][]string{{"sync"}, {"plan"}, {"status"}, {"run"}} {
						code, errs := h.syncdBounded(cmd...)
						if code != ExitFailed || !strings.Contains(errs, "99999") || !strings.Contains(errs, latest) || !strings.Contains(errs, "newer") {
							t.Errorf("syncd %s: exit %d, stderr %q; want exit 1 naming versions 99999 and %s", cmd[0], code, errs, latest)
						}
					}
					if n := h.emu.UserCount(); n != 0 {
						t.Errorf("%d users created against a schema from the future", n)
					}
				})
			}
		})
	}
}

// TestSchemaWithPendingMigrationsNeedsMigrate: with state.auto_migrate off, a
// database missing migrations (or syncd's schema altogether) is refused by
// the commands that write, naming `syncd migrate`; a plan of a database
// without a schema still plans against empty state.
func TestSchemaWithPendingMigrationsNeedsMigrate(t *testing.T) {
	for _, b := range schemaBackends() {
		t.Run(b.name, func(t *testing.T) {
			h := newHarness(t, csvSource(), "")
			h.setAutoMigrate(t, "false")
			h.writeCSV(rows(2)...)
			exec := b.setup(t, h)
			for _, cmd := range []string{"sync", "run"} {
				code, errs := h.syncdBounded(cmd)
				if code != ExitFailed || !strings.Contains(errs, "syncd migrate") || !strings.Contains(errs, "no syncd schema") {
					t.Errorf("syncd %s on an empty database: exit %d, stderr %q; want exit 1 naming `syncd migrate`", cmd, code, errs)
				}
			}
			h.expect(ExitOK, "plan")

			h.expect(ExitOK, "migrate")
			vs := b.fsys()
			exec(fmt.Sprintf("DELETE FROM syncd_schema_version WHERE version_id = %d", vs[len(vs)-1]))
			code, _, errs := h.syncd("sync")
			if code != ExitFailed || !strings.Contains(errs, "syncd migrate") || !strings.Contains(errs, fmt.Sprint(vs[len(vs)-1])) {
				t.Errorf("syncd sync with migration %d pending: exit %d, stderr %q; want exit 1 naming it and `syncd migrate`", vs[len(vs)-1], code, errs)
			}
			if n := h.emu.UserCount(); n != 0 {
				t.Errorf("%d users created against an outdated schema", n)
			}
		})
	}
}
