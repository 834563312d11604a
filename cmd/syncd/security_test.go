package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
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
