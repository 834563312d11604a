package daemon

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.uber.org/zap"
)

// readyTimeout bounds one readiness check.
const readyTimeout = 5 * time.Second

// Handler serves /healthz, /readyz and (with a Registry) /metrics.
//
// /healthz answers 200 "ok" while the process serves HTTP. /readyz answers
// 200 once the jobs are scheduled and Options.Ready succeeds, and 503 with
// a short fixed reason otherwise (starting, shutting down, state store
// unreachable): the check's error goes to the log, never into the response,
// so no DSN or secret can leak through a probe.
func (d *Daemon) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", d.readyz)
	if d.opts.Registry != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(d.opts.Registry, promhttp.HandlerOpts{
			Registry:          d.opts.Registry,
			ErrorLog:          zap.NewStdLog(d.logger),
			EnableOpenMetrics: true,
		}))
	}
	return mux
}

func (d *Daemon) readyz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	reason := ""
	d.mu.Lock()
	stopping := d.stopping
	d.mu.Unlock()
	switch {
	case stopping:
		reason = "shutting down"
	case !d.loaded.Load():
		reason = "starting: jobs not scheduled yet"
	case d.opts.Ready != nil:
		err := d.ready.check(r.Context(), d.opts.Ready, d.opts.ReadyCache)
		if err != nil {
			reason = "state store unreachable"
			// Log on the transition only: probes come every few seconds.
			if !d.wasNotReady.Swap(true) {
				d.logger.Warn("not ready: readiness check failed", zap.Error(err))
			}
		} else if d.wasNotReady.Swap(false) {
			d.logger.Info("ready again")
		}
	}
	if reason == "" {
		reason = d.watchStale()
	}
	if reason != "" {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte("not ready: " + reason + "\n"))
		return
	}
	_, _ = w.Write([]byte("ready\n"))
}

// HTTP server timeouts: a client that opens a connection and sends
// nothing, reads nothing, or keeps an idle keep-alive connection open must
// not hold a goroutine and a file descriptor forever.
const (
	httpReadHeaderTimeout = 5 * time.Second
	httpReadTimeout       = 10 * time.Second
	httpWriteTimeout      = 30 * time.Second // a /metrics scrape is the longest answer
	httpIdleTimeout       = 60 * time.Second
	defaultReadyCache     = time.Second
)

// newHTTPServer returns the server of /healthz, /readyz and /metrics.
func newHTTPServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: httpReadHeaderTimeout,
		ReadTimeout:       httpReadTimeout,
		WriteTimeout:      httpWriteTimeout,
		IdleTimeout:       httpIdleTimeout,
		MaxHeaderBytes:    16 << 10,
	}
}

// readyCache keeps the last readiness check's result for a while, so
// probes never cost more than one state query per period. Concurrent
// probes wait for one check rather than each running their own.
type readyCache struct {
	mu  sync.Mutex
	at  time.Time
	err error
}

func (c *readyCache) check(ctx context.Context, ready func(context.Context) error, ttl time.Duration) error {
	if ttl == 0 {
		ttl = defaultReadyCache
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if ttl > 0 && !c.at.IsZero() && time.Since(c.at) < ttl {
		return c.err
	}
	cctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	c.err = ready(cctx)
	c.at = time.Now()
	return c.err
}
