package pingone

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/syncd/syncd/internal/secret"
)

const (
	testEnv    = "11111111-2222-4333-8444-555555555555"
	testSecret = "s3cret-never-printed"
	testUserID = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"
)

// fake is an httptest PingOne: a token endpoint plus a scripted API. Each
// API request takes the next handler of script; the last one repeats.
type fake struct {
	srv *httptest.Server

	mu           sync.Mutex
	script       []http.HandlerFunc
	apiCalls     int
	tokenFetches int
	tokenForms   []string // each token request's form and Authorization
	reqs         []recorded
	tokenFail    http.HandlerFunc
	tokenTTL     int
}

type recorded struct {
	Method, Path, Query, Auth, TxID, UA, ContentType string
	Body                                             string
}

func newFake(t *testing.T, script ...http.HandlerFunc) *fake {
	t.Helper()
	f := &fake{script: script, tokenTTL: 3600}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fake) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/"+testEnv+"/as/token" {
		_ = r.ParseForm()
		f.mu.Lock()
		f.tokenFetches++
		n := f.tokenFetches
		f.tokenForms = append(f.tokenForms, r.PostForm.Encode()+" auth="+r.Header.Get("Authorization")+" ua="+r.Header.Get("User-Agent"))
		fail, ttl := f.tokenFail, f.tokenTTL
		f.mu.Unlock()
		if fail != nil {
			fail(w, r)
			return
		}
		// A fresh connection for the API calls, so net/http never replays
		// a dropped request on its own.
		w.Header().Set("Connection", "close")
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"access_token":"tok-%d","token_type":"Bearer","expires_in":%d}`, n, ttl)
		return
	}
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.reqs = append(f.reqs, recorded{
		Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery,
		Auth: r.Header.Get("Authorization"), TxID: r.Header.Get("X-Ping-External-Transaction-ID"),
		UA: r.Header.Get("User-Agent"), ContentType: r.Header.Get("Content-Type"), Body: string(body),
	})
	i := f.apiCalls
	f.apiCalls++
	var h http.HandlerFunc
	if len(f.script) > 0 {
		h = f.script[min(i, len(f.script)-1)]
	}
	f.mu.Unlock()
	if h == nil {
		http.Error(w, "no script", http.StatusTeapot)
		return
	}
	h(w, r)
}

func (f *fake) calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.apiCalls
}

func (f *fake) tokens() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.tokenFetches
}

func (f *fake) tokenRequests() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.tokenForms...)
}

func (f *fake) requests() []recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]recorded(nil), f.reqs...)
}

// reply answers with status, JSON body and headers (name, value pairs).
func reply(status int, body string, hdr ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(hdr); i += 2 {
			w.Header().Set(hdr[i], hdr[i+1])
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

// drop closes the connection without a response (a lost response).
func drop(w http.ResponseWriter, r *http.Request) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err == nil {
		conn.Close()
	}
}

func userJSON(id, ext string) string {
	return fmt.Sprintf(`{"id":%q,"username":"u-%s","externalId":%q,"enabled":true,"population":{"id":"pop-1"},"name":{"given":"Ada","family":"Lovelace"},"_links":{"self":{"href":"x"}}}`, id, ext, ext)
}

var okUser = reply(200, userJSON(testUserID, "ext-1"))

// sleeper records backoffs instead of waiting.
type sleeper struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeper) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.d = append(s.d, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *sleeper) waits() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.d...)
}

func testConfig(base string) Config {
	return Config{
		APIURL: base + "/v1", AuthURL: base, EnvironmentID: testEnv,
		ClientID: "client-1", ClientSecret: secret.New(testSecret),
		RateLimit: 1000, MaxRetries: 3, Timeout: 5 * time.Second,
	}
}

func newTestClient(t *testing.T, f *fake, opts ...Option) (*Client, *sleeper) {
	t.Helper()
	s := &sleeper{}
	c, err := New(testConfig(f.srv.URL), zap.NewNop(), append([]Option{WithSleep(s.sleep)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c, s
}

func TestRetryDecisions(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 26, 8, 0, 0, 0, time.UTC)
	errBody := func(code string) string { return `{"id":"e-1","code":"` + code + `","message":"m"}` }
	tests := []struct {
		name      string
		script    []http.HandlerFunc
		wantCalls int
		wantErr   int // expected APIError status; 0 = success
		// wantWaits are the exact backoffs; nil means "check count and
		// jitter bounds only" (waitCount).
		wantWaits []time.Duration
		waitCount int
		tokens    int
	}{
		{name: "200", script: []http.HandlerFunc{okUser}, wantCalls: 1, tokens: 1},
		{name: "429 retry-after seconds", script: []http.HandlerFunc{reply(429, errBody("REQUEST_LIMITED"), "Retry-After", "2"), okUser},
			wantCalls: 2, wantWaits: []time.Duration{2 * time.Second}, tokens: 1},
		{name: "429 retry-after zero", script: []http.HandlerFunc{reply(429, errBody("REQUEST_LIMITED"), "Retry-After", "0"), okUser},
			wantCalls: 2, wantWaits: []time.Duration{0}, tokens: 1},
		{name: "429 retry-after http-date", script: []http.HandlerFunc{reply(429, errBody("REQUEST_LIMITED"), "Retry-After", now.Add(5*time.Second).Format(http.TimeFormat)), okUser},
			wantCalls: 2, wantWaits: []time.Duration{5 * time.Second}, tokens: 1},
		{name: "429 retry-after past date", script: []http.HandlerFunc{reply(429, errBody("REQUEST_LIMITED"), "Retry-After", now.Add(-time.Hour).Format(http.TimeFormat)), okUser},
			wantCalls: 2, wantWaits: []time.Duration{0}, tokens: 1},
		{name: "429 retry-after capped", script: []http.HandlerFunc{reply(429, errBody("REQUEST_LIMITED"), "Retry-After", "3600"), okUser},
			wantCalls: 2, wantWaits: []time.Duration{30 * time.Second}, tokens: 1},
		{name: "429 retry-after garbage uses backoff", script: []http.HandlerFunc{reply(429, errBody("REQUEST_LIMITED"), "Retry-After", "soon"), okUser},
			wantCalls: 2, waitCount: 1, tokens: 1},
		{name: "429 no retry-after uses backoff", script: []http.HandlerFunc{reply(429, errBody("REQUEST_LIMITED")), okUser},
			wantCalls: 2, waitCount: 1, tokens: 1},
		{name: "503 retry-after", script: []http.HandlerFunc{reply(503, "", "Retry-After", "1"), okUser},
			wantCalls: 2, wantWaits: []time.Duration{time.Second}, tokens: 1},
		{name: "500", script: []http.HandlerFunc{reply(500, errBody("UNEXPECTED_ERROR")), okUser}, wantCalls: 2, waitCount: 1, tokens: 1},
		{name: "502 html", script: []http.HandlerFunc{reply(502, "<html>bad gateway</html>"), okUser}, wantCalls: 2, waitCount: 1, tokens: 1},
		{name: "504", script: []http.HandlerFunc{reply(504, ""), okUser}, wantCalls: 2, waitCount: 1, tokens: 1},
		{name: "408", script: []http.HandlerFunc{reply(408, ""), okUser}, wantCalls: 2, waitCount: 1, tokens: 1},
		{name: "connection dropped", script: []http.HandlerFunc{drop, okUser}, wantCalls: 2, waitCount: 1, tokens: 1},
		{name: "503 until retries run out", script: []http.HandlerFunc{reply(503, "")}, wantCalls: 4, wantErr: 503, waitCount: 3, tokens: 1},
		{name: "400 not retried", script: []http.HandlerFunc{reply(400, errBody("INVALID_DATA")), okUser}, wantCalls: 1, wantErr: 400, tokens: 1},
		{name: "403 not retried", script: []http.HandlerFunc{reply(403, errBody("ACCESS_FAILED")), okUser}, wantCalls: 1, wantErr: 403, tokens: 1},
		{name: "404 not retried", script: []http.HandlerFunc{reply(404, errBody("NOT_FOUND")), okUser}, wantCalls: 1, wantErr: 404, tokens: 1},
		{name: "409 not retried", script: []http.HandlerFunc{reply(409, errBody("CONFLICT")), okUser}, wantCalls: 1, wantErr: 409, tokens: 1},
		{name: "415 not retried", script: []http.HandlerFunc{reply(415, errBody("INVALID_REQUEST")), okUser}, wantCalls: 1, wantErr: 415, tokens: 1},
		{name: "501 not retried", script: []http.HandlerFunc{reply(501, ""), okUser}, wantCalls: 1, wantErr: 501, tokens: 1},
		{name: "401 re-auth once then success", script: []http.HandlerFunc{reply(401, errBody("ACCESS_FAILED")), okUser},
			wantCalls: 2, wantWaits: []time.Duration{}, tokens: 2},
		{name: "401 twice fails", script: []http.HandlerFunc{reply(401, errBody("ACCESS_FAILED"))},
			wantCalls: 2, wantErr: 401, wantWaits: []time.Duration{}, tokens: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t, tt.script...)
			c, s := newTestClient(t, f, WithNow(func() time.Time { return now }))
			u, err := c.GetUser(context.Background(), testUserID)
			if tt.wantErr == 0 {
				if err != nil {
					t.Fatalf("GetUser: %v", err)
				}
				if u.ID != testUserID || u.Attributes["name.given"] != "Ada" {
					t.Errorf("user = %+v", u)
				}
			} else {
				var ae *APIError
				if !errors.As(err, &ae) || ae.Status != tt.wantErr {
					t.Fatalf("err = %v, want APIError %d", err, tt.wantErr)
				}
				if ae.Op != "get_user" {
					t.Errorf("Op = %q", ae.Op)
				}
			}
			if got := f.calls(); got != tt.wantCalls {
				t.Errorf("API calls = %d, want %d", got, tt.wantCalls)
			}
			if got := f.tokens(); got != tt.tokens {
				t.Errorf("token fetches = %d, want %d", got, tt.tokens)
			}
			waits := s.waits()
			if tt.wantWaits != nil {
				if fmt.Sprint(waits) != fmt.Sprint(tt.wantWaits) {
					t.Errorf("waits = %v, want %v", waits, tt.wantWaits)
				}
			} else {
				if len(waits) != tt.waitCount {
					t.Errorf("waits = %v, want %d of them", waits, tt.waitCount)
				}
				for i, w := range waits {
					// Full jitter draws from [0, ceil); exactly 0 has odds of
					// 1 in 2.5e8, so 0 means no backoff was asked for.
					if ceil := min(backoffCap, backoffBase<<i); w <= 0 || w >= ceil {
						t.Errorf("wait %d = %v, want in (0, %v)", i, w, ceil)
					}
				}
			}
			st := c.Stats()
			if st.Total() != int64(tt.wantCalls) {
				t.Errorf("Stats.Total = %d, want %d", st.Total(), tt.wantCalls)
			}
			if st.Retries != int64(tt.wantCalls-1) {
				t.Errorf("Stats.Retries = %d, want %d", st.Retries, tt.wantCalls-1)
			}
		})
	}
}

func TestErrorMapping(t *testing.T) {
	t.Parallel()
	uniq := `{"id":"6c79","code":"INVALID_DATA","message":"The request could not be completed.","details":[{"code":"UNIQUENESS_VIOLATION","target":"username","message":"must be unique","innerError":{"existingId":"x"}}]}`
	tests := []struct {
		name                  string
		status                int
		body                  string
		notFound, uniq, retry bool
		code                  string
		wantText              string
	}{
		{name: "uniqueness 400", status: 400, body: uniq, uniq: true, code: "INVALID_DATA",
			wantText: "pingone 400 INVALID_DATA: username: UNIQUENESS_VIOLATION must be unique (id 6c79)"},
		{name: "other 400", status: 400, body: `{"id":"1","code":"INVALID_DATA","message":"bad","details":[{"code":"INVALID_VALUE","target":"email","message":"not an email"}]}`,
			code: "INVALID_DATA", wantText: "pingone 400 INVALID_DATA: email: INVALID_VALUE not an email (id 1)"},
		{name: "409", status: 409, body: `{"id":"2","code":"CONFLICT","message":"exists"}`, uniq: true, code: "CONFLICT",
			wantText: "pingone 409 CONFLICT: exists (id 2)"},
		{name: "404", status: 404, body: `{"id":"3","code":"NOT_FOUND","message":"gone"}`, notFound: true, code: "NOT_FOUND"},
		{name: "403", status: 403, body: `{"id":"4","code":"ACCESS_FAILED","message":"no"}`, code: "ACCESS_FAILED"},
		{name: "429", status: 429, body: `{"id":"5","code":"REQUEST_LIMITED","message":"slow down"}`, retry: true, code: "REQUEST_LIMITED"},
		{name: "500", status: 500, body: `{"id":"6","code":"UNEXPECTED_ERROR","message":"oops"}`, retry: true, code: "UNEXPECTED_ERROR"},
		{name: "502 not json", status: 502, body: "<html>\nBad Gateway</html>", retry: true,
			wantText: "pingone 502 Bad Gateway: <html> Bad Gateway</html>"},
		{name: "415", status: 415, body: `{"id":"7","code":"INVALID_REQUEST","message":"type"}`, code: "INVALID_REQUEST"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFake(t, reply(tt.status, tt.body))
			c, _ := newTestClient(t, f)
			c.cfg.MaxRetries = 0
			_, err := c.GetUser(context.Background(), testUserID)
			var ae *APIError
			if !errors.As(err, &ae) {
				t.Fatalf("err = %v, want *APIError", err)
			}
			if ae.Status != tt.status || ae.Code != tt.code {
				t.Errorf("status/code = %d/%q", ae.Status, ae.Code)
			}
			if IsNotFound(err) != tt.notFound || IsUniquenessViolation(err) != tt.uniq || Retryable(err) != tt.retry {
				t.Errorf("IsNotFound=%t IsUniquenessViolation=%t Retryable=%t", IsNotFound(err), IsUniquenessViolation(err), Retryable(err))
			}
			if tt.wantText != "" && ae.Error() != tt.wantText {
				t.Errorf("Error() = %q\nwant       %q", ae.Error(), tt.wantText)
			}
			if !strings.Contains(err.Error(), "get user "+testUserID) {
				t.Errorf("wrapped error %q does not name the operation", err)
			}
		})
	}
	t.Run("uniqueness details survive", func(t *testing.T) {
		ae := parseAPIError("create_user", 400, []byte(uniq), 0)
		if len(ae.Details) != 1 || ae.Details[0].InnerError["existingId"] != "x" {
			t.Errorf("details = %+v", ae.Details)
		}
	})
}

func TestTokenCredentialErrorNotRetried(t *testing.T) {
	t.Parallel()
	f := newFake(t, okUser)
	f.tokenFail = func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(401)
		io.WriteString(w, `{"error":"invalid_client","error_description":"Request denied: Invalid client credentials (Correlation ID: abc)"}`)
	}
	c, s := newTestClient(t, f)
	_, err := c.GetUser(context.Background(), testUserID)
	var au *AuthError
	if !errors.As(err, &au) {
		t.Fatalf("err = %v, want *AuthError", err)
	}
	if !au.Credential() || !IsCredentialError(err) || Retryable(err) {
		t.Errorf("Credential=%t Retryable=%t", au.Credential(), Retryable(err))
	}
	if au.Code != "invalid_client" || au.Status != 401 {
		t.Errorf("code/status = %q/%d", au.Code, au.Status)
	}
	msg := err.Error()
	for _, want := range []string{`"client-1"`, f.srv.URL + "/" + testEnv + "/as/token", "invalid_client"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
	if strings.Contains(msg, testSecret) {
		t.Errorf("error leaks the secret: %q", msg)
	}
	if f.tokens() != 1 || f.calls() != 0 || len(s.waits()) != 0 {
		t.Errorf("token fetches %d, API calls %d, waits %v: want 1, 0, none", f.tokens(), f.calls(), s.waits())
	}
}

func TestTokenEndpointOverloadRetried(t *testing.T) {
	t.Parallel()
	f := newFake(t, okUser)
	var n int
	var mu sync.Mutex
	f.tokenFail = func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		n++
		first := n == 1
		mu.Unlock()
		if first {
			w.WriteHeader(503)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"access_token":"late","token_type":"Bearer","expires_in":3600}`)
	}
	c, s := newTestClient(t, f)
	if _, err := c.GetUser(context.Background(), testUserID); err != nil {
		t.Fatal(err)
	}
	if f.tokens() != 2 || len(s.waits()) != 1 {
		t.Errorf("token fetches %d, waits %v", f.tokens(), s.waits())
	}
	if got := f.requests()[0].Auth; got != "Bearer late" {
		t.Errorf("Authorization = %q", got)
	}
}

func TestTokenAuthMethods(t *testing.T) {
	t.Parallel()
	for _, method := range []string{"", AuthClientSecretBasic, AuthClientSecretPost} {
		t.Run("method="+method, func(t *testing.T) {
			t.Parallel()
			f := newFake(t, okUser)
			cfg := testConfig(f.srv.URL)
			cfg.AuthMethod = method
			c, err := New(cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.GetUser(context.Background(), testUserID); err != nil {
				t.Fatal(err)
			}
			form := f.tokenRequests()[0]
			inBody := strings.Contains(form, "client_secret="+testSecret)
			inHeader := strings.Contains(form, "auth=Basic ")
			if !strings.Contains(form, "grant_type=client_credentials") {
				t.Errorf("token form %q", form)
			}
			if method == AuthClientSecretPost && (!inBody || inHeader) || method != AuthClientSecretPost && (inBody || !inHeader) {
				t.Errorf("method %q: secret in body %t, basic header %t", method, inBody, inHeader)
			}
		})
	}
}

func TestTokenRefreshedBeforeExpiry(t *testing.T) {
	t.Parallel()
	f := newFake(t, okUser)
	var mu sync.Mutex
	now := time.Date(2026, 11, 26, 8, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	c, _ := newTestClient(t, f, WithNow(clock))
	ctx := context.Background()
	steps := []struct {
		advance time.Duration
		tokens  int
	}{
		{0, 1},
		{30 * time.Minute, 1},
		{28 * time.Minute, 1},             // 58 min: still more than a minute left
		{90 * time.Second, 2},             // 59.5 min: within the last minute, refreshed
		{30 * time.Minute, 2},             // the new one is good for an hour
		{29*time.Minute + time.Second, 3}, // 59 min 1 s into the second token
	}
	for i, s := range steps {
		advance(s.advance)
		if _, err := c.GetUser(ctx, testUserID); err != nil {
			t.Fatal(err)
		}
		if got := f.tokens(); got != s.tokens {
			t.Fatalf("step %d: token fetches = %d, want %d", i, got, s.tokens)
		}
	}
	reqs := f.requests()
	if reqs[0].Auth != "Bearer tok-1" || reqs[len(reqs)-1].Auth != "Bearer tok-3" {
		t.Errorf("Authorization first %q last %q", reqs[0].Auth, reqs[len(reqs)-1].Auth)
	}
}

func TestTLSFailureNotRetried(t *testing.T) {
	t.Parallel()
	api := httptest.NewTLSServer(okUser)
	t.Cleanup(api.Close)
	f := newFake(t) // token endpoint only
	cfg := testConfig(f.srv.URL)
	cfg.APIURL = api.URL + "/v1"
	s := &sleeper{}
	// The default client does not trust httptest's certificate.
	c, err := New(cfg, zap.NewNop(), WithSleep(s.sleep), WithHTTPClient(&http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{}}}))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.GetUser(context.Background(), testUserID)
	if err == nil || Retryable(err) {
		t.Fatalf("err = %v, Retryable = %t: want a TLS failure, not retryable", err, Retryable(err))
	}
	if !isTLSError(err) {
		t.Errorf("isTLSError(%v) = false", err)
	}
	if len(s.waits()) != 0 || c.Stats().Total() != 1 {
		t.Errorf("waits %v, attempts %d: want no retry", s.waits(), c.Stats().Total())
	}

	// The same with the token endpoint behind the untrusted certificate.
	cfg = testConfig(api.URL)
	c, err = New(cfg, zap.NewNop(), WithSleep(s.sleep))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.GetUser(context.Background(), testUserID)
	var au *AuthError
	if !errors.As(err, &au) || Retryable(err) || len(s.waits()) != 0 {
		t.Errorf("token over bad TLS: err = %v, Retryable = %t, waits %v", err, Retryable(err), s.waits())
	}
}

func TestContextCancel(t *testing.T) {
	t.Parallel()
	t.Run("during backoff", func(t *testing.T) {
		t.Parallel()
		f := newFake(t, reply(503, ""))
		ctx, cancel := context.WithCancel(context.Background())
		c, _ := newTestClient(t, f, WithSleep(func(ctx context.Context, d time.Duration) error {
			cancel()
			return ctx.Err()
		}))
		c.cfg.MaxRetries = 100
		_, err := c.GetUser(ctx, testUserID)
		if !errors.Is(err, context.Canceled) || f.calls() != 1 {
			t.Errorf("err = %v after %d calls, want context.Canceled after 1", err, f.calls())
		}
	})
	t.Run("in flight", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithCancel(context.Background())
		f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
			cancel()
			<-r.Context().Done()
		})
		c, s := newTestClient(t, f)
		_, err := c.GetUser(ctx, testUserID)
		if !errors.Is(err, context.Canceled) || len(s.waits()) != 0 {
			t.Errorf("err = %v, waits %v: want context.Canceled, no retry", err, s.waits())
		}
	})
	t.Run("per-request timeout is retried", func(t *testing.T) {
		t.Parallel()
		var mu sync.Mutex
		n := 0
		f := newFake(t, func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			n++
			first := n == 1
			mu.Unlock()
			if first {
				<-r.Context().Done()
				return
			}
			okUser(w, r)
		})
		c, s := newTestClient(t, f)
		c.cfg.Timeout = 100 * time.Millisecond
		if _, err := c.GetUser(context.Background(), testUserID); err != nil {
			t.Fatalf("err = %v", err)
		}
		// At least one retry: on a loaded machine a later attempt may
		// outlive the 100 ms timeout too (and is retried in turn).
		if len(s.waits()) < 1 {
			t.Errorf("waits %v, want a retry after the timeout", s.waits())
		}
	})
}

func TestRequestHeaders(t *testing.T) {
	t.Parallel()
	f := newFake(t, okUser)
	c, _ := newTestClient(t, f, WithVersion("1.2.3"))
	ctx := WithTransactionID(context.Background(), "run 42/é!")
	if _, err := c.GetUser(ctx, testUserID); err != nil {
		t.Fatal(err)
	}
	r := f.requests()[0]
	if r.UA != "syncd/1.2.3" || r.TxID != "run_42/é_" || r.Auth != "Bearer tok-1" {
		t.Errorf("headers: UA %q, TxID %q, Auth %q", r.UA, r.TxID, r.Auth)
	}
	if tr := f.tokenRequests()[0]; !strings.HasSuffix(tr, " ua=syncd/1.2.3") {
		t.Errorf("token request %q lacks the User-Agent", tr)
	}
	if r.Path != "/v1/environments/"+testEnv+"/users/"+testUserID {
		t.Errorf("path %q", r.Path)
	}
	if got := headerTransactionID(strings.Repeat("x", 150)); len(got) != 100 {
		t.Errorf("long transaction ID kept %d chars", len(got))
	}
}

func TestLogsNeverCarrySecrets(t *testing.T) {
	t.Parallel()
	f := newFake(t, reply(401, `{"id":"x","code":"ACCESS_FAILED"}`))
	core, logs := observer.New(zap.DebugLevel)
	s := &sleeper{}
	c, err := New(testConfig(f.srv.URL), zap.New(core), WithSleep(s.sleep))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.GetUser(WithTransactionID(context.Background(), "run-1"), testUserID)
	if err == nil {
		t.Fatal("want an error")
	}
	if logs.Len() == 0 {
		t.Fatal("no debug log")
	}
	for _, e := range logs.All() {
		b, _ := json.Marshal(e.ContextMap())
		for _, bad := range []string{testSecret, "tok-1", "tok-2", "Bearer"} {
			if strings.Contains(string(b), bad) || strings.Contains(e.Message, bad) {
				t.Errorf("log %q %s carries %q", e.Message, b, bad)
			}
		}
		if e.ContextMap()["run_id"] != "run-1" {
			t.Errorf("log %q lacks run_id", e.Message)
		}
	}
	if strings.Contains(err.Error(), testSecret) || strings.Contains(fmt.Sprintf("%+v %#v", c.cfg, c.cfg), testSecret) {
		t.Error("secret printed")
	}
}

// recObserver counts Observer calls.
type recObserver struct {
	mu                      sync.Mutex
	requests, retries, r429 int
	reasons                 []string
}

func (o *recObserver) Request(string, int, time.Duration) { o.mu.Lock(); o.requests++; o.mu.Unlock() }
func (o *recObserver) Retry(_, reason string) {
	o.mu.Lock()
	o.retries++
	o.reasons = append(o.reasons, reason)
	o.mu.Unlock()
}
func (o *recObserver) RateLimited(string)        { o.mu.Lock(); o.r429++; o.mu.Unlock() }
func (o *recObserver) LimiterWait(time.Duration) {}

var _ Observer = (*recObserver)(nil)

func TestObserverAndStats(t *testing.T) {
	t.Parallel()
	f := newFake(t, reply(429, `{"code":"REQUEST_LIMITED"}`, "Retry-After", "1"), reply(401, `{"code":"ACCESS_FAILED"}`), reply(503, ""), okUser)
	o := &recObserver{}
	c, _ := newTestClient(t, f, WithObserver(o))
	if _, err := c.GetUser(context.Background(), testUserID); err != nil {
		t.Fatal(err)
	}
	st := c.Stats()
	if st.RateLimited != 1 || st.Reauths != 1 || st.Retries != 3 || st.TokenFetches != 2 {
		t.Errorf("stats %+v", st)
	}
	if st.Requests["get_user"][429] != 1 || st.Requests["get_user"][200] != 1 || st.Status(503) != 1 {
		t.Errorf("by status %+v", st.Requests)
	}
	if o.requests != 4 || o.r429 != 1 || strings.Join(o.reasons, ",") != "429,reauth,503" {
		t.Errorf("observer: requests %d, 429s %d, reasons %v", o.requests, o.r429, o.reasons)
	}
}

func TestRateLimiterPaces(t *testing.T) {
	t.Parallel()
	f := newFake(t, okUser)
	cfg := testConfig(f.srv.URL)
	cfg.RateLimit = 50
	c, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 5 {
				if _, err := c.GetUser(ctx, testUserID); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	// 20 requests at 50/s with a burst of 1 must have waited ~380 ms in
	// total across the queue: at least the 19 gaps of 20 ms each.
	if st := c.Stats(); st.LimiterWait < 19*20*time.Millisecond/2 {
		t.Errorf("limiter wait %v: the limiter did not pace", st.LimiterWait)
	}
}

func TestRateLimitStormWarns(t *testing.T) {
	t.Parallel()
	f := newFake(t, reply(429, `{"code":"REQUEST_LIMITED"}`, "Retry-After", "0"))
	core, logs := observer.New(zap.WarnLevel)
	s := &sleeper{}
	cfg := testConfig(f.srv.URL)
	cfg.MaxRetries = 2 * stormCount
	c, err := New(cfg, zap.New(core), WithSleep(s.sleep))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.GetUser(context.Background(), testUserID)
	var ae *APIError
	if !errors.As(err, &ae) || ae.Status != 429 || ae.Code != "REQUEST_LIMITED" {
		t.Fatalf("err = %v", err)
	}
	if got := c.Stats().RateLimited; got != int64(2*stormCount+1) {
		t.Errorf("RateLimited = %d", got)
	}
	if n := logs.FilterMessage("pingone rate limiting requests").Len(); n != 1 {
		t.Errorf("%d storm warnings, want 1 (once per window)", n)
	}
}

var (
	_ error = (*APIError)(nil)
	_ error = (*AuthError)(nil)
)
