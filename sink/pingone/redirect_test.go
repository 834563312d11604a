package pingone

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
)

// trap is a loopback server that records everything sent to it: a
// redirect target syncd must never reach.
type trap struct {
	srv  *httptest.Server
	mu   sync.Mutex
	seen []string
}

func newTrap(t *testing.T) *trap {
	tr := &trap{}
	tr.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b bytes.Buffer
		_, _ = b.ReadFrom(r.Body)
		tr.mu.Lock()
		tr.seen = append(tr.seen, r.Method+" "+r.URL.String()+" auth="+r.Header.Get("Authorization")+" body="+b.String())
		tr.mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(tr.srv.Close)
	return tr
}

func (tr *trap) requests() []string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return append([]string(nil), tr.seen...)
}

func redirectTo(status int, target string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", target)
		w.WriteHeader(status)
	}
}

func TestAPIRedirectIsNeverFollowed(t *testing.T) {
	t.Parallel()
	for _, status := range []int{301, 302, 303, 307, 308} {
		tr := newTrap(t)
		// The target's user info and query must not reach the message.
		target := strings.Replace(tr.srv.URL, "http://", "http://user:Loc-Pass@", 1) + "/v1/steal?token=Loc-Query"
		f := newFake(t, redirectTo(status, target))
		c, _ := newTestClient(t, f)
		_, err := c.Populations(context.Background())
		var re *RedirectError
		if !errors.As(err, &re) || re.Status != status {
			t.Fatalf("%d: err = %v, want a RedirectError", status, err)
		}
		if got := tr.requests(); len(got) != 0 {
			t.Errorf("%d: the redirect target received %q", status, got)
		}
		if f.calls() != 1 {
			t.Errorf("%d: %d API calls: a redirect is not retried", status, f.calls())
		}
		msg := err.Error()
		if !strings.Contains(msg, tr.srv.Listener.Addr().String()+"/v1/steal") || strings.Contains(msg, "Loc-Pass") || strings.Contains(msg, "Loc-Query") {
			t.Errorf("%d: message %q: want the target without user info or query", status, msg)
		}
	}
}

func TestTokenRedirectNeverResendsTheSecret(t *testing.T) {
	t.Parallel()
	for _, method := range []string{AuthClientSecretBasic, AuthClientSecretPost} {
		for _, status := range []int{302, 307, 308} {
			tr := newTrap(t)
			f := newFake(t)
			f.tokenFail = redirectTo(status, tr.srv.URL+"/as/token")
			cfg := testConfig(f.srv.URL)
			cfg.AuthMethod = method
			c, err := New(cfg, nil, WithSleep((&sleeper{}).sleep))
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Populations(context.Background())
			var re *RedirectError
			if !errors.As(err, &re) || re.Status != status {
				t.Fatalf("%s %d: err = %v, want a RedirectError", method, status, err)
			}
			if got := tr.requests(); len(got) != 0 {
				t.Errorf("%s %d: the redirect target received %q", method, status, got)
			}
			if f.tokenFetches != 1 {
				t.Errorf("%s %d: %d token requests: a redirect is not retried", method, status, f.tokenFetches)
			}
			if strings.Contains(err.Error(), testSecret) {
				t.Errorf("error prints the secret: %v", err)
			}
		}
	}
}

func TestOversizedResponseBodyIsRefused(t *testing.T) {
	t.Parallel()
	big := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		chunk := bytes.Repeat([]byte(" "), 1<<20)
		for i := 0; i <= maxBody>>20; i++ {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}
	f := newFake(t, big)
	cfg := testConfig(f.srv.URL)
	cfg.Timeout = 5 * time.Minute // the 33 MiB must arrive in one attempt, however loaded the machine
	c, err := New(cfg, zap.NewNop(), WithSleep((&sleeper{}).sleep))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Populations(context.Background())
	if !errors.Is(err, errBodyTooLarge) || !strings.Contains(err.Error(), "larger than 32 MiB") {
		t.Fatalf("err = %v, want the body refused", err)
	}
	if f.calls() != 1 {
		t.Errorf("%d calls: an oversized body is not retried", f.calls())
	}
}
