package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"go.uber.org/zap"

	"github.com/syncd/syncd/config"
	"github.com/syncd/syncd/daemon"
	"github.com/syncd/syncd/internal/metrics"
	"github.com/syncd/syncd/internal/notify"
	"github.com/syncd/syncd/mapper"
	"github.com/syncd/syncd/reconcile"
	"github.com/syncd/syncd/state"
)

// service is what `syncd run` runs jobs with. A SIGHUP swaps it whole for
// one built from the reloaded config.
type service struct {
	cfg    *config.Config
	store  state.Store
	envs   *environments
	log    *zap.Logger
	met    *metrics.Metrics
	pruner *pruner
	notify *notify.Notifier
}

func (m *Main) runDaemon(ctx context.Context, g *globalFlags, args []string) int {
	fs := m.flagSet("run", g)
	if _, err := m.parse(fs, g, args); err != nil {
		return m.usageErr(err)
	}
	cfg, err := m.loadConfig(ctx, g)
	if err != nil {
		return m.fail(err)
	}
	log, level := newLevelLogger(cfg, m.Stderr)
	defer log.Sync() //nolint:errcheck

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	met := metrics.New(reg)

	svc, err := m.newService(ctx, cfg, log, met)
	if err != nil {
		return m.fail(err)
	}
	svcs := newServices(svc)
	defer svcs.close()
	metrics.RegisterBudgets(reg, func() []metrics.Budget {
		s := svcs.acquire()
		defer svcs.release(s)
		return s.envs.budgetMetrics()
	})

	ctx, reload, stop := daemon.Signals(ctx, log, nil)
	defer stop()

	tz, _ := time.LoadLocation(cfg.Daemon.Timezone) // validated by config
	listen := cfg.HTTP.Listen
	if listen == "off" {
		listen = ""
	}
	d := daemon.New(daemon.Options{
		Logger: log, Timezone: tz, ShutdownTimeout: cfg.Daemon.ShutdownTimeout, Listen: listen,
		Ready: func(ctx context.Context) error {
			s := svcs.acquire()
			defer svcs.release(s)
			return s.store.Ping(ctx)
		},
		Registry: reg, Metrics: met,
	})
	// Each run keeps the service it started with (its store, its locks,
	// its config) to the end, whatever SIGHUP does meanwhile. At
	// daemon.shutdown_timeout its requests in flight are cut short.
	run := func(ctx context.Context, job string) error {
		s := svcs.acquire()
		defer svcs.release(s)
		return s.runJob(ctx, job, d.Aborted())
	}

	holder := watchHolder()
	runWatch := func(ctx context.Context, job string, b daemon.WatchBatch) error {
		s := svcs.acquire()
		defer svcs.release(s)
		return s.runWatch(ctx, job, b, d.Aborted())
	}
	startWatches := func(c *config.Config) error {
		ws, err := daemonWatches(c, svcs, holder, log)
		if err != nil {
			return err
		}
		return d.Watch(ws, runWatch)
	}
	watchErr := make(chan error, 1)
	go func() {
		select {
		case <-d.Started():
		case <-ctx.Done():
			return
		}
		if err := startWatches(cfg); err != nil {
			watchErr <- err
			stop()
		}
	}()

	go func() {
		running := cfg
		for range reload {
			next, err := config.Load(ctx, g.config, lookupFunc(m.lookup))
			if err != nil {
				log.Error("config reload failed: keeping the running config", zap.Error(err))
				continue
			}
			nsvc, err := m.newService(ctx, next, log, met)
			if err != nil {
				log.Error("config reload failed: keeping the running config", zap.Error(err))
				continue
			}
			if err := d.Reload(daemonJobs(next), run); err != nil {
				nsvc.close()
				log.Error("config reload failed: keeping the running config", zap.Error(err))
				continue
			}
			svcs.swap(nsvc)
			if err := startWatches(next); err != nil {
				log.Error("config reload: watches not restarted", zap.Error(err))
			}
			level.SetLevel(logLevel(next))
			if keys := restartOnly(running, next); len(keys) > 0 {
				log.Warn("config reloaded, but these settings take effect only after a restart", zap.Strings("settings", keys))
			}
			running = next
			log.Info("config reloaded", zap.Int("jobs", len(next.Jobs)), zap.Stringer("log_level", level.Level()))
		}
	}()

	if err := d.Run(ctx, daemonJobs(cfg), run); err != nil {
		fmt.Fprintf(m.Stderr, "syncd: %s\n", escapeText(err.Error()))
		return ExitFailed
	}
	select {
	case err := <-watchErr:
		fmt.Fprintf(m.Stderr, "syncd: %s\n", escapeText(err.Error()))
		return ExitFailed
	default:
	}
	return ExitOK
}

// restartOnly names the settings that differ between running and next but
// that a reload cannot apply (README: Running it).
func restartOnly(running, next *config.Config) []string {
	var keys []string
	if running.Log.Format != next.Log.Format {
		keys = append(keys, "log.format")
	}
	if running.HTTP.Listen != next.HTTP.Listen {
		keys = append(keys, "http.listen")
	}
	if running.Daemon.Timezone != next.Daemon.Timezone {
		keys = append(keys, "daemon.timezone")
	}
	if running.Daemon.ShutdownTimeout != next.Daemon.ShutdownTimeout {
		keys = append(keys, "daemon.shutdown_timeout")
	}
	return keys
}

func daemonJobs(cfg *config.Config) []daemon.Job {
	var jobs []daemon.Job
	for _, j := range cfg.Jobs {
		jobs = append(jobs, daemon.Job{Name: j.Name, Schedule: j.Schedule, RunAtStart: j.RunAtStart, Jitter: j.Jitter})
	}
	return jobs
}

func (m *Main) newService(ctx context.Context, cfg *config.Config, log *zap.Logger, met *metrics.Metrics) (*service, error) {
	for _, j := range cfg.Jobs {
		if j.Schedule == "" {
			return nil, usageError{fmt.Errorf("config %s: jobs[%s].schedule: required by 'syncd run'", cfg.Path, j.Name)}
		}
	}
	st, err := openStore(ctx, cfg, log, cfg.State.Migrate())
	if err != nil {
		return nil, err
	}
	envs := newEnvironments(cfg, log, met, budgetPool(st, false))
	for i := range cfg.Jobs {
		if _, err := envs.client(&cfg.Jobs[i]); err != nil {
			st.Close()
			return nil, usageError{err}
		}
	}
	return &service{cfg: cfg, store: st, envs: envs, log: log, met: met,
		pruner: &pruner{retention: cfg.State.Retention(), interval: time.Hour, now: time.Now},
		notify: notify.New(cfg.Notify, log)}, nil
}

// close releases the service's state store (and any lock still held
// through it).
func (s *service) close() {
	ctx, cancel := context.WithTimeout(context.Background(), notifyDrain)
	defer cancel()
	s.notify.Close(ctx)
	if err := s.store.Close(); err != nil {
		s.log.Warn("close state store", zap.Error(err))
	}
}

// engine builds what one run of the job named name needs under the
// current config: the job as configured, as the engine runs it, and an
// engine writing to the job's environment.
func (s *service) engine(name string) (*config.Job, *reconcile.Job, *reconcile.Engine, error) {
	j := s.cfg.Job(name)
	if j == nil {
		return nil, nil, nil, fmt.Errorf("job %s is no longer configured", name)
	}
	rj, err := newJob(j, s.cfg, s.log)
	if err != nil {
		return nil, nil, nil, err
	}
	client, err := s.envs.client(j)
	if err != nil {
		return nil, nil, nil, err
	}
	eng := &reconcile.Engine{Store: s.store, Target: client, Logger: s.log, Calls: func() int64 { return client.Stats().Total() }}
	return j, rj, eng, nil
}

// runJob runs one job once for the daemon and reports it to the metrics.
// Closing abort cuts a stopping run short (reconcile.Options.Abort).
func (s *service) runJob(ctx context.Context, name string, abort <-chan struct{}) error {
	_, rj, eng, err := s.engine(name)
	if err != nil {
		return err
	}
	rep, err := eng.Run(ctx, rj, reconcile.Options{Abort: abort})
	if errors.Is(err, state.ErrLocked) {
		return err // the daemon counts the skip
	}
	res := runResult(rep, s.objects(ctx, name))
	res.RejectedRecords = s.standingRejects(ctx, name)
	s.met.ObserveRun(res)
	s.notify.Report(rep)
	s.pruner.prune(ctx, s.store, s.log)
	return err
}

func (s *service) objects(ctx context.Context, job string) map[string]int {
	counts, err := s.store.CountByStatus(ctx, job)
	if err != nil {
		return nil
	}
	out := map[string]int{}
	for k, v := range counts {
		out[string(k)] = v
	}
	return out
}

// standingRejects counts the job's standing rejects after a run, for
// syncd_rejected_records; nil when the store cannot tell.
func (s *service) standingRejects(ctx context.Context, job string) *int {
	st, ok := s.store.(state.Rejects)
	if !ok {
		return nil
	}
	n, err := st.CountRejects(ctx, job)
	if err != nil {
		return nil
	}
	return &n
}

func runResult(rep *reconcile.Report, objects map[string]int) metrics.RunResult {
	r := metrics.RunResult{
		Job: rep.Job, Started: rep.StartedAt, Duration: rep.FinishedAt.Sub(rep.StartedAt),
		Status: rep.Status, Objects: objects, GateTripped: rep.Gate != nil || len(rep.Held) > 0,
		Ops: map[string]map[string]int{}, Rejects: map[string]int{},
	}
	add := func(typ, result string, n int) {
		if n == 0 {
			return
		}
		if r.Ops[typ] == nil {
			r.Ops[typ] = map[string]int{}
		}
		r.Ops[typ][result] += n
	}
	c := rep.Counts
	add(metrics.OpCreate, metrics.ResultOK, c.Created)
	add(metrics.OpAdopt, metrics.ResultOK, c.Adopted)
	add(metrics.OpUpdate, metrics.ResultOK, c.Updated)
	add(metrics.OpEnable, metrics.ResultOK, c.Enabled)
	add(metrics.OpDisable, metrics.ResultOK, c.Disabled)
	add(metrics.OpDelete, metrics.ResultOK, c.Deleted)
	add(metrics.OpMove, metrics.ResultOK, c.Moved)
	if g := rep.Groups; g != nil {
		add(metrics.OpGroupCreate, metrics.ResultOK, g.Counts.Created+g.Counts.Adopted)
		add(metrics.OpGroupUpdate, metrics.ResultOK, g.Counts.Updated)
		add(metrics.OpGroupDelete, metrics.ResultOK, g.Counts.Deleted)
		add(metrics.OpMemberAdd, metrics.ResultOK, g.Counts.MembersAdded)
		add(metrics.OpMemberRemove, metrics.ResultOK, g.Counts.MembersRemoved)
		for _, m := range g.Members {
			if m.Failed {
				add(map[reconcile.MemberAction]string{reconcile.MemberAdd: metrics.OpMemberAdd, reconcile.MemberRemove: metrics.OpMemberRemove}[m.Action], metrics.ResultFailed, 1)
			}
		}
	}
	for _, f := range rep.Failures {
		for _, a := range f.Actions {
			add(string(a), metrics.ResultFailed, 1)
		}
	}
	for _, rj := range rep.Rejects {
		r.Rejects[rejectReason(rj)]++
	}
	return r
}

// rejectReason files a reject under a small, bounded set of metric labels.
func rejectReason(r mapper.Reject) string {
	reason := strings.ToLower(r.Reason)
	switch {
	case strings.Contains(reason, "conflict") || strings.Contains(reason, "claimed by"):
		return metrics.RejectConflict
	case strings.Contains(reason, "duplicate"):
		return metrics.RejectDuplicate
	case strings.Contains(reason, "expression"):
		return metrics.RejectExpression
	case strings.Contains(reason, "required") || strings.Contains(reason, "missing") || strings.Contains(reason, "empty"):
		return metrics.RejectMissing
	case r.Attribute != "":
		return metrics.RejectInvalidValue
	}
	return metrics.RejectOther
}
