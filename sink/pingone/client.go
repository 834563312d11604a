package pingone

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"go.uber.org/zap"

	"github.com/syncd/syncd/sink/pingone/budget"
)

const (
	// maxRetryAfter caps how long a Retry-After header can make the client
	// wait (Ping's own SDKs use the same cap).
	maxRetryAfter = 30 * time.Second
	// backoffBase and backoffCap bound the exponential backoff: attempt n
	// sleeps a random duration in [0, min(cap, base·2^n)) ("full jitter").
	backoffBase = 250 * time.Millisecond
	backoffCap  = 30 * time.Second
	// maxBody bounds how much of a response the client reads.
	maxBody = 32 << 20
	// stormWindow and stormCount decide when 429s become a warning.
	stormWindow = 10 * time.Second
	stormCount  = 20
)

// Client talks to one PingOne environment. It is safe for concurrent use;
// its in-flight cap is shared by every goroutine using it, and its
// requests wait for the environment's Budget (by default one of its own;
// WithBudget shares one between clients and, through the state database,
// between processes). Both serve requests by priority class
// (budget.WithClass): disables first.
type Client struct {
	cfg       Config
	logger    *zap.Logger
	http      *http.Client
	envBase   string   // <api base>/environments/<env>
	api       *url.URL // parsed API base, for checking next links
	tokens    *tokenSource
	budget    Budget
	slots     *budget.Slots
	obs       Observer
	now       func() time.Time
	sleep     func(context.Context, time.Duration) error
	userAgent string
	st        stats

	stormMu    sync.Mutex
	stormStart time.Time
	stormN     int
}

// Option adjusts a Client built by New.
type Option func(*Client)

// WithHTTPClient sets the HTTP client used for the API and the token
// endpoint (e.g. one trusting a private CA). Its Timeout should be zero:
// the client applies Config.Timeout per attempt.
func WithHTTPClient(h *http.Client) Option { return func(c *Client) { c.http = h } }

// WithVersion sets the User-Agent to syncd/<version>.
func WithVersion(v string) Option {
	return func(c *Client) { c.userAgent = "syncd/" + v }
}

// Budget paces a client's requests. *budget.Limiter implements it.
type Budget interface {
	// Wait blocks until a request of class may be sent, or ctx ends.
	Wait(ctx context.Context, class budget.Class) error
	// Throttled reports a 429 from PingOne: the environment's rate drops.
	Throttled(ctx context.Context)
}

var _ Budget = (*budget.Limiter)(nil)

// WithBudget makes the client's requests wait for b, which other clients
// (other jobs, other processes through a shared budget.Pool) may share.
// Default: a budget of the client's own at Config.RateLimit.
func WithBudget(b Budget) Option { return func(c *Client) { c.budget = b } }

// WithObserver reports transport events to o (metrics).
func WithObserver(o Observer) Option { return func(c *Client) { c.obs = o } }

// WithNow sets the clock used for token expiry and Retry-After dates.
func WithNow(now func() time.Time) Option { return func(c *Client) { c.now = now } }

// WithSleep replaces how the client waits between attempts; sleep must
// return ctx.Err() when ctx ends first. Tests use it to record backoffs
// without waiting.
func WithSleep(sleep func(ctx context.Context, d time.Duration) error) Option {
	return func(c *Client) { c.sleep = sleep }
}

// New returns a client for cfg. Zero tunables get their defaults; cfg must
// validate. New makes no request: a bad credential shows on the first call
// as an *AuthError.
func New(cfg Config, logger *zap.Logger, opts ...Option) (*Client, error) {
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("pingone config: %w", err)
	}
	if cfg.ClientSecret.IsZero() {
		return nil, fmt.Errorf("pingone config: client_secret: not resolved (client_secret_file %q not loaded?)", cfg.ClientSecretFile)
	}
	if logger == nil {
		logger = zap.NewNop()
	}
	api, err := url.Parse(cfg.apiBase())
	if err != nil {
		return nil, fmt.Errorf("pingone config: api_url: %w", err)
	}
	c := &Client{
		cfg:       cfg,
		logger:    logger,
		http:      &http.Client{},
		envBase:   cfg.apiBase() + "/environments/" + url.PathEscape(cfg.EnvironmentID),
		api:       api,
		slots:     budget.NewSlots(cfg.Concurrency),
		obs:       nopObserver{},
		now:       time.Now,
		sleep:     sleepCtx,
		userAgent: "syncd/dev",
	}
	for _, o := range opts {
		o(c)
	}
	// Never follow a redirect, whatever client WithHTTPClient gave: a copy
	// with the refusing policy serves both the API and the token requests.
	hc := *c.http
	hc.CheckRedirect = refuseRedirect
	c.http = &hc
	if c.budget == nil {
		c.budget = budget.NewLimiter(budget.NewMemory(), cfg.EnvironmentID, cfg.RateLimit, logger)
	}
	// The token request carries the same User-Agent as API calls.
	th := *c.http
	th.Transport = uaTransport{base: c.http.Transport, ua: c.userAgent}
	c.tokens = newTokenSource(&c.cfg, &th, c.now, &c.st)
	return c, nil
}

// uaTransport sets the User-Agent on requests it did not build (oauth2's
// token request).
type uaTransport struct {
	base http.RoundTripper
	ua   string
}

// RoundTrip implements http.RoundTripper on a copy of r.
func (t uaTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	base := t.base
	if base == nil {
		base = http.DefaultTransport
	}
	r = r.Clone(r.Context())
	r.Header.Set("User-Agent", t.ua)
	return base.RoundTrip(r)
}

// Stats returns a snapshot of the client's counters.
func (c *Client) Stats() Stats { return c.st.snapshot() }

type txKey struct{}

// WithTransactionID returns ctx carrying id (the run ID), sent to PingOne
// as X-Ping-External-Transaction-ID and logged as run_id.
func WithTransactionID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, txKey{}, id)
}

// TransactionID returns the ID set with WithTransactionID, or "".
func TransactionID(ctx context.Context) string {
	id, _ := ctx.Value(txKey{}).(string)
	return id
}

// headerTransactionID makes id acceptable to PingOne: characters outside
// letters, marks, digits and . _ - / @ = # + become '_', and it is cut
// to 100 characters (API-NOTES §1).
func headerTransactionID(id string) string {
	var b strings.Builder
	n := 0
	for _, r := range id {
		if n == 100 {
			break
		}
		n++
		switch {
		case unicode.IsLetter(r), unicode.IsMark(r), unicode.IsDigit(r), strings.ContainsRune("._-/@=#+", r):
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}

// call describes one API operation for do.
type call struct {
	op          string // operation name for stats, logs and errors
	method      string
	url         string // absolute
	body        []byte // nil: no body; replayed as is on each attempt
	contentType string
	// recover, when set, runs before the request is sent again after an
	// ambiguous failure (the previous attempt may have been applied). When
	// it reports done, do returns (nil, nil) without sending.
	recover func(ctx context.Context) (done bool, err error)
}

// do runs c through the transport policy: token, in-flight cap, rate
// limit, retries. It returns the body of a 2xx response.
func (c *Client) do(ctx context.Context, cl call) ([]byte, error) {
	reauthed := false
	ambiguous := false
	for retries := 0; ; {
		if ambiguous && cl.recover != nil {
			done, err := cl.recover(ctx)
			if err != nil {
				return nil, fmt.Errorf("check for a lost %s response: %w", cl.op, err)
			}
			if done {
				return nil, nil
			}
		}

		tok, err := c.tokens.token(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if !Retryable(err) || retries >= c.cfg.MaxRetries {
				return nil, err
			}
			if err := c.backoff(ctx, cl.op, "token", retries, useBackoff); err != nil {
				return nil, err
			}
			retries++
			continue
		}

		status, body, hdr, err := c.send(ctx, cl, tok)
		if err != nil {
			ok, reason := transportRetryable(err, ctx)
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if !ok || errors.Is(err, errBudget) || retries >= c.cfg.MaxRetries {
				return nil, err
			}
			ambiguous = true
			if err := c.backoff(ctx, cl.op, reason, retries, useBackoff); err != nil {
				return nil, err
			}
			retries++
			continue
		}
		if status >= 200 && status < 300 {
			return body, nil
		}
		if status == http.StatusNotFound && ambiguous && cl.method == http.MethodDelete {
			// An earlier attempt deleted it; only its answer was lost.
			return nil, nil
		}
		if status == http.StatusUnauthorized && !reauthed {
			// The token expired or was revoked mid-run: fetch a new one,
			// once per call.
			reauthed = true
			c.tokens.invalidate(tok)
			c.st.update(func(s *Stats) { s.Reauths++; s.Retries++ })
			c.obs.Retry(cl.op, "reauth")
			continue
		}
		ra, hasRA := parseRetryAfter(hdr.Get("Retry-After"), c.now())
		apiErr := parseAPIError(cl.op, status, body, ra)
		if status == http.StatusTooManyRequests {
			c.rateLimited(cl.op)
			c.budget.Throttled(ctx)
		}
		if !apiErr.Retryable() {
			if ambiguous && cl.recover != nil && IsUniquenessViolation(apiErr) {
				// An earlier attempt was applied after all.
				done, err := cl.recover(ctx)
				if err == nil && done {
					return nil, nil
				}
			}
			return nil, apiErr
		}
		if retries >= c.cfg.MaxRetries {
			return nil, apiErr
		}
		if status >= 500 || status == http.StatusRequestTimeout {
			ambiguous = true
		}
		wait := useBackoff
		if hasRA && (status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable) {
			wait = ra
		}
		if err := c.backoff(ctx, cl.op, strconv.Itoa(status), retries, wait); err != nil {
			return nil, err
		}
		retries++
	}
}

// send makes one attempt: in-flight slot, budget, HTTP round trip. Both
// waits serve the request's class (budget.ClassOf) before lower ones.
func (c *Client) send(ctx context.Context, cl call, tok string) (int, []byte, http.Header, error) {
	class := budget.ClassOf(ctx)
	if err := c.slots.Acquire(ctx, class); err != nil {
		return 0, nil, nil, err
	}
	defer c.slots.Release()

	t0 := time.Now()
	if err := c.budget.Wait(ctx, class); err != nil {
		if ctx.Err() != nil {
			return 0, nil, nil, ctx.Err()
		}
		return 0, nil, nil, fmt.Errorf("%w: %w", errBudget, err)
	}
	if w := time.Since(t0); w > 0 {
		c.st.update(func(s *Stats) { s.LimiterWait += w })
		c.obs.LimiterWait(w)
	}

	rctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	var rd io.Reader
	if cl.body != nil {
		rd = bytes.NewReader(cl.body)
	}
	req, err := http.NewRequestWithContext(rctx, cl.method, cl.url, rd)
	if err != nil {
		return 0, nil, nil, err
	}
	if cl.body != nil {
		ct := cl.contentType
		if ct == "" {
			ct = "application/json"
		}
		req.Header.Set("Content-Type", ct)
		body := cl.body
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("User-Agent", c.userAgent)
	runID := TransactionID(ctx)
	if runID != "" {
		req.Header.Set("X-Ping-External-Transaction-ID", headerTransactionID(runID))
	}

	start := time.Now()
	resp, err := c.http.Do(req)
	if re := (*RedirectError)(nil); errors.As(err, &re) {
		// net/http's url.Error quotes the Location in full (user info,
		// query): keep only the redacted form.
		err = re
	}
	var body []byte
	status := 0
	if err == nil {
		status = resp.StatusCode
		body, err = io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
		resp.Body.Close()
		if err == nil && len(body) > maxBody {
			body, err = nil, errBodyTooLarge
		}
		if err != nil {
			status = 0 // a cut-off response is a transport failure
		}
	}
	d := time.Since(start)
	if resp != nil {
		recordOutcome(ctx, status, resp.Header)
	}
	c.st.request(cl.op, status)
	c.obs.Request(cl.op, status, d)
	if ce := c.logger.Check(zap.DebugLevel, "pingone request"); ce != nil {
		fields := []zap.Field{
			zap.String("op", cl.op), zap.String("method", cl.method),
			zap.Int("status", status), zap.Duration("duration", d),
			zap.String("run_id", runID),
		}
		if err != nil {
			fields = append(fields, zap.Error(err))
		}
		ce.Write(fields...)
	}
	if err != nil {
		return 0, nil, nil, err
	}
	return status, body, resp.Header, nil
}

// useBackoff asks backoff for exponential backoff rather than a given wait.
const useBackoff = time.Duration(-1)

// backoff waits before retry number retries+1: wait when it is not
// negative (a Retry-After), otherwise full-jitter exponential backoff.
func (c *Client) backoff(ctx context.Context, op, reason string, retries int, wait time.Duration) error {
	if wait < 0 {
		wait = jitter(retries)
	}
	c.st.update(func(s *Stats) { s.Retries++ })
	c.obs.Retry(op, reason)
	return c.sleep(ctx, wait)
}

// jitter returns a random duration in [0, min(backoffCap, backoffBase·2^n)).
func jitter(n int) time.Duration {
	ceil := backoffCap
	if n < 20 {
		ceil = min(backoffCap, backoffBase<<n)
	}
	return time.Duration(rand.Int64N(int64(ceil)))
}

// rateLimited counts a 429 and warns when they come in a storm.
func (c *Client) rateLimited(op string) {
	c.st.update(func(s *Stats) { s.RateLimited++ })
	c.obs.RateLimited(op)
	now := time.Now()
	c.stormMu.Lock()
	if now.Sub(c.stormStart) > stormWindow {
		c.stormStart, c.stormN = now, 0
	}
	c.stormN++
	n := c.stormN
	c.stormMu.Unlock()
	if n == stormCount {
		c.logger.Warn("pingone rate limiting requests",
			zap.Int("responses_429", n), zap.Duration("window", stormWindow),
			zap.Float64("rate_limit", c.cfg.RateLimit),
			zap.String("hint", "another client shares this licence's budget, or rate_limit is above it"))
	}
}

// parseRetryAfter reads a Retry-After header: delay seconds or an
// HTTP-date, capped at maxRetryAfter. ok is false when the header is
// absent or garbage.
func parseRetryAfter(v string, now time.Time) (d time.Duration, ok bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 {
			return 0, false
		}
		if n > int64(maxRetryAfter/time.Second) {
			return maxRetryAfter, true
		}
		return time.Duration(n) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return min(max(t.Sub(now), 0), maxRetryAfter), true
	}
	return 0, false
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// sameOrigin reports whether u points at the configured API host, so a
// next link never sends the bearer token elsewhere.
func (c *Client) sameOrigin(u *url.URL) bool {
	return strings.EqualFold(u.Scheme, c.api.Scheme) && strings.EqualFold(u.Host, c.api.Host)
}

// errBudget marks a failure of the request budget itself (its shared pool
// unreachable for long): retrying the request cannot help.
var errBudget = errors.New("wait for the request budget")
