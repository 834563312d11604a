package pingonetest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// newTestServer starts an emulator that validates all traffic against the
// spec and, at cleanup, fails the test on any response violation (and any
// request violation unless badRequests is set).
func newTestServer(t *testing.T, opts Options) *Server {
	t.Helper()
	opts.SpecFile = SpecPath(t)
	s := NewServer(t, opts)
	t.Cleanup(func() { checkSpec(t, s, false) })
	return s
}

// newLooseServer is newTestServer for tests that send deliberately wrong
// requests: only response violations fail the test.
func newLooseServer(t *testing.T, opts Options) *Server {
	t.Helper()
	opts.SpecFile = SpecPath(t)
	s := NewServer(t, opts)
	t.Cleanup(func() { checkSpec(t, s, true) })
	return s
}

func checkSpec(t *testing.T, s *Server, responsesOnly bool) {
	t.Helper()
	for _, v := range s.SpecViolations() {
		if responsesOnly && !strings.HasPrefix(v, "response ") {
			continue
		}
		t.Errorf("spec violation: %s", v)
	}
}

// apiResp is a decoded API answer.
type apiResp struct {
	status int
	header http.Header
	body   map[string]any
	raw    []byte
}

func (r apiResp) code() string { s, _ := r.body["code"].(string); return s }

func (r apiResp) detailCodes() []string {
	var out []string
	ds, _ := r.body["details"].([]any)
	for _, d := range ds {
		m := d.(map[string]any)
		out = append(out, m["code"].(string)+":"+str(m["target"]))
	}
	return out
}

func str(v any) string { s, _ := v.(string); return s }

// client is a plain net/http client holding a token.
type client struct {
	t     *testing.T
	s     *Server
	token string
	hc    *http.Client
}

func newClient(t *testing.T, s *Server) *client {
	t.Helper()
	c := &client{t: t, s: s, hc: s.Server.Client()}
	c.token = c.fetchToken()
	return c
}

func (c *client) fetchToken() string {
	c.t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}}
	req, _ := http.NewRequest(http.MethodPost, c.s.TokenURL(), strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(c.s.ClientID(), c.s.ClientSecret())
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatalf("token: %v", err)
	}
	defer resp.Body.Close()
	var tok map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || resp.StatusCode != 200 {
		c.t.Fatalf("token: status %d err %v", resp.StatusCode, err)
	}
	return tok["access_token"].(string)
}

// envPath prefixes p with the API base and environment.
func (c *client) envPath(p string) string {
	return c.s.APIURL() + "/environments/" + c.s.EnvironmentID() + p
}

func (c *client) do(method, target string, body any, contentType ...string) apiResp {
	c.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		js, err := json.Marshal(b)
		if err != nil {
			c.t.Fatal(err)
		}
		rd = bytes.NewReader(js)
	}
	if !strings.HasPrefix(target, "http") {
		target = c.envPath(target)
	}
	req, err := http.NewRequest(method, target, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if rd != nil {
		ct := "application/json"
		if len(contentType) > 0 {
			ct = contentType[0]
		}
		req.Header.Set("Content-Type", ct)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, target, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	out := apiResp{status: resp.StatusCode, header: resp.Header, raw: raw}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out.body); err != nil {
			c.t.Fatalf("%s %s: body not JSON: %q", method, target, raw)
		}
		if out.status >= 400 {
			// §6a: every error has a fresh id, a code and a message.
			if str(out.body["id"]) == "" || str(out.body["code"]) == "" || str(out.body["message"]) == "" {
				c.t.Errorf("%s %s: error body not P1Error-shaped: %s", method, target, raw)
			}
		}
	}
	return out
}

// mustCreate creates a user and returns its id.
func (c *client) mustCreate(u map[string]any) string {
	c.t.Helper()
	r := c.do(http.MethodPost, "/users", u)
	if r.status != http.StatusCreated {
		c.t.Fatalf("create %v: %d %s", u, r.status, r.raw)
	}
	return r.body["id"].(string)
}

func minimalUser(name string) map[string]any {
	return map[string]any{"username": name, "email": name + "@example.com"}
}

func TestSpecPathEnv(t *testing.T) {
	p := SpecPath(t)
	t.Setenv("SYNCD_PINGONE_SPEC", p)
	if got := SpecPath(t); got != p {
		t.Fatalf("SpecPath with env = %q, want %q", got, p)
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatal(err)
	}
}

func jsonBody(t *testing.T, v any) io.Reader {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.NewReader(b)
}
