package backend

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"go.uber.org/zap"

	"github.com/syncd/syncd/state"
	"github.com/syncd/syncd/state/internal/stateurl"
	"github.com/syncd/syncd/state/pgstate"
	"github.com/syncd/syncd/state/sqlitestate"
)

// Forms lists the accepted state.url forms, for error messages and help.
const Forms = "postgres://user@host:5432/db (or postgresql://), sqlite:///absolute/path/state.db, or sqlite://relative/path/state.db"

// Options tunes Open.
type Options struct {
	// Logger is passed to the backend. Default: a no-op logger.
	Logger *zap.Logger
	// BaseDir resolves relative sqlite:// paths; the config loader passes
	// the config file's directory. Default: the working directory.
	BaseDir string
	// AutoMigrate runs Migrate at Open.
	AutoMigrate bool
}

// Kind is the backend a state URL selects.
type Kind string

// Backend kinds.
const (
	Postgres Kind = "postgres"
	SQLite   Kind = "sqlite"
)

// Target is a parsed state URL: for Postgres the URL itself, for SQLite the
// database file path (absolute, or relative to the working directory).
type Target struct {
	Kind Kind
	// URL is the PostgreSQL connection URL (Kind Postgres).
	URL string
	// Path is the SQLite database file (Kind SQLite).
	Path string
}

// Parse resolves rawURL to a Target without opening anything. Relative
// sqlite:// paths are joined to baseDir when it is not empty.
func Parse(rawURL, baseDir string) (Target, error) {
	scheme, rest, ok := strings.Cut(rawURL, "://")
	switch {
	case strings.TrimSpace(rawURL) == "":
		return Target{}, fmt.Errorf("state url is empty: want %s", Forms)
	case !ok:
		return Target{}, fmt.Errorf("state url %q: no scheme: want %s", Redact(rawURL), Forms)
	}
	switch strings.ToLower(scheme) {
	case "postgres", "postgresql":
		if rest == "" {
			return Target{}, fmt.Errorf("state url %q: no host or database: want %s", Redact(rawURL), Forms)
		}
		return Target{Kind: Postgres, URL: rawURL}, nil
	case "sqlite":
		path := rest
		switch {
		case path == "" || path == "/":
			return Target{}, fmt.Errorf("state url %q: no database file path: want %s", rawURL, Forms)
		case strings.ContainsAny(path, "?#"):
			return Target{}, fmt.Errorf("state url %q: sqlite:// takes a plain file path, without '?' or '#'", rawURL)
		case strings.ContainsRune(path, 0):
			return Target{}, fmt.Errorf("state url %q: path contains a NUL byte", rawURL)
		case strings.HasSuffix(path, "/"):
			return Target{}, fmt.Errorf("state url %q: names a directory, want a database file path", rawURL)
		}
		if !filepath.IsAbs(path) && baseDir != "" {
			path = filepath.Join(baseDir, path)
		}
		return Target{Kind: SQLite, Path: filepath.Clean(path)}, nil
	}
	return Target{}, fmt.Errorf("state url %q: unsupported scheme %q: want %s", Redact(rawURL), scheme, Forms)
}

// Open opens the store rawURL names: postgres:// and postgresql:// open
// state/pgstate, sqlite://PATH opens state/sqlitestate (sqlite:///abs/path
// is absolute, sqlite://rel/path relative to opts.BaseDir or the working
// directory). Errors name the store with its password redacted.
func Open(ctx context.Context, rawURL string, opts Options) (state.Store, error) {
	t, err := Parse(rawURL, opts.BaseDir)
	if err != nil {
		return nil, err
	}
	switch t.Kind {
	case Postgres:
		s, err := pgstate.Open(ctx, t.URL, pgstate.Options{Logger: opts.Logger, AutoMigrate: opts.AutoMigrate})
		if err != nil {
			return nil, err
		}
		return s, nil
	case SQLite:
		s, err := sqlitestate.Open(ctx, t.Path, sqlitestate.Options{Logger: opts.Logger, AutoMigrate: opts.AutoMigrate})
		if err != nil {
			return nil, err
		}
		return s, nil
	}
	return nil, errors.New("unreachable: unknown backend kind " + string(t.Kind))
}

// Redact returns rawURL with any password replaced by "xxxxx", for logs and
// error messages.
func Redact(rawURL string) string { return stateurl.Redact(rawURL) }
