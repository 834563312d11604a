package pingonetest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSpecValidatorCatchesBadRequests shows the validator can fail: each
// request below breaks the spec and must be recorded.
func TestSpecValidatorCatchesBadRequests(t *testing.T) {
	t.Parallel()
	s := newLooseServer(t, Options{})
	c := newClient(t, s)
	id := c.mustCreate(minimalUser("spec"))
	cases := []struct {
		name   string
		method string
		path   string
		body   any
		want   string // substring of the violation
	}{
		{"limit above maximum", http.MethodGet, "/users?limit=5000", nil, "limit"},
		{"enabled not boolean", http.MethodPut, "/users/" + id + "/enabled", map[string]any{"enabled": "false"}, "boolean"},
		{"read-only property in request", http.MethodPatch, "/users/" + id, map[string]any{"enabled": false}, "readOnly"},
		{"wrong type", http.MethodPatch, "/users/" + id, map[string]any{"title": 5}, "string"},
		{"missing required on create", http.MethodPost, "/users", map[string]any{"username": "noemail"}, "email"},
		{"operation not in spec", http.MethodGet, "/users/" + id + "/nonsense", nil, "no such operation"},
	}
	for _, tc := range cases {
		before := len(s.SpecViolations())
		c.do(tc.method, tc.path, tc.body)
		vs := s.SpecViolations()[before:]
		found := false
		for _, v := range vs {
			if strings.HasPrefix(v, "request ") && strings.Contains(v, tc.want) {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: violation containing %q not recorded; got %q", tc.name, tc.want, vs)
		}
	}
	// A valid PATCH (no username/email) is not a violation: PATCH bodies are
	// checked without User's required list.
	before := len(s.SpecViolations())
	c.do(http.MethodPatch, "/users/"+id, map[string]any{"title": "Manager"})
	if vs := s.SpecViolations()[before:]; len(vs) > 0 {
		t.Errorf("valid PATCH flagged: %q", vs)
	}
}

// TestSpecValidatorCatchesBadResponses feeds the response validator
// responses the emulator would never send.
func TestSpecValidatorCatchesBadResponses(t *testing.T) {
	t.Parallel()
	v, err := loadSpec(SpecPath(t))
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(http.MethodGet, "https://api.pingone.com/v1/environments/e/users/u", nil)
	req.Header.Set("Authorization", "Bearer x")
	sr := v.validateRequest(req, nil)
	if sr == nil {
		t.Fatal("route not found")
	}
	h := http.Header{"Content-Type": {"application/json"}}
	v.validateResponse(sr, 200, h, []byte(`{"id":"u","username":12,"email":"a@b"}`))
	v.validateResponse(sr, 200, h, []byte(`{"id":"u","username":"bad\u0001name","email":"a@b"}`))
	v.validateResponse(sr, 418, h, []byte(`{}`))
	v.validateResponse(sr, 200, h, []byte(`{"id":"u","username":"ok","email":"a@b"}`)) // valid
	vs := v.violations()
	if len(vs) != 3 {
		t.Fatalf("want 3 response violations, got %d: %q", len(vs), vs)
	}
	for _, want := range []string{"username", "regular expression", "418"} {
		found := false
		for _, s := range vs {
			found = found || strings.Contains(s, want)
		}
		if !found {
			t.Errorf("no violation mentions %q: %q", want, vs)
		}
	}
}

// recordingTB captures Errorf and Cleanup so StrictSpec can be observed
// without failing this test.
type recordingTB struct {
	testing.TB
	errs     []string
	cleanups []func()
}

func (r *recordingTB) Errorf(format string, args ...any) { r.errs = append(r.errs, format) }
func (r *recordingTB) Cleanup(f func())                  { r.cleanups = append(r.cleanups, f) }

func TestStrictSpecFailsTheTest(t *testing.T) {
	t.Parallel()
	rec := &recordingTB{TB: t}
	s := NewServer(rec, Options{SpecFile: SpecPath(t), StrictSpec: true})
	c := &client{t: t, s: s, hc: s.Server.Client()}
	c.token = c.fetchToken()
	c.do(http.MethodGet, "/users?limit=5000", nil) // violates the spec (limit max 1000)
	for i := len(rec.cleanups) - 1; i >= 0; i-- {
		rec.cleanups[i]()
	}
	if len(rec.errs) == 0 {
		t.Fatal("StrictSpec did not report the violation")
	}
}

// The vendored spec is the one the API notes cite: the upstream file
// recorded in ../shared/reference/pingone/SOURCES.md (by its sha256), and,
// when that reference sits beside the repository, identical to it.
func TestVendoredSpecMatchesShared(t *testing.T) {
	got, err := os.ReadFile(SpecPath(t))
	if err != nil {
		t.Fatal(err)
	}
	const upstream = "4a37a97be37d486f5f45d1b82f44074d418e9d9d5ad0fdf364404f0d9e121471"
	if sum := sha256.Sum256(got); hex.EncodeToString(sum[:]) != upstream && os.Getenv("SYNCD_PINGONE_SPEC") == "" {
		t.Fatalf("vendored spec has sha256 %x, want %s (testdata/spec/README.md)", sum, upstream)
	}
	shared := filepath.Join("..", "..", "..", "..", "shared", "reference", "pingone", specFile)
	if want, err := os.ReadFile(shared); err == nil && !bytes.Equal(got, want) {
		t.Fatalf("the spec in use differs from %s: copy the shared spec again (testdata/spec/README.md)", shared)
	}
}

// TestRelaxationsAreCited: each departure from SPEC says what it does and
// cites the documentation that justifies it.
func TestRelaxationsAreCited(t *testing.T) {
	t.Parallel()
	for _, r := range relaxations {
		kinds := 0
		if r.edit != nil {
			kinds++
		}
		if len(r.statuses) > 0 {
			kinds++
		}
		if r.byHand != nil {
			kinds++
		}
		if r.name == "" || kinds != 1 {
			t.Errorf("relaxation %q: want a name and exactly one of edit, statuses, byHand", r.name)
		}
		if !strings.Contains(r.why, "API-NOTES §") {
			t.Errorf("relaxation %q cites no API-NOTES section: %s", r.name, r.why)
		}
	}
}

// TestSpecSampleValidatesOneInN: with SpecSample the fast emulator of the
// benchmarks still validates, one request in N (the first included), and
// what it validates it records.
func TestSpecSampleValidatesOneInN(t *testing.T) {
	t.Parallel()
	s := NewServer(t, Options{SpecFile: SpecPath(t), SpecSample: 3})
	c := newClient(t, s)
	id := c.mustCreate(minimalUser("sampled")) // request 1: validated
	for i := 0; i < 5; i++ {                   // requests 2..6: 4 is validated
		c.do(http.MethodPut, "/users/"+id+"/enabled", map[string]any{"enabled": "false"})
	}
	if got := len(s.SpecViolations()); got != 1 {
		t.Fatalf("%d violations recorded, want 1 (requests 1 and 4 of 6 validated): %q", got, s.SpecViolations())
	}
	if _, err := New(Options{SpecSample: 10}); err == nil {
		t.Error("a spec sample without a spec file was accepted")
	}
}
