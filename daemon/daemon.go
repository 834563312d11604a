package daemon

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/robfig/cron/v3"
	"go.uber.org/zap"

	"github.com/syncd/syncd/internal/metrics"
	"github.com/syncd/syncd/state"
)

// Defaults for Options fields left zero.
const (
	DefaultShutdownTimeout = 30 * time.Second
	DefaultAbortWait       = 30 * time.Second
	DefaultListen          = "127.0.0.1:9464"
	DefaultBackoffBase     = time.Minute
	DefaultBackoffMax      = time.Hour
)

// Job is one scheduled job.
type Job struct {
	// Name identifies the job in logs, metrics and the RunFunc call.
	Name string
	// Schedule is a five-field cron spec ("*/15 * * * *") or a descriptor
	// ("@hourly", "@every 15m"), in Options.Timezone unless it starts with
	// CRON_TZ=.
	Schedule string
	// RunAtStart runs the job once as soon as the daemon starts, besides
	// its schedule.
	RunAtStart bool
	// Jitter delays each run by a random duration in [0, Jitter), so that
	// replicas and jobs sharing a schedule do not hit PingOne at once.
	Jitter time.Duration
	// Timeout bounds one run (its context's deadline); 0 means no bound.
	Timeout time.Duration
}

// RunFunc runs one job once. It returns state.ErrLocked when another replica
// holds the job's lock: the daemon logs that at info and treats it as a
// skip, not a failure. It must return soon after ctx is cancelled (the
// engine finishes and checkpoints the batch in flight, then stops). When
// it has not returned by ShutdownTimeout, the daemon closes Aborted: it
// must then cancel its requests in flight, record what finished and
// return within AbortWait.
// Reporting the run's counts to metrics is the RunFunc's business
// (metrics.Metrics.ObserveRun): the daemon only sees the error.
type RunFunc func(ctx context.Context, job string) error

// Options configures a Daemon. The zero value works: no logging, local time,
// no HTTP, systemd notify when $NOTIFY_SOCKET is set.
type Options struct {
	// Logger receives the daemon's events; nil discards them.
	Logger *zap.Logger
	// Timezone is where schedules are read; nil means time.Local.
	Timezone *time.Location
	// ShutdownTimeout bounds the wait for runs in flight at shutdown; at
	// its end Aborted is closed. Default DefaultShutdownTimeout (30s).
	ShutdownTimeout time.Duration
	// AbortWait bounds the wait, after Aborted is closed, for runs to
	// checkpoint what finished and record themselves as stopped; past it
	// they are abandoned to the process's exit. Default DefaultAbortWait
	// (30s: the engine's checkpoint and run-record writes take at most
	// 10s each).
	AbortWait time.Duration
	// Listen is the HTTP address for /healthz, /readyz and /metrics;
	// "" disables HTTP. The config's default is DefaultListen
	// (127.0.0.1:9464).
	Listen string
	// Ready reports whether the daemon can do its work (the state store is
	// reachable); nil means ready as soon as the jobs are scheduled.
	Ready func(ctx context.Context) error
	// ReadyCache is how long one Ready result answers /readyz (probes come
	// from every kubelet and load balancer: one state query per second at
	// most). Default 1s; negative: call Ready on every probe.
	ReadyCache time.Duration
	// Registry is what /metrics serves; nil means no /metrics endpoint.
	Registry *prometheus.Registry
	// Metrics, when set, counts lock-held skips and publishes each job's
	// schedule interval.
	Metrics *metrics.Metrics
	// Notifier speaks to the service manager; nil means SystemdNotifier.
	Notifier Notifier
	// BackoffBase and BackoffMax shape the failure backoff (see the package
	// doc). Defaults DefaultBackoffBase (1m) and DefaultBackoffMax (1h).
	BackoffBase, BackoffMax time.Duration
	// Now is the clock backoff decisions read; nil means time.Now.
	Now func() time.Time
}

// Daemon schedules jobs and serves the health endpoints. Create it with
// New, start it with Run; Reload swaps its schedules while it runs.
type Daemon struct {
	opts   Options
	logger *zap.Logger
	parser cron.Parser

	mu       sync.Mutex
	ran      bool
	stopping bool
	cron     *cron.Cron
	entries  map[string]cron.EntryID
	states   map[string]*jobState
	runCtx   context.Context
	inflight sync.WaitGroup // runs in progress; Add only under mu while !stopping
	watches  *watchSet      // the running watches (watch.go)
	abort    chan struct{}  // closed at ShutdownTimeout (Aborted)

	loaded      atomic.Bool // jobs scheduled and not shutting down
	started     chan struct{}
	addr        atomic.Value // net.Addr
	bg          sync.WaitGroup
	wasNotReady atomic.Bool
	ready       readyCache
}

// New returns a Daemon configured by opts, with defaults filled in.
func New(opts Options) *Daemon {
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	if opts.Timezone == nil {
		opts.Timezone = time.Local
	}
	if opts.ShutdownTimeout <= 0 {
		opts.ShutdownTimeout = DefaultShutdownTimeout
	}
	if opts.AbortWait <= 0 {
		opts.AbortWait = DefaultAbortWait
	}
	if opts.Notifier == nil {
		opts.Notifier = SystemdNotifier{}
	}
	if opts.BackoffBase <= 0 {
		opts.BackoffBase = DefaultBackoffBase
	}
	if opts.BackoffMax <= 0 {
		opts.BackoffMax = DefaultBackoffMax
	}
	if opts.BackoffMax < opts.BackoffBase {
		opts.BackoffMax = opts.BackoffBase
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Daemon{
		opts:    opts,
		logger:  opts.Logger,
		parser:  newParser(),
		entries: map[string]cron.EntryID{},
		states:  map[string]*jobState{},
		started: make(chan struct{}),
		abort:   make(chan struct{}),
	}
}

// Aborted is closed when a stop has waited ShutdownTimeout for runs in
// flight: a RunFunc passes it on (reconcile.Options.Abort) so that its
// requests in flight and their retries are cancelled.
func (d *Daemon) Aborted() <-chan struct{} { return d.abort }

func newParser() cron.Parser {
	return cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)
}

// parsedJob is a job whose schedule parsed.
type parsedJob struct {
	Job
	sched cron.Schedule
}

// ValidateJobs checks every job's name and schedule and reports every
// problem at once, each naming the job and its spec.
func ValidateJobs(jobs []Job) error {
	_, err := parseJobs(newParser(), jobs)
	return err
}

func parseJobs(p cron.Parser, jobs []Job) ([]parsedJob, error) {
	var errs []error
	seen := map[string]bool{}
	out := make([]parsedJob, 0, len(jobs))
	for i, j := range jobs {
		if j.Name == "" {
			errs = append(errs, fmt.Errorf("jobs[%d]: name: required", i))
			continue
		}
		if seen[j.Name] {
			errs = append(errs, fmt.Errorf("job %q: name: duplicate", j.Name))
			continue
		}
		seen[j.Name] = true
		if j.Jitter < 0 || j.Timeout < 0 {
			errs = append(errs, fmt.Errorf("job %q: jitter and timeout must not be negative", j.Name))
			continue
		}
		sched, err := parseSpec(p, j.Schedule)
		if err != nil {
			errs = append(errs, fmt.Errorf("job %q: schedule %q: %w", j.Name, j.Schedule, err))
			continue
		}
		// A valid spec may still never fire ("0 0 30 2 *"): cron's Next
		// gives up after five years and returns the zero time.
		if sched.Next(time.Now()).IsZero() {
			errs = append(errs, fmt.Errorf("job %q: schedule %q: never fires", j.Name, j.Schedule))
			continue
		}
		out = append(out, parsedJob{Job: j, sched: sched})
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

// parseSpec is p.Parse made safe: robfig/cron v3.0.1 panics on some
// malformed specs ("TZ=", "CRON_TZ=" with nothing after; found by
// FuzzValidateJobs).
func parseSpec(p cron.Parser, spec string) (sched cron.Schedule, err error) {
	defer func() {
		if r := recover(); r != nil {
			sched, err = nil, fmt.Errorf("malformed spec: %v", r)
		}
	}()
	return p.Parse(spec)
}

// Started is closed once Run has scheduled the jobs and the HTTP server
// listens.
func (d *Daemon) Started() <-chan struct{} { return d.started }

// Addr is the HTTP server's address once Started is closed (nil when HTTP
// is disabled). Useful with Listen "127.0.0.1:0".
func (d *Daemon) Addr() net.Addr {
	a, _ := d.addr.Load().(net.Addr)
	return a
}

// Run schedules jobs and blocks until ctx is cancelled, then stops
// gracefully (see the package doc) and returns nil, or an error when runs
// were still in flight after ShutdownTimeout. It returns an error at once
// when a schedule is invalid or the HTTP address cannot be bound. A Daemon
// runs once.
func (d *Daemon) Run(ctx context.Context, jobs []Job, run RunFunc) error {
	parsed, err := parseJobs(d.parser, jobs)
	if err != nil {
		return fmt.Errorf("daemon: %w", err)
	}
	d.mu.Lock()
	if d.ran {
		d.mu.Unlock()
		return errors.New("daemon: already run")
	}
	d.ran = true
	d.mu.Unlock()

	var srv *http.Server
	var ln net.Listener
	if d.opts.Listen != "" {
		ln, err = (&net.ListenConfig{}).Listen(ctx, "tcp", d.opts.Listen)
		if err != nil {
			return fmt.Errorf("daemon: listen %s: %w", d.opts.Listen, err)
		}
		d.addr.Store(ln.Addr())
		srv = newHTTPServer(d.Handler())
	}

	runCtx, cancelRuns := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelRuns()
	cl := cronLogger{d.logger}
	// No cron.SkipIfStillRunning: its guard belongs to one cron entry, so a
	// Reload (new entries) would let a new tick overlap a run still in
	// flight, and its "skip" log names no job. fire's per-job guard
	// (jobState) survives reloads and covers RunAtStart too.
	c := cron.New(
		cron.WithLocation(d.opts.Timezone),
		cron.WithParser(d.parser),
		cron.WithLogger(cl),
		cron.WithChain(cron.Recover(cl)),
	)
	d.mu.Lock()
	d.cron = c
	d.runCtx = runCtx
	wrapped := d.install(parsed, run)
	d.mu.Unlock()
	c.Start()

	serveErr := make(chan error, 1)
	if srv != nil {
		d.bg.Add(1)
		go func() {
			defer d.bg.Done()
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				serveErr <- err
			}
		}()
	}
	for _, p := range parsed {
		if p.RunAtStart {
			d.bg.Add(1)
			go func(j cron.Job) {
				defer d.bg.Done()
				j.Run()
			}(wrapped[p.Name])
		}
	}
	d.loaded.Store(true)
	d.notify("READY=1")
	stopWatchdog := d.startWatchdog()
	d.logger.Info("daemon started", zap.Int("jobs", len(parsed)), zap.Stringer("http", addrStringer{d.Addr()}))
	close(d.started)

	var result error
	select {
	case <-ctx.Done():
		d.logger.Info("daemon stopping")
	case err := <-serveErr:
		d.logger.Error("http server failed; stopping", zap.Error(err))
		result = fmt.Errorf("daemon: http server: %w", err)
	}
	if err := d.shutdown(c, cancelRuns, srv, stopWatchdog); err != nil && result == nil {
		result = err
	}
	return result
}

// shutdown stops scheduling, cancels runs in flight and waits for them.
func (d *Daemon) shutdown(c *cron.Cron, cancelRuns context.CancelFunc, srv *http.Server, stopWatchdog func()) error {
	deadline := time.Now().Add(d.opts.ShutdownTimeout)
	d.loaded.Store(false)
	d.mu.Lock()
	d.stopping = true
	d.mu.Unlock()
	d.notify("STOPPING=1")

	// Cancel first, then wait: the engine sees its context cancelled, ends
	// the batch in flight, checkpoints it and returns.
	cancelRuns()
	stopped := c.Stop()
	done := make(chan struct{})
	go func() {
		<-stopped.Done()
		d.inflight.Wait()
		close(done)
	}()
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	var result error
	select {
	case <-done:
		d.logger.Info("runs in flight finished")
	case <-timer.C:
		// Requests that stall (and their retries) would keep the process
		// well past the timeout: cut them short, and give the runs a
		// bounded time to checkpoint what finished.
		d.logger.Warn("shutdown timeout: cancelling the requests in flight; what finished is checkpointed",
			zap.Duration("timeout", d.opts.ShutdownTimeout), zap.Duration("abort_wait", d.opts.AbortWait))
		close(d.abort)
		wait := time.NewTimer(d.opts.AbortWait)
		defer wait.Stop()
		select {
		case <-done:
			d.logger.Info("runs in flight stopped")
		case <-wait.C:
			d.logger.Error("runs still in flight after their requests were cancelled are abandoned",
				zap.Duration("timeout", d.opts.ShutdownTimeout), zap.Duration("abort_wait", d.opts.AbortWait))
			result = fmt.Errorf("daemon: shutdown: runs still in flight %s after shutdown_timeout (%s) cancelled their requests", d.opts.AbortWait, d.opts.ShutdownTimeout)
		}
	}
	if srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := srv.Shutdown(ctx); err != nil {
			d.logger.Warn("http server shutdown", zap.Error(err))
			_ = srv.Close()
		}
		cancel()
	}
	stopWatchdog()
	if result == nil {
		// Background goroutines (RunAtStart launchers, HTTP) are done once
		// their runs are; after a timeout they are abandoned with them.
		d.bg.Wait()
	}
	d.logger.Info("daemon stopped")
	return result
}

// Reload replaces the schedules and the RunFunc while the daemon runs (the
// SIGHUP path). Every spec is checked first: on any error nothing changes
// and the old schedules keep running. Runs in flight finish undisturbed; a
// job keeps its backoff and its no-overlap guard across reloads.
// RunAtStart is not honoured on reload.
func (d *Daemon) Reload(jobs []Job, run RunFunc) error {
	parsed, err := parseJobs(d.parser, jobs)
	if err != nil {
		return fmt.Errorf("daemon: reload: %w", err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cron == nil || d.stopping {
		return errors.New("daemon: reload: daemon is not running")
	}
	keep := map[string]bool{}
	for _, p := range parsed {
		keep[p.Name] = true
	}
	for name, id := range d.entries {
		d.cron.Remove(id)
		delete(d.entries, name)
		if !keep[name] && d.opts.Metrics != nil {
			d.opts.Metrics.ForgetJob(name)
		}
	}
	d.install(parsed, run)
	d.logger.Info("schedules reloaded", zap.Int("jobs", len(parsed)))
	return nil
}

// install schedules parsed jobs; d.mu must be held.
func (d *Daemon) install(parsed []parsedJob, run RunFunc) map[string]cron.Job {
	wrapped := make(map[string]cron.Job, len(parsed))
	now := d.opts.Now().In(d.opts.Timezone)
	for _, p := range parsed {
		js := d.states[p.Name]
		if js == nil {
			js = &jobState{}
			d.states[p.Name] = js
		}
		j := p.Job
		id := d.cron.Schedule(p.sched, cron.FuncJob(func() { d.fire(js, j, run) }))
		d.entries[p.Name] = id
		wrapped[p.Name] = d.cron.Entry(id).WrappedJob
		next := p.sched.Next(now)
		interval := p.sched.Next(next).Sub(next)
		if d.opts.Metrics != nil {
			d.opts.Metrics.SetJobInterval(p.Name, interval)
		}
		d.logger.Info("job scheduled", zap.String("job", p.Name), zap.String("schedule", p.Schedule),
			zap.Time("next_run", next), zap.Bool("run_at_start", p.RunAtStart), zap.Duration("jitter", p.Jitter))
	}
	return wrapped
}

// jobState is what the daemon remembers of a job across runs and reloads.
type jobState struct {
	mu           sync.Mutex
	running      bool
	failures     int
	backoffUntil time.Time
}

func (s *jobState) tryStart() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.running {
		return false
	}
	s.running = true
	return true
}

func (s *jobState) finish() {
	s.mu.Lock()
	s.running = false
	s.mu.Unlock()
}

// fire runs job once if it is not running, not backing off and the daemon is
// not stopping.
func (d *Daemon) fire(js *jobState, j Job, run RunFunc) {
	d.mu.Lock()
	if d.stopping {
		d.mu.Unlock()
		return
	}
	d.inflight.Add(1)
	root := d.runCtx
	d.mu.Unlock()
	defer d.inflight.Done()
	ctx := root

	log := d.logger.With(zap.String("job", j.Name))
	if !js.tryStart() {
		log.Info("run skipped: previous run still in progress")
		return
	}
	defer js.finish()

	js.mu.Lock()
	until, failures := js.backoffUntil, js.failures
	js.mu.Unlock()
	if now := d.opts.Now(); now.Before(until) {
		log.Info("run skipped: backing off after failures", zap.Int("failures", failures), zap.Time("retry_after", until))
		return
	}
	if j.Jitter > 0 {
		delay := rand.N(j.Jitter)
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
	if j.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, j.Timeout)
		defer cancel()
	}

	start := time.Now()
	log.Info("run started")
	err := call(ctx, run, j.Name)
	dur := time.Since(start)
	switch {
	case err == nil:
		js.mu.Lock()
		js.failures, js.backoffUntil = 0, time.Time{}
		js.mu.Unlock()
		log.Info("run finished", zap.Duration("duration", dur))
	case errors.Is(err, state.ErrLocked):
		log.Info("run skipped: job locked by another replica")
		if d.opts.Metrics != nil {
			d.opts.Metrics.RunSkipped(j.Name)
		}
	case root.Err() != nil && errors.Is(err, context.Canceled):
		log.Info("run stopped by shutdown", zap.Duration("duration", dur), zap.Error(err))
	default:
		js.mu.Lock()
		js.failures++
		wait := d.backoff(js.failures)
		js.backoffUntil = d.opts.Now().Add(wait)
		failures, until = js.failures, js.backoffUntil
		js.mu.Unlock()
		log.Error("run failed", zap.Error(err), zap.Duration("duration", dur),
			zap.Int("failures", failures), zap.Duration("backoff", wait), zap.Time("retry_after", until))
	}
}

// backoff is BackoffBase·2^(failures−1), capped at BackoffMax.
func (d *Daemon) backoff(failures int) time.Duration {
	b := d.opts.BackoffBase
	for i := 1; i < failures && b < d.opts.BackoffMax; i++ {
		b *= 2
	}
	return min(b, d.opts.BackoffMax)
}

// call runs run, turning a panic into an error so it counts as a failure.
func call(ctx context.Context, run RunFunc, job string) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("job %s: panic: %v", job, r)
		}
	}()
	return run(ctx, job)
}

func (d *Daemon) notify(state string) {
	if err := d.opts.Notifier.Notify(state); err != nil {
		d.logger.Warn("service manager notify failed", zap.String("state", state), zap.Error(err))
	}
}

// startWatchdog pings the service manager every half watchdog interval.
func (d *Daemon) startWatchdog() (stop func()) {
	interval, err := d.opts.Notifier.WatchdogInterval()
	if err != nil {
		d.logger.Warn("watchdog disabled", zap.Error(err))
	}
	if interval <= 0 {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(interval / 2)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				d.notify("WATCHDOG=1")
			}
		}
	}()
	d.logger.Info("systemd watchdog enabled", zap.Duration("interval", interval))
	return func() {
		close(done)
		wg.Wait()
	}
}

// cronLogger adapts zap to cron.Logger. cron's routine messages go to debug.
type cronLogger struct{ l *zap.Logger }

func (c cronLogger) Info(msg string, kv ...any) {
	c.l.Sugar().Debugw("cron: "+msg, kv...)
}

func (c cronLogger) Error(err error, msg string, kv ...any) {
	c.l.Sugar().Errorw("cron: "+msg, append(kv, "error", err)...)
}

type addrStringer struct{ a net.Addr }

func (s addrStringer) String() string {
	if s.a == nil {
		return "disabled"
	}
	return s.a.String()
}
