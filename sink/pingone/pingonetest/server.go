package pingonetest

import (
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
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

// SpecPath locates the PingOne OpenAPI spec: $SYNCD_PINGONE_SPEC, else
// ../shared/reference/pingone/pingone-management.source.yml beside the
// repository root (the directory holding go.mod). Missing -> the test is
// skipped (failed under CI) via testenv.Unavailable.
func SpecPath(tb testing.TB) string {
	tb.Helper()
	if p := os.Getenv("SYNCD_PINGONE_SPEC"); p != "" {
		if _, err := os.Stat(p); err != nil {
			testenv.Unavailable(tb, "PingOne OpenAPI spec ($SYNCD_PINGONE_SPEC)", err)
		}
		return p
	}
	dir, err := os.Getwd()
	if err != nil {
		testenv.Unavailable(tb, "PingOne OpenAPI spec", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			p := filepath.Join(filepath.Dir(dir), "shared", "reference", "pingone", "pingone-management.source.yml")
			if _, err := os.Stat(p); err != nil {
				testenv.Unavailable(tb, "PingOne OpenAPI spec (set SYNCD_PINGONE_SPEC)", err)
			}
			return p
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			testenv.Unavailable(tb, "PingOne OpenAPI spec", errors.New("no go.mod above the working directory"))
			return ""
		}
		dir = parent
	}
}
