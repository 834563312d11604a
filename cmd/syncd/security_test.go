package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/syncd/syncd/internal/testenv"
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

// TestValidateOnlineChecksForReal: validate --online dials, does TLS and
// binds to LDAP (a dead server, an untrusted certificate or a wrong
// password is FAIL and exit 1), and never prints the state URL's password,
// even when the database cannot be reached.
func TestValidateOnlineChecksForReal(t *testing.T) {
	srv := testenv.LDAP(t)
	ldapSource := func(url, tls string) string {
		return fmt.Sprintf(`      ldap:
        url: %s
        bind_dn: %s
        base_dn: %s
        anchor: entryUUID%s`, url, srv.BindDN, srv.Subtree(t), tls)
	}
	caFile := "\n        tls: {ca_file: " + srv.CAFile + "}"
	dead := "ldaps://" + freePort(t)
	for _, tc := range []struct {
		name, source, password string
		code                   int
		want                   string
	}{
		{"reachable", ldapSource(srv.LDAPSURL, caFile), srv.Password, ExitOK, "ok    job people: ldap source (dial, TLS, bind)"},
		{"untrusted certificate", ldapSource(srv.LDAPSURL, ""), srv.Password, ExitFailed, "FAIL  job people: ldap source (dial, TLS, bind): "},
		{"dead server", ldapSource(dead, caFile), srv.Password, ExitFailed, "FAIL  job people: ldap source (dial, TLS, bind): ldap connect " + dead},
		{"wrong password", ldapSource(srv.LDAPSURL, caFile), "not-the-password", ExitFailed, "FAIL  job people: ldap source (dial, TLS, bind): "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, tc.source, "")
			h.syncdEnv = map[string]string{"SYNCD_LDAP_BIND_PASSWORD": tc.password}
			code, out, errs := h.syncd("validate", "--online")
			if code != tc.code || !strings.Contains(out, tc.want) {
				t.Fatalf("exit %d (want %d), output lacks %q:\n%s\n%s", code, tc.code, tc.want, out, errs)
			}
			if strings.Contains(out+errs, tc.password) {
				t.Errorf("output shows the bind password")
			}
		})
	}

	h := newHarness(t, csvSource(), "    custom_attributes: [costCenter]\n")
	h.writeCSV(rows(1)...)
	h.syncdEnv = map[string]string{"SYNCD_STATE_URL": "postgres://syncd:Pg-Secret-1@127.0.0.1:1/db?password=Pg-Secret-2&connect_timeout=2"}
	code, out, errs := h.syncd("validate", "--online")
	if code != ExitFailed || !strings.Contains(out, "FAIL  state postgres://syncd:xxxxx@127.0.0.1:1/db") {
		t.Errorf("exit %d, output:\n%s", code, out)
	}
	if strings.Contains(out+errs, "Pg-Secret") {
		t.Errorf("the state URL's password shows:\n%s\n%s", out, errs)
	}
	// The token fails: what depends on the schema is "not checked", never "ok".
	h.syncdEnv = map[string]string{}
	h.editConf("client_id: "+h.emu.ClientID(), "client_id: wrong-client")
	_, out, _ = h.syncd("validate", "--online")
	if !strings.Contains(out, `not checked  job people: custom attribute "costCenter"`) || strings.Contains(out, `ok    job people: custom attribute`) {
		t.Errorf("custom attribute check without a schema:\n%s", out)
	}
}
