package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// recorder is a loopback server that records every request it receives:
// the target of a redirect, which syncd must never reach.
type recorder struct {
	srv  *httptest.Server
	mu   sync.Mutex
	seen []string
}

func newRecorder(t *testing.T) *recorder {
	t.Helper()
	rc := &recorder{}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b bytes.Buffer
		_, _ = b.ReadFrom(r.Body)
		rc.mu.Lock()
		rc.seen = append(rc.seen, r.Method+" "+r.URL.String()+" auth="+r.Header.Get("Authorization")+" body="+b.String())
		rc.mu.Unlock()
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *recorder) requests() []string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]string(nil), rc.seen...)
}

// redirector answers every request with a redirect to target.
func redirector(t *testing.T, status int, target string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", target+r.URL.Path+"?stolen=Query-Secret")
		w.WriteHeader(status)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// editConf replaces old with new in the harness's config file.
func (h *harness) editConf(old, new string) {
	h.t.Helper()
	b, err := os.ReadFile(h.conf)
	if err != nil {
		h.t.Fatal(err)
	}
	if !strings.Contains(string(b), old) {
		h.t.Fatalf("config has no %q", old)
	}
	if err := os.WriteFile(h.conf, []byte(strings.Replace(string(b), old, new, 1)), 0o600); err != nil {
		h.t.Fatal(err)
	}
}

// TestRedirectsAreNeverFollowed drives the built binary against a PingOne
// whose API or token endpoint redirects to another loopback port: the run
// fails (exit 1) naming the status and the redacted target, and the target
// receives nothing: no bearer token, no client secret.
func TestRedirectsAreNeverFollowed(t *testing.T) {
	for _, tc := range []struct {
		name, key string
		status    int
	}{
		{"api 302 to another port", "api_url", http.StatusFound},
		{"token 307 re-sending the secret", "auth_url", http.StatusTemporaryRedirect},
		{"token 308 with the post auth method", "auth_url", http.StatusPermanentRedirect},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, csvSource(), "")
			h.writeCSV(rows(3)...)
			rc := newRecorder(t)
			if tc.key == "api_url" {
				h.editConf("api_url: "+h.emu.APIURL(), "api_url: "+redirector(t, tc.status, rc.srv.URL)+"/v1")
			} else {
				h.editConf("auth_url: "+h.emu.AuthURL(), "auth_url: "+redirector(t, tc.status, rc.srv.URL))
			}
			if tc.status == http.StatusPermanentRedirect {
				h.editConf("rate_limit: 500", "rate_limit: 500\n  auth_method: client_secret_post")
			}
			p := h.start(t, nil, "sync")
			if code := p.wait(t, time.Minute); code != ExitFailed {
				t.Fatalf("exit %d, want %d\n%s", code, ExitFailed, p.output())
			}
			out := p.output()
			for _, w := range []string{"answered " + strconv.Itoa(tc.status), "syncd never follows a redirect", rc.srv.Listener.Addr().String()} {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			for _, leak := range []string{"Query-Secret", testSecret} {
				if strings.Contains(out, leak) {
					t.Errorf("output shows %q:\n%s", leak, out)
				}
			}
			if got := rc.requests(); len(got) != 0 {
				t.Errorf("the redirect target received %d requests: %q", len(got), got)
			}
		})
	}
}

// TestOutputsNeverFollowSymlinks: --out and --report refuse a path that is
// a symbolic link (before the run: nothing is applied), and otherwise
// write through a temporary file renamed into place, mode 0600.
func TestOutputsNeverFollowSymlinks(t *testing.T) {
	h := newHarness(t, csvSource(), "")
	h.writeCSV(rows(3)...)
	victim := filepath.Join(h.dir, "victim")
	if err := os.WriteFile(victim, []byte("precious"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(h.dir, "link.json")
	if err := os.Symlink(victim, link); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"plan", "--out", link}, {"sync", "--report", link}, {"plan", "--report", h.dir}} {
		code, _, errs := h.syncd(args...)
		if code != ExitUsage || (!strings.Contains(errs, "symbolic link") && !strings.Contains(errs, "not a regular file")) {
			t.Errorf("%v: exit %d, %q", args, code, errs)
		}
	}
	if b, _ := os.ReadFile(victim); string(b) != "precious" {
		t.Errorf("the link's target was overwritten: %q", b)
	}
	if n := h.emu.UserCount(); n != 0 {
		t.Errorf("%d users created by a refused sync", n)
	}

	out, report := filepath.Join(h.dir, "plan.json"), filepath.Join(h.dir, "report.json")
	if err := os.WriteFile(report, []byte("old report"), 0o644); err != nil {
		t.Fatal(err)
	}
	h.expect(ExitOK, "plan", "--out", out)
	h.expect(ExitOK, "sync", "--report", report)
	for _, p := range []string{out, report} {
		fi, err := os.Lstat(p)
		if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v mode %v, want a regular file, 0600", p, err, fi.Mode())
		}
		b, _ := os.ReadFile(p)
		if !json.Valid(b) {
			t.Errorf("%s is not whole JSON", p)
		}
	}
	left, _ := filepath.Glob(filepath.Join(h.dir, ".*.tmp-*"))
	if len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

// TestTextOutputEscapesControlCharacters: a CSV key and name carrying
// terminal escapes (clear screen, OSC retitle, a C1 CSI, a bidi override)
// reach the plan table, the report and the errors only as visible escapes.
func TestTextOutputEscapesControlCharacters(t *testing.T) {
	h := newHarness(t, csvSource(), "")
	h.writeCSV(
		"e1\x1b[2J,user1,user1@example.com,Giv\x1b]0;pwned\x07en,Fam\u202eily",
		"e2\u009b31m,user2,broken-email,A,B",
	)
	code, out, errs := h.syncd("plan")
	if code != ExitRejected {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	for _, raw := range []string{"\x1b", "\x07", "\u009b", "\u202e"} {
		if strings.Contains(out, raw) {
			t.Errorf("plan output holds a raw %q:\n%s", raw, out)
		}
	}
	for _, want := range []string{`e1\u001b[2J`, `e2\u009b31m`} {
		if !strings.Contains(out, want) {
			t.Errorf("plan output lacks %q:\n%s", want, out)
		}
	}
	// An error naming a file whose name holds an escape.
	code, _, errs = h.syncd("validate", "--config", filepath.Join(h.dir, "no\x1b[2Jsuch.yaml"))
	if code != ExitUsage || strings.Contains(errs, "\x1b") || !strings.Contains(errs, `no\u001b[2Jsuch.yaml`) {
		t.Errorf("exit %d, stderr %q", code, errs)
	}
}
