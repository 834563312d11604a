package notify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/syncd/syncd/internal/fielderr"
	"github.com/syncd/syncd/internal/secret"
	"github.com/syncd/syncd/reconcile"
)

// Events a hook may subscribe to.
const (
	EventGate    = "gate"    // the safety gate stopped a run
	EventFailed  = "failed"  // a run failed
	EventRejects = "rejects" // a run left records rejected or users failed
	EventSummary = "summary" // every run
)

// Formats of the POST body.
const (
	FormatJSON  = "json"
	FormatSlack = "slack" // Slack incoming webhook: {"text": …}
	FormatTeams = "teams" // Teams connector MessageCard
)

// Hook is one configured webhook.
type Hook struct {
	// URL receives the POSTs. A URL that embeds a secret (Slack's and
	// Teams' do) belongs in URLFile instead.
	URL string `yaml:"url"`
	// URLFile holds the URL, read at load like any secret file.
	URLFile string `yaml:"url_file"`
	// On lists the events sent. Default [gate, failed, rejects].
	On []string `yaml:"on"`
	// Format is json (default), slack or teams.
	Format string `yaml:"format"`

	// Resolved is the URL to POST to, set by Resolve (from URL or URLFile).
	Resolved secret.Value `yaml:"-"`
}

// SetDefaults fills On and Format.
func (h *Hook) SetDefaults() {
	if h.On == nil {
		h.On = []string{EventGate, EventFailed, EventRejects}
	}
	if h.Format == "" {
		h.Format = FormatJSON
	}
}

// Validate checks the hook; paths are relative to it. It runs after
// Resolve: the URL it checks may come from the file.
func (h *Hook) Validate() error {
	var errs fielderr.List
	switch {
	case h.URL != "" && h.URLFile != "":
		errs.Add("url", "set url or url_file, not both")
	case h.URL == "" && h.URLFile == "":
		errs.Add("url", "required (or url_file)")
	case !h.Resolved.IsZero():
		if err := checkURL(h.Resolved.Reveal()); err != nil {
			field := "url"
			if h.URLFile != "" {
				field = "url_file"
			}
			errs.Add(field, "%v", err)
		}
	}
	for i, e := range h.On {
		if !slices.Contains([]string{EventGate, EventFailed, EventRejects, EventSummary}, e) {
			errs.Add(fmt.Sprintf("on[%d]", i), "unknown event %q (use gate, failed, rejects or summary)", e)
		}
	}
	if !slices.Contains([]string{FormatJSON, FormatSlack, FormatTeams}, h.Format) {
		errs.Add("format", "want json, slack or teams, not %q", h.Format)
	}
	return errs.Err()
}

// Resolve sets Resolved from URL, or reads URLFile (a secret file: refused
// when others may read it). abs makes a relative path absolute.
func (h *Hook) Resolve(abs func(string) string) error {
	if h.URLFile == "" {
		h.Resolved = secret.New(strings.TrimSpace(h.URL))
		return nil
	}
	v, err := secret.ReadFile(abs(h.URLFile))
	if err != nil {
		return err
	}
	h.Resolved = secret.New(strings.TrimSpace(v.Reveal()))
	return nil
}

// checkURL wants https, or http to a loopback address; its errors never
// quote the URL (it may embed a token).
func checkURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return errors.New("not an absolute URL")
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		host := u.Hostname()
		if ip := net.ParseIP(host); host == "localhost" || (ip != nil && ip.IsLoopback()) {
			return nil
		}
		return errors.New("http is allowed to a loopback address only: use https")
	}
	return fmt.Errorf("scheme %q: want https", u.Scheme)
}

// Notifier delivers the events of runs to the configured hooks, one
// background sender per hook. It is safe for concurrent use.
type Notifier struct {
	log     *zap.Logger
	http    *http.Client
	senders []*sender
	wg      sync.WaitGroup

	// Attempts is how many times a POST is tried (default 5); Backoff the
	// first wait between attempts, doubled each time up to 30s (default
	// 1s), with jitter.
	attempts int
	backoff  time.Duration
	sleep    func(context.Context, time.Duration) error

	closeOnce sync.Once
	stop      context.CancelFunc
	ctx       context.Context
}

type sender struct {
	idx   int
	hook  Hook
	queue chan message
}

type message struct {
	event string
	body  []byte
}

// Option adjusts a Notifier.
type Option func(*Notifier)

// WithRetry sets the attempts per POST and the first backoff.
func WithRetry(attempts int, backoff time.Duration) Option {
	return func(n *Notifier) { n.attempts, n.backoff = attempts, backoff }
}

// WithHTTPClient sets the client the POSTs go through.
func WithHTTPClient(c *http.Client) Option { return func(n *Notifier) { n.http = c } }

// queueLen bounds the events waiting per hook; beyond, events are dropped
// (and logged) rather than held: a dead receiver must not grow memory.
const queueLen = 64

// New starts a sender per hook (resolved and valid). With no hooks it
// returns a Notifier that does nothing.
func New(hooks []Hook, log *zap.Logger, opts ...Option) *Notifier {
	if log == nil {
		log = zap.NewNop()
	}
	n := &Notifier{log: log, attempts: 5, backoff: time.Second, sleep: sleepCtx}
	n.http = &http.Client{
		Timeout: 10 * time.Second,
		// A redirect would carry the body elsewhere: never followed.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	for _, o := range opts {
		o(n)
	}
	n.ctx, n.stop = context.WithCancel(context.Background())
	for i, h := range hooks {
		s := &sender{idx: i, hook: h, queue: make(chan message, queueLen)}
		n.senders = append(n.senders, s)
		n.wg.Add(1)
		go n.run(s)
	}
	return n
}

// Report queues the events of one run for the hooks that want them. It
// never blocks: a full queue drops the event, logged. Dry runs notify
// nothing.
func (n *Notifier) Report(rep *reconcile.Report) {
	if n == nil || rep == nil || rep.DryRun || len(n.senders) == 0 {
		return
	}
	for _, ev := range Events(rep) {
		for _, s := range n.senders {
			if !slices.Contains(s.hook.On, ev) {
				continue
			}
			body, err := Body(s.hook.Format, ev, rep)
			if err != nil {
				n.log.Warn("notification not built", zap.Int("notify", s.idx), zap.String("event", ev), zap.Error(err))
				continue
			}
			select {
			case s.queue <- message{ev, body}:
			default:
				n.log.Warn("notification dropped: the hook's queue is full (receiver down?)", zap.Int("notify", s.idx), zap.String("event", ev), zap.String("job", rep.Job))
			}
		}
	}
}

// Close stops accepting events and waits for the queued ones to be
// delivered, until ctx ends; then gives up on the rest.
func (n *Notifier) Close(ctx context.Context) {
	if n == nil {
		return
	}
	n.closeOnce.Do(func() {
		for _, s := range n.senders {
			close(s.queue)
		}
	})
	done := make(chan struct{})
	go func() { n.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		n.stop()
		<-done
	}
	n.stop()
}

func (n *Notifier) run(s *sender) {
	defer n.wg.Done()
	for m := range s.queue {
		if err := n.deliver(s, m); err != nil {
			n.log.Warn("notification not delivered", zap.Int("notify", s.idx), zap.String("event", m.event), zap.Error(err))
		}
	}
}

// deliver POSTs m, retrying transport errors, 429 and 5xx with backoff.
// Errors name the hook by its index, never by its URL.
func (n *Notifier) deliver(s *sender, m message) error {
	var last error
	wait := n.backoff
	for attempt := 1; attempt <= n.attempts; attempt++ {
		retry, err := n.post(s, m)
		if err == nil {
			return nil
		}
		last = err
		if !retry || attempt == n.attempts {
			break
		}
		d := wait/2 + time.Duration(rand.Int64N(int64(wait/2)+1))
		if err := n.sleep(n.ctx, d); err != nil {
			return fmt.Errorf("gave up at shutdown after %d attempts: %w", attempt, last)
		}
		wait = min(2*wait, 30*time.Second)
	}
	return fmt.Errorf("after %d attempts: %w", n.attempts, last)
}

func (n *Notifier) post(s *sender, m message) (retry bool, err error) {
	ctx, cancel := context.WithTimeout(n.ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.hook.Resolved.Reveal(), bytes.NewReader(m.body))
	if err != nil {
		return false, errors.New("bad URL") // the URL may hold a token: not quoted
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "syncd")
	resp, err := n.http.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // url.Error quotes the URL
		}
		return true, fmt.Errorf("post: %w", err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	switch {
	case resp.StatusCode/100 == 2:
		return false, nil
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return true, fmt.Errorf("receiver answered %d", resp.StatusCode)
	}
	return false, fmt.Errorf("receiver answered %d (not retried)", resp.StatusCode)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
