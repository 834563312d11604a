package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/syncd/syncd/config"
	"github.com/syncd/syncd/internal/notify"
	"github.com/syncd/syncd/reconcile"
	"github.com/syncd/syncd/state"
	"github.com/syncd/syncd/state/backend"
)

// syncFlags are the flags of sync, plan and apply.
type syncFlags struct {
	dryRun           bool
	allowMassDisable bool
	allowMassAdopt   bool
	allowMassDelete  bool
	full             bool
	verify           bool
	reportFile       string
	outFile          string
	until            string // plan --until DATE
	// revertOf maps a job to the run whose revert (`syncd revert`) is
	// planned or applied instead of a sync.
	revertOf map[string]int64
}

func (m *Main) runSync(ctx context.Context, g *globalFlags, args []string, plan bool) int {
	fs := m.flagSet("sync", g)
	var f syncFlags
	fs.BoolVar(&f.dryRun, "dry-run", plan, "plan only: write nothing")
	fs.BoolVar(&f.allowMassDisable, "allow-mass-disable", false, "override the safety gate for this run")
	fs.BoolVar(&f.allowMassAdopt, "allow-mass-adoption", false, "override only safety.max_adoptions for this run")
	fs.BoolVar(&f.allowMassDelete, "allow-mass-delete", false, "override only safety.max_deletes and max_delete_percent for this run")
	fs.BoolVar(&f.full, "full", false, "force a complete read of the source")
	fs.BoolVar(&f.verify, "verify", false, "read the managed users back from PingOne and repair (or report) drift")
	fs.StringVar(&f.reportFile, "report", "", "write the JSON run report to FILE")
	if plan {
		fs.StringVar(&f.outFile, "out", "", "save the plan to FILE for 'syncd apply'")
		fs.StringVar(&f.until, "until", "", "also list the changes the mapping's dates make up to DATE (2026-12-31; a complete read)")
	}
	pos, err := m.parse(fs, g, args)
	if err != nil {
		return m.usageErr(err)
	}
	if len(pos) > 0 {
		return m.usageErr(fmt.Errorf("unexpected argument %q", pos[0]))
	}
	if err := checkOutputs(f); err != nil {
		return m.usageErr(err)
	}
	return m.syncJobs(ctx, g, f, nil)
}

// savedPlan is the head of the file `plan --out` writes; the job reports
// follow, streamed by writeReports, and `apply` reads it with readPlan.
type savedPlan struct {
	Version int    `json:"version"`
	Config  string `json:"config"`
	Full    bool   `json:"full,omitempty"`   // made with --full: apply reads completely too
	Verify  bool   `json:"verify,omitempty"` // made with --verify: apply verifies too
}

func (m *Main) runApply(ctx context.Context, g *globalFlags, args []string) int {
	fs := m.flagSet("apply", g)
	var f syncFlags
	fs.BoolVar(&f.allowMassDisable, "allow-mass-disable", false, "override the safety gate for this run")
	fs.BoolVar(&f.allowMassAdopt, "allow-mass-adoption", false, "override only safety.max_adoptions for this run")
	fs.BoolVar(&f.allowMassDelete, "allow-mass-delete", false, "override only safety.max_deletes and max_delete_percent for this run")
	fs.StringVar(&f.reportFile, "report", "", "write the JSON run report to FILE")
	pos, err := m.parse(fs, g, args)
	if err != nil {
		return m.usageErr(err)
	}
	if len(pos) != 1 {
		return m.usageErr(errors.New("apply takes one argument: the plan file saved with 'syncd plan --out FILE'"))
	}
	if err := checkOutputs(f); err != nil {
		return m.usageErr(err)
	}
	pf, err := os.Open(pos[0])
	if err != nil {
		return m.usageErr(fmt.Errorf("read plan: %w", err))
	}
	head, planned, err := readPlan(pf)
	pf.Close()
	if err == nil && head.Version != 1 {
		err = fmt.Errorf("version %d, want 1", head.Version)
	}
	if err == nil && len(planned) == 0 {
		err = errors.New("it lists no job")
	}
	if err != nil {
		return m.usageErr(fmt.Errorf("read plan %s: not a plan saved by 'syncd plan --out' (%v)", pos[0], err))
	}
	// The plan was made under these modes; under others it could not match.
	f.full, f.verify = head.Full, head.Verify
	expect := map[string]string{}
	g.jobs = g.jobs[:0]
	for _, r := range planned {
		if _, twice := expect[r.Job]; twice {
			// Which of the two digests would hold? Neither is applied.
			return m.usageErr(fmt.Errorf("plan %s lists job %s twice: not a plan 'syncd plan --out' saved", pos[0], r.Job))
		}
		if r.Status != reconcile.StatusPlanned {
			return m.usageErr(fmt.Errorf("plan %s: job %s did not plan successfully (%s): nothing to apply", pos[0], r.Job, r.Status))
		}
		expect[r.Job] = r.PlanDigest
		g.jobs = append(g.jobs, r.Job)
		if r.RevertOf != 0 {
			if f.revertOf == nil {
				f.revertOf = map[string]int64{}
			}
			f.revertOf[r.Job] = r.RevertOf
		}
	}
	return m.syncJobs(ctx, g, f, expect)
}

// syncJobs runs the selected jobs one after the other and returns the most
// severe exit code.
func (m *Main) syncJobs(ctx context.Context, g *globalFlags, f syncFlags, expect map[string]string) int {
	cfg, jobs, log, err := m.setup(ctx, g)
	if err != nil {
		return m.fail(err)
	}
	defer log.Sync() //nolint:errcheck // nothing to do about a failed flush

	st, cleanup, err := m.storeFor(ctx, cfg, log, f.dryRun)
	if err != nil {
		return m.fail(err)
	}
	defer cleanup()
	envs := newEnvironments(cfg, log, nil, budgetPool(st, f.dryRun))
	notifier := notify.New(cfg.Notify, log)
	defer func() {
		// A one-shot run waits a little for its notifications, never long.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), notifyDrain)
		defer cancel()
		notifier.Close(ctx)
	}()

	abort, stopAbort := abortAfter(ctx, cfg.Daemon.ShutdownTimeout)
	defer stopAbort()
	code := ExitOK
	var reports []*reconcile.Report
	for _, j := range jobs {
		rj, err := newJob(j, cfg, log)
		if err != nil {
			code = worse(code, m.fail(usageError{err}))
			continue
		}
		client, err := envs.client(j)
		if err != nil {
			code = worse(code, m.fail(usageError{err}))
			continue
		}
		eng := &reconcile.Engine{Store: st, Target: client, Logger: log, Calls: func() int64 { return client.Stats().Total() }}
		if expect != nil && expect[j.Name] == "" {
			// Applying a saved plan: a job it holds no digest for is never
			// applied unchecked.
			code = worse(code, m.fail(usageError{fmt.Errorf("job %s: the saved plan has no plan digest for it", j.Name)}))
			continue
		}
		var until time.Time
		if f.until != "" {
			if until, err = parseDay(f.until); err != nil {
				return m.fail(usageError{fmt.Errorf("--until: %w", err)})
			}
		}
		opts := reconcile.Options{Until: until, DryRun: f.dryRun, AllowMassDisable: f.allowMassDisable, AllowMassAdoption: f.allowMassAdopt, AllowMassDelete: f.allowMassDelete, ForceFull: f.full, Verify: f.verify, ExpectPlan: expect[j.Name], Abort: abort}
		_, env := cfg.Environment(j)
		p := newProgress(m.Stderr, env.RateLimit)
		opts.Progress = p.update
		run := eng.Run
		if id := f.revertOf[j.Name]; id != 0 {
			run = func(ctx context.Context, rj *reconcile.Job, opts reconcile.Options) (*reconcile.Report, error) {
				return eng.Revert(ctx, rj, id, opts)
			}
		}
		rep, err := run(ctx, rj, opts)
		p.done()
		notifier.Report(rep)
		reports = append(reports, rep)
		c := exitCode(rep, err)
		if err != nil {
			fmt.Fprintf(m.Stderr, "syncd: %s\n", escapeText(err.Error()))
		}
		code = worse(code, c)
	}
	m.printReports(g.output, reports)
	if f.reportFile != "" {
		if err := writeFile(f.reportFile, func(w io.Writer) error { return writeReports(w, "", reports) }); err != nil {
			fmt.Fprintf(m.Stderr, "syncd: write report: %s\n", escapeText(err.Error()))
			code = worse(code, ExitFailed)
		}
	}
	if f.outFile != "" {
		head, _ := json.Marshal(savedPlan{Version: 1, Config: cfg.Path, Full: f.full, Verify: f.verify}) // scalars: cannot fail
		if err := writeFile(f.outFile, func(w io.Writer) error { return writeReports(w, string(head[1:len(head)-1]), reports) }); err != nil {
			fmt.Fprintf(m.Stderr, "syncd: save plan: %s\n", escapeText(err.Error()))
			code = worse(code, ExitFailed)
		}
	}
	return code
}

// storeFor opens the state store. A dry run writes nothing to state, not
// even a schema: when the SQLite file does not exist yet, or the database
// has no syncd schema, it plans against an empty throwaway database.
func (m *Main) storeFor(ctx context.Context, cfg *config.Config, log *zap.Logger, dryRun bool) (state.Store, func(), error) {
	if !dryRun {
		st, err := openStore(ctx, cfg, log, cfg.State.Migrate())
		if err != nil {
			return nil, nil, err
		}
		return st, func() { st.Close() }, nil
	}
	if path, ok := strings.CutPrefix(cfg.State.URL, "sqlite://"); ok {
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			log.Info("no state database yet: planning against empty state", zap.String("state", path))
			return emptyStore(ctx, log)
		}
	}
	st, err := openStore(ctx, cfg, log, false)
	if errors.Is(err, state.ErrNoSchema) {
		log.Info("state database has no syncd schema yet: planning against empty state")
		return emptyStore(ctx, log)
	}
	if err != nil {
		return nil, nil, err
	}
	return st, func() { st.Close() }, nil
}

// emptyStore is a throwaway, migrated, empty SQLite store.
func emptyStore(ctx context.Context, log *zap.Logger) (state.Store, func(), error) {
	dir, err := os.MkdirTemp("", "syncd-plan-")
	if err != nil {
		return nil, nil, err
	}
	st, err := backend.Open(ctx, "sqlite://"+filepath.Join(dir, "empty.db"), backend.Options{Logger: log})
	if err == nil {
		err = st.Migrate(ctx)
	}
	if err != nil {
		os.RemoveAll(dir)
		return nil, nil, err
	}
	return st, func() { st.Close(); os.RemoveAll(dir) }, nil
}

func (m *Main) fail(err error) int {
	fmt.Fprintf(m.Stderr, "syncd: %s\n", escapeText(err.Error()))
	return exitCode(nil, err)
}
