package backend_test

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/syncd/syncd/internal/testenv"
	"github.com/syncd/syncd/state"
	"github.com/syncd/syncd/state/backend"
	"github.com/syncd/syncd/state/pgstate"
	"github.com/syncd/syncd/state/sqlitestate"
)

func TestParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		url, base string
		want      backend.Target
		err       string
	}{
		{url: "postgres://syncd@db:5432/syncd", want: backend.Target{Kind: backend.Postgres, URL: "postgres://syncd@db:5432/syncd"}},
		{url: "postgresql://syncd:pw@db/syncd?sslmode=verify-full", want: backend.Target{Kind: backend.Postgres, URL: "postgresql://syncd:pw@db/syncd?sslmode=verify-full"}},
		{url: "sqlite:///var/lib/syncd/state.db", base: "/etc/syncd", want: backend.Target{Kind: backend.SQLite, Path: "/var/lib/syncd/state.db"}},
		{url: "sqlite://syncd.db", want: backend.Target{Kind: backend.SQLite, Path: "syncd.db"}},
		{url: "sqlite://syncd.db", base: "/etc/syncd", want: backend.Target{Kind: backend.SQLite, Path: "/etc/syncd/syncd.db"}},
		{url: "sqlite://./x/state.db", base: "/etc/syncd", want: backend.Target{Kind: backend.SQLite, Path: "/etc/syncd/x/state.db"}},
		{url: "SQLite://x.db", want: backend.Target{Kind: backend.SQLite, Path: "x.db"}},
		{url: "", err: "empty"},
		{url: "state.db", err: "no scheme"},
		{url: "mysql://u:hunter22@db/x", err: "unsupported scheme"},
		{url: "sqlite://", err: "no database file path"},
		{url: "sqlite://x.db?mode=ro", err: "plain file path"},
		{url: "sqlite:///var/lib/syncd/", err: "directory"},
		{url: "postgres://", err: "no host"},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			t.Parallel()
			got, err := backend.Parse(tt.url, tt.base)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("Parse(%q) = %+v, %v; want error containing %q", tt.url, got, err, tt.err)
				}
				if strings.Contains(err.Error(), "hunter22") {
					t.Errorf("error %q leaks the password", err)
				}
				if !strings.Contains(err.Error(), "sqlite://") {
					t.Errorf("error %q does not name the accepted forms", err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Parse(%q, %q) = %+v, %v; want %+v", tt.url, tt.base, got, err, tt.want)
			}
		})
	}
}

func TestOpenSQLite(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s, err := backend.Open(t.Context(), "sqlite://sub.db", backend.Options{BaseDir: dir, AutoMigrate: true})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s.Close()
	ss, ok := s.(*sqlitestate.Store)
	if !ok {
		t.Fatalf("Open returned %T, want *sqlitestate.Store", s)
	}
	if want := filepath.Join(dir, "sub.db"); ss.Path() != want {
		t.Errorf("path %s, want %s", ss.Path(), want)
	}
	if err := s.SetCursor(t.Context(), "job", state.Cursor{Value: []byte("1")}); err != nil {
		t.Errorf("SetCursor: %v", err)
	}
}

func TestOpenPostgres(t *testing.T) {
	t.Parallel()
	url := testenv.PostgresURL(t)
	s, err := backend.Open(t.Context(), url, backend.Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s.Close()
	if _, ok := s.(*pgstate.Store); !ok {
		t.Fatalf("Open returned %T, want *pgstate.Store", s)
	}
	if err := s.Ping(t.Context()); err != nil {
		t.Errorf("Ping: %v", err)
	}
}

func TestOpenErrorNamesStore(t *testing.T) {
	t.Parallel()
	_, err := backend.Open(t.Context(), "sqlite:///nonexistent-dir-syncd/state.db", backend.Options{})
	if err == nil || !strings.Contains(err.Error(), "sqlite:///nonexistent-dir-syncd/state.db") {
		t.Errorf("Open = %v, want an error naming the store", err)
	}
	if errors.Is(err, state.ErrLocked) {
		t.Errorf("unexpected ErrLocked")
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"postgres://syncd:pw@db:5432/syncd?sslmode=require",
		"sqlite:///var/lib/syncd/state.db",
		"sqlite://./x/state.db",
		"sqlite://",
		"mysql://x",
		"",
	} {
		f.Add(s, "/etc/syncd")
	}
	f.Fuzz(func(t *testing.T, url, base string) {
		got, err := backend.Parse(url, base)
		if err != nil {
			return
		}
		switch got.Kind {
		case backend.Postgres:
			if got.URL != url {
				t.Fatalf("Parse(%q) changed the URL to %q", url, got.URL)
			}
		case backend.SQLite:
			if got.Path == "" || strings.ContainsAny(got.Path, "?#\x00") {
				t.Fatalf("Parse(%q) = path %q", url, got.Path)
			}
		default:
			t.Fatalf("Parse(%q) = kind %q", url, got.Kind)
		}
	})
}
