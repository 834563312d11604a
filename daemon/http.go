package daemon

import (
	"context"
	"net/http"
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
		ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
		err := d.opts.Ready(ctx)
		cancel()
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
	if reason != "" {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte("not ready: " + reason + "\n"))
		return
	}
	_, _ = w.Write([]byte("ready\n"))
}
