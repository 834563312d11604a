package pingonetest

import (
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/syncd/syncd/internal/testenv"
)

// Server is an Emulator behind an httptest.Server.
type Server struct {
	*httptest.Server
	*Emulator
}

// NewServer starts an emulator on a local port; tb's Cleanup closes it.
// A bad Options fails the test. With StrictSpec, spec violations fail it at
// cleanup:
//
//	s := pingonetest.NewServer(t, pingonetest.Options{SpecFile: pingonetest.SpecPath(t), StrictSpec: true})
func NewServer(tb testing.TB, opts Options) *Server {
	tb.Helper()
	if opts.Logf == nil {
		opts.Logf = func(string, ...any) {}
	}
	e, err := New(opts)
	if err != nil {
		tb.Fatalf("pingonetest: %v", err)
	}
	ts := httptest.NewServer(e)
	tb.Cleanup(ts.Close)
	s := &Server{Server: ts, Emulator: e}
	e.SetBaseURL(s.APIURL())
	if opts.StrictSpec && opts.SpecFile != "" {
		tb.Cleanup(func() {
			for _, v := range e.SpecViolations() {
				tb.Errorf("pingonetest: spec violation: %s", v)
			}
		})
	}
	return s
}

// APIURL is the API base: URL + "/v1".
func (s *Server) APIURL() string { return s.URL + "/v1" }

// AuthURL is the auth base; the token URL is AuthURL()/<env>/as/token.
func (s *Server) AuthURL() string { return s.URL }

// TokenURL is the worker app's token endpoint.
func (s *Server) TokenURL() string { return s.URL + "/" + s.EnvironmentID() + "/as/token" }

// SpecPath locates the PingOne OpenAPI spec (DefaultSpecPath). Missing ->
// the test is skipped (failed under CI) via testenv.Unavailable.
func SpecPath(tb testing.TB) string {
	tb.Helper()
	p, err := DefaultSpecPath()
	if err != nil {
		testenv.Unavailable(tb, "PingOne OpenAPI spec (set SYNCD_PINGONE_SPEC)", err)
	}
	return p
}

// DefaultSpecPath locates the PingOne OpenAPI spec: $SYNCD_PINGONE_SPEC,
// else the copy vendored in this package's testdata/spec (the file
// ../shared/reference/pingone cites, kept here so a bare clone runs its
// tests and benchmarks).
func DefaultSpecPath() (string, error) {
	p := os.Getenv("SYNCD_PINGONE_SPEC")
	if p == "" {
		_, file, _, ok := runtime.Caller(0)
		if !ok {
			return "", errors.New("no source path for package pingonetest: set SYNCD_PINGONE_SPEC")
		}
		p = filepath.Join(filepath.Dir(file), "testdata", "spec", specFile)
	}
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("PingOne OpenAPI spec: %w (set SYNCD_PINGONE_SPEC)", err)
	}
	return p, nil
}

// specFile is the spec's file name, here and in ../shared/reference/pingone.
const specFile = "pingone-management.source.yml"
