package reconcile

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/syncd/syncd/internal/fielderr"
	"github.com/syncd/syncd/mapper"
	"github.com/syncd/syncd/sink/pingone"
	"github.com/syncd/syncd/sources"
	"github.com/syncd/syncd/state"
)

// Match rule names: how a record may be linked to a user that already exists
// in PingOne and that syncd did not create.
const (
	MatchExternalID = "externalId"
	MatchUsername   = "username"
	MatchEmail      = "email"
)

// Job is one configured sync: a source, a mapping, and the rules for
// applying the result.
type Job struct {
	Name   string
	Source sources.Source
	Mapper *mapper.Mapper
	// Match lists, in order, the rules that may adopt a pre-existing
	// PingOne user: "externalId", "username", "email". Default
	// externalId then username; email only when listed.
	Match  []string
	Safety Safety
	// BatchSize is how many operations are applied and checkpointed
	// together. Default 200.
	BatchSize int
	// Workers is how many operations run at once. Default 8.
	Workers int
	// FullEvery forces a complete read when the last one is older. Zero:
	// every read is complete.
	FullEvery time.Duration
	// CreateDisabled creates new records disabled in the source as
	// disabled users (a POST, then PUT enabled=false) rather than not
	// creating them: pre-hires, people on leave. Default false.
	CreateDisabled bool
	// Verify reads the managed users back from PingOne on every run and
	// compares them with what syncd wants (also `sync --verify`).
	Verify bool
	// Drift is what verify does about drift: DriftRepair (default) or
	// DriftReport.
	Drift string
	// reach is the populations the job routes to, resolved when an
	// adoption first needs them; Run sets it (owners.go).
	reach *reach
	// adoptLeft is how many more adoptions safety.max_adoptions lets this
	// run make while applying (a create meeting a taken username); nil:
	// no limit (an override). Run sets it after the gate.
	adoptLeft *atomic.Int64
	// abort is Options.Abort of the run in progress; Run sets it (stop.go).
	abort <-chan struct{}
	// ConfigDigest identifies the job's source and mapping settings. A
	// cursor saved under another digest is not used: after a mapping
	// change, a delta read ("nothing changed in the file") would never
	// apply it.
	ConfigDigest string
	// DeleteAfter, when above zero, deletes the users syncd disabled that
	// long ago and that are still absent or disabled in the source
	// (jobs[].deprovision.delete_after, deletes.go). Zero: never.
	DeleteAfter time.Duration
	// Groups, when set, syncs the directory's groups and memberships
	// (groups.go, memberships.go). Nil: users only.
	Groups *Groups
}

// SetDefaults fills unset fields with their defaults.
func (j *Job) SetDefaults() {
	if j.Match == nil {
		j.Match = []string{MatchExternalID, MatchUsername}
	}
	if j.BatchSize == 0 {
		j.BatchSize = 200
	}
	if j.Workers == 0 {
		j.Workers = 8
	}
	j.Safety.SetDefaults()
}

// ValidateMatch checks match rules; paths are relative to the job.
func ValidateMatch(match []string) error {
	var errs fielderr.List
	seen := map[string]bool{}
	for i, m := range match {
		switch m {
		case MatchExternalID, MatchUsername, MatchEmail:
		default:
			errs.Add(fmt.Sprintf("match[%d]", i), "unknown rule %q (use externalId, username or email)", m)
		}
		if seen[m] {
			errs.Add(fmt.Sprintf("match[%d]", i), "%q listed twice", m)
		}
		seen[m] = true
	}
	return errs.Err()
}

// Engine runs jobs. Its fields are the run's dependencies; it keeps no
// state between runs.
type Engine struct {
	Store  state.Store
	Target Target
	Logger *zap.Logger
	// Calls, when set, returns how many API requests the target has made
	// so far; reports show the difference over a run.
	Calls func() int64
	// Now is the clock (default time.Now).
	Now func() time.Time
	// driftHold overrides how many drifted users verify keeps whole from
	// its listings (0: driftHold; negative: none, each is read again by
	// id). Tests set it.
	driftHold int
}

// Options change one run.
type Options struct {
	// DryRun plans and reports but writes nothing, neither to PingOne nor
	// to state (DESIGN invariant 8).
	DryRun bool
	// AllowMassDisable overrides the safety gate for this run (disables
	// and adoptions alike).
	AllowMassDisable bool
	// AllowMassAdoption overrides only safety.max_adoptions for this run.
	AllowMassAdoption bool
	// AllowMassDelete overrides only safety.max_deletes and
	// max_delete_percent for this run.
	AllowMassDelete bool
	// ForceFull asks the source for a complete read.
	ForceFull bool
	// Verify reads the managed users back from PingOne and repairs (or
	// reports) drift, whatever the job's own setting.
	Verify bool
	// Progress, when set, is called as the run advances.
	Progress func(Progress)
	// Until, when set, lists in the report the transitions the mapping's
	// dates will make up to that day (`syncd plan --until`); it forces a
	// complete read.
	Until time.Time
	// Watch marks a watch batch (`syncd run` with jobs[].watch): the read
	// is a delta whenever the cursor allows, even when a scheduled complete
	// read is due (full_every, dates: the schedule does those), and a
	// delta's disables pass the sliding-window gate (watchgate.go).
	Watch bool
	// WatchGateWindow is that gate's window (jobs[].watch_gate_window).
	WatchGateWindow time.Duration
	// ExpectPlan, when set, is the digest of a plan saved earlier (`syncd
	// plan --out`): the run applies only if it plans exactly that again,
	// and otherwise fails with ErrPlanChanged before any write.
	ExpectPlan string
	// Abort, when closed, cuts a stopping run short (the daemon closes it
	// at daemon.shutdown_timeout): a cancelled ctx lets the requests in
	// flight finish, through their retries; Abort cancels them and their
	// backoff waits too. What finished is still checkpointed, on a context
	// of its own bounded by checkpointGrace, and the run is recorded as
	// stopped; a create whose answer never came is looked up by externalId
	// on the next run. Nil: never.
	Abort <-chan struct{}
}

// ErrPlanChanged is returned when a saved plan no longer matches what the
// source and state give now.
var ErrPlanChanged = errors.New("the saved plan no longer matches the source and state")

// Progress is a snapshot of a run's advance, for a terminal display.
type Progress struct {
	Phase   string // "read", "plan", "apply"
	Records int
	Done    int
	Total   int
}

// calls is the client's request count so far (0 without a counter).
func (e *Engine) calls() int64 {
	if e.Calls == nil {
		return 0
	}
	return e.Calls()
}

// finish stamps the end of a run or revert on its report: the time, the
// requests it made since calls0, and its status from err.
func (e *Engine) finish(rep *Report, opts Options, calls0 int64, err error) {
	rep.FinishedAt = e.now()
	if e.Calls != nil {
		rep.APICalls = e.Calls() - calls0
	}
	var gerr *GateError
	switch {
	case errors.As(err, &gerr):
		rep.Status, rep.Gate = StatusGated, gerr
	case err != nil:
		rep.Status = StatusFailed
	case opts.DryRun:
		rep.Status = StatusPlanned
	default:
		rep.Status = StatusSucceeded
	}
	if err != nil {
		rep.Error = err.Error()
	}
}

func (e *Engine) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

// Run runs one job once and reports what it did. The error is nil when the
// run succeeded (per-record rejects and per-user failures within the bound
// are in the report, not in the error); a *GateError when the safety gate
// stopped it; wraps state.ErrLocked when another process holds the job.
func (e *Engine) Run(ctx context.Context, job *Job, opts Options) (*Report, error) {
	rep := &Report{Job: job.Name, DryRun: opts.DryRun, StartedAt: e.now(), TransactionID: newTransactionID()}
	log := e.Logger.With(zap.String("job", job.Name), zap.String("run_id", rep.TransactionID))
	ctx = pingone.WithTransactionID(ctx, rep.TransactionID)
	calls0 := e.calls()
	err := e.run(ctx, job, opts, rep, log)
	e.finish(rep, opts, calls0, err)
	if err != nil {
		err = fmt.Errorf("job %s: %w", job.Name, err)
	}
	return rep, err
}

func (e *Engine) run(ctx context.Context, job *Job, opts Options, rep *Report, log *zap.Logger) (runErr error) {
	job.reach = e.newReach(ctx, job)
	job.abort = opts.Abort
	if !opts.DryRun {
		unlock, err := e.Store.Lock(ctx, job.Name)
		if err != nil {
			return fmt.Errorf("lock: %w", err)
		}
		defer func() {
			uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			if uerr := unlock(uctx); uerr != nil {
				log.Warn("job lock release failed", zap.Error(uerr))
			}
		}()
		// The run starts when it holds the job: run records of one job
		// never overlap.
		rep.StartedAt = e.now()
		// Holding the lock, no live process runs the job: a record still
		// "running" was left by one that died or was cut short.
		if ab, ok := e.Store.(state.RunAbandoner); ok {
			n, err := ab.AbandonRuns(ctx, job.Name, rep.StartedAt)
			if err != nil {
				return fmt.Errorf("mark abandoned runs: %w", err)
			}
			if n > 0 {
				log.Warn("earlier runs left running marked abandoned", zap.Int64("runs", n))
			}
		}
	}

	cursor, err := e.Store.Cursor(ctx, job.Name)
	if err != nil {
		return fmt.Errorf("read cursor: %w", err)
	}
	srcCursor, sameConfig, normalKeys := splitCursor(cursor.Value, job.ConfigDigest)
	full := opts.ForceFull || len(srcCursor) == 0 || !sameConfig || job.FullEvery == 0 || !opts.Until.IsZero()
	if !opts.Watch {
		full = full || e.now().Sub(cursor.LastFullRead) >= job.FullEvery ||
			dateReadDue(job, cursor.LastFullRead) // dates.go
	}
	if !sameConfig && len(cursor.Value) > 0 {
		log.Info("job settings changed since the last run: reading the source completely")
	}
	hs, err := e.loadHolds(ctx, job.Name) // watchgate.go
	if err != nil {
		return err
	}
	if opts.AllowMassDisable && len(hs.held) > 0 && !full {
		// A held disable may come from a delta long past: a complete
		// read plans it again.
		log.Info("disables held by the watch's safety gate: reading the source completely to apply them", zap.Int("held", len(hs.held)))
		full = true
	}

	mode := "full"
	if !full {
		mode = "delta"
	}
	if opts.DryRun {
		mode = "dry-run"
	} else {
		run, err := e.Store.StartRun(ctx, state.Run{Job: job.Name, Mode: mode, StartedAt: rep.StartedAt, Status: state.RunRunning})
		if err != nil {
			return fmt.Errorf("record run start: %w", err)
		}
		rep.RunID = run.ID
		defer func() { e.finishRun(ctx, run, rep, runErr, log) }()
	}
	log.Info("run started", zap.String("mode", mode), zap.Int64("state_run_id", rep.RunID))

	// Read and map, while the checkpoints load from state on the side: the
	// two are independent until the diff. A delta read loads only the
	// checkpoints of the anchors it carried, after the read, and counts
	// the others meanwhile (loadChanged).
	type loaded struct {
		cps    *checkpoints
		counts state.CheckpointCounts
		err    error
	}
	lctx, cancelLoad := context.WithCancel(ctx)
	defer cancelLoad()
	loadc := make(chan loaded, 1)
	verify := opts.Verify || job.Verify
	counter, canCount := e.Store.(state.CheckpointCounter)
	loadChanged := !full && !verify && normalKeys && canCount
	// A job without checkpoints (a first run, a lost state database) looks
	// for pre-existing users to adopt in the whole environment: listed
	// now, before the read, so that the listing's garbage is not collected
	// beside the records (planAdoptions).
	var env *envUsers
	var counts state.CheckpointCounts
	if canCount {
		if counts, err = counter.CountCheckpoints(ctx, job.Name); err != nil {
			return fmt.Errorf("count checkpoints: %w", err)
		}
		if counts.Total == 0 {
			t0 := e.now()
			if env, err = e.listEnvironment(ctx, job); err != nil {
				return err
			}
			rep.Phases.Plan += e.now().Sub(t0)
		}
	}
	go func() {
		if loadChanged {
			loadc <- loaded{counts: counts}
			return
		}
		cps, err := e.loadCheckpoints(lctx, job.Name, verify)
		if err == nil && verify {
			err = e.listManaged(lctx, job, cps)
		}
		loadc <- loaded{cps: cps, err: err}
	}()
	var ld loaded
	loadedEarly := false
	if verify {
		// Verifying lists PingOne before the read, so that the listings'
		// garbage and the records' are never live together (drift.go).
		ld, loadedEarly = <-loadc, true
		if ld.err != nil {
			return ld.err
		}
	}
	t0 := e.now()
	rd, err := e.read(ctx, job, sources.ReadRequest{Cursor: srcCursor, Full: full, Attributes: job.Groups.UserAttributes(job.Mapper.SourceAttributes()), AnchorsChecked: true}, rep, opts)
	if err != nil {
		cancelLoad()
		if !loadedEarly {
			<-loadc
		}
		return err
	}
	rep.Phases.Read = e.now().Sub(t0)

	// Plan.
	t0 = e.now()
	if rd.records >= bigRead {
		// The read leaves its garbage behind (source buffers, the conflict
		// indexes, each record's unpacked form) next to a large live set.
		// Collecting it once here, while the checkpoints may still be
		// loading, lets the plan reuse that memory rather than grow the
		// heap: 1M records peak 10-15 % lower.
		runtime.GC()
	}
	if !loadedEarly {
		ld = <-loadc
	}
	if ld.err != nil {
		return ld.err
	}
	cps := ld.cps
	switch {
	case cps != nil:
	case rd.complete:
		// The source answered the delta request with a complete read (it
		// refused the cursor): every checkpoint takes part.
		if cps, err = e.loadCheckpoints(ctx, job.Name, false); err != nil {
			return err
		}
	default:
		if cps, err = e.loadChanged(ctx, job.Name, rd, ld.counts); err != nil {
			return err
		}
	}
	active := cps.active
	if !opts.DryRun {
		if err := e.renameLegacyAnchors(ctx, job.Name, cps.renames); err != nil {
			return err
		}
	}
	in := diffInput{
		desired: rd.desired, rejected: rd.rejected, outOfScope: rd.outOfScope,
		deleted: rd.deleted, complete: rd.complete, createDisabled: job.CreateDisabled,
	}
	paired, err := e.pair(ctx, job.Name, in, cps)
	if err != nil {
		return err
	}
	popIDs, rejected, err := e.resolvePopulations(ctx, rd, rep, func(i int, d *record) bool {
		return verify || (!paired.unchanged[i] && !samePopulation(d, paired.checkpoint(i)))
	})
	if err != nil {
		return err
	}
	if rejected {
		// Records were taken out: their anchors are now absent ones.
		if paired, err = e.pair(ctx, job.Name, in, cps); err != nil {
			return err
		}
	}
	in.popIDs, in.paired = popIDs, paired
	ops := diff(in)
	if err := e.planAdoptions(ctx, job, ops, cps.total, env, rep); err != nil {
		return err
	}
	if env != nil && env.len() >= bigRead {
		// The listing's summaries and the match index are garbage now:
		// collected once here, as after the read, so that the rest of the
		// plan reuses their memory rather than grow the heap.
		env = nil
		runtime.GC()
	}
	if opts.Verify || job.Verify {
		// Streams the listings: holds whole only the users that drifted,
		// and gives each an op (drift.go).
		var drifts []Drift
		ops, drifts, err = e.verify(ctx, job, ops, &in, &paired, cps, job.Drift != DriftReport)
		if err != nil {
			return err
		}
		rep.Drift = drifts
		for _, d := range drifts {
			log.Warn("drift found", zap.String("anchor", d.Anchor), zap.String("user_id", d.UserID), zap.Bool("repair", d.Repaired))
		}
	}
	// After verify (which may give drifted users an op): a delete
	// replaces what else was planned for its user.
	ops, nDeletes, err := e.planDeletes(ctx, job, ops, rd) // deletes.go
	if err != nil {
		return err
	}
	paired.skipped -= nDeletes // those anchors are deleted, not unchanged
	if err := e.checkOwners(ctx, job, ops, rep); err != nil {
		return err
	}
	ops = hs.keep(ops, opts.AllowMassDisable, rep, log)
	// A watch run's delta passes the sliding-window gate (watchgate.go)
	// instead of the per-run disable thresholds.
	watchDelta := opts.Watch && !rd.complete && !opts.AllowMassDisable
	if watchDelta && !opts.DryRun {
		if ops, err = e.watchGate(ctx, job, ops, active, opts.WatchGateWindow, hs, rep, log); err != nil {
			return err
		}
	}
	var gp *groupPlan
	if job.Groups != nil {
		tg := e.now()
		if gp, err = e.planGroups(ctx, job, rd, popIDs, ops, rep); err != nil {
			return fmt.Errorf("groups: %w", err)
		}
		rep.Phases.Groups = e.now().Sub(tg)
		if verify {
			if rep.MemberDrift, err = e.verifyMembers(ctx, job, gp, job.Drift != DriftReport); err != nil {
				return err
			}
			for _, d := range rep.MemberDrift {
				log.Warn("membership drift found", zap.String("group_anchor", d.Group), zap.String("anchor", d.Member),
					zap.Bool("nested", d.Nested), zap.Bool("added", d.Added), zap.Bool("group_deleted", d.GroupDeleted), zap.Bool("repair", d.Repaired))
			}
		}
	}
	rep.Phases.Plan += e.now().Sub(t0)
	rep.PlanDigest = gp.digest(planDigest(ops))
	report(opts, Progress{Phase: "plan", Records: rep.Counts.Records})
	if opts.ExpectPlan != "" && opts.ExpectPlan != rep.PlanDigest {
		return fmt.Errorf("%w: re-run `syncd plan` and review it again (saved %s, now %s)", ErrPlanChanged, opts.ExpectPlan, rep.PlanDigest)
	}

	// --allow-mass-disable overrides the whole gate, as it always has;
	// --allow-mass-adoption only the adoption limit.
	if g := gate(job.Name, job.Safety, ops, active, rd.records, rd.complete, opts.AllowMassDisable || watchDelta, opts.AllowMassDisable || opts.AllowMassAdoption); g != nil {
		log.Warn("safety gate tripped", zap.Int("disables", g.Disables), zap.Int("active", g.Active), zap.Bool("empty_source", g.EmptySource),
			zap.Int("adoptions", g.Adoptions))
		return g
	}
	// Deletes have their own limits (deletes.go): --allow-mass-delete
	// overrides only them.
	if g, err := e.deleteGate(ctx, job, ops, opts.AllowMassDisable || opts.AllowMassDelete); err != nil || g != nil {
		if g != nil {
			log.Warn("safety gate tripped", zap.Int("deletes", g.Deletes), zap.Int("managed", g.Managed))
			return g
		}
		return err
	}
	job.adoptLeft = nil
	if !opts.AllowMassDisable && !opts.AllowMassAdoption {
		// Adoptions found while applying count against the same limit as
		// the planned ones the gate let through.
		planned := 0
		for i := range ops {
			if ops[i].Has(ActAdopt) {
				planned++
			}
		}
		job.adoptLeft = new(atomic.Int64)
		job.adoptLeft.Store(int64(job.Safety.MaxAdoptions - planned))
	}
	if gp != nil && !opts.AllowMassDisable {
		if g := gp.gate(job.Name, job.Groups.Safety); g != nil {
			log.Warn("safety gate tripped", zap.Int("membership_removals", g.Memberships.Removals), zap.Strings("emptied_groups", g.Memberships.Emptied))
			rep.Groups = gp.report()
			return g
		}
	}

	if opts.DryRun {
		for i := range ops {
			if ops[i].writes() && log.Core().Enabled(zap.DebugLevel) {
				log.Debug("would apply", zap.String("anchor", ops[i].Anchor()), zap.Stringer("actions", ops[i].Actions))
			}
		}
		if gp != nil {
			gp.countPlanned()
			rep.Groups = gp.report()
		}
		rep.count(ops, paired)
		return nil
	}

	// Apply.
	t0 = e.now()
	applyErr := e.apply(ctx, job, ops, rep, opts, &firstDisable{check: rd.recheck}, log)
	if err := e.forgetDeletedMembers(context.WithoutCancel(ctx), job.Name, ops); err != nil && applyErr == nil {
		applyErr = err
	}
	if applyErr == nil && gp != nil {
		// Users before groups before memberships, in the same run.
		applyErr = e.applyGroups(ctx, job, gp, rep, log)
		rep.Groups = gp.report()
	}
	rep.Phases.Apply = e.now().Sub(t0)
	rep.count(ops, paired)
	if err := e.saveRejects(ctx, job, rd, rep); err != nil && applyErr == nil {
		applyErr = err
	}
	if applyErr != nil {
		return applyErr
	}
	if err := hs.settle(ctx, job.Name, ops, opts.AllowMassDisable && rd.complete); err != nil {
		return err
	}
	if rep.Counts.Failed == 0 {
		// A cursor moves only when every change it covers was applied:
		// otherwise a delta read would never see the failed ones again.
		c := state.Cursor{Value: joinCursor(job.ConfigDigest, rd.cursor), LastFullRead: cursor.LastFullRead}
		if rd.complete {
			c.LastFullRead = rep.StartedAt
		}
		if err := e.Store.SetCursor(ctx, job.Name, c); err != nil {
			return fmt.Errorf("save cursor: %w", err)
		}
	}
	return nil
}

func report(opts Options, p Progress) {
	if opts.Progress != nil {
		opts.Progress(p)
	}
}

// count fills the report's counts from the ops and the anchors the
// pairing skipped, and keeps the ops worth listing (countOps).
func (r *Report) count(ops []Op, p pairing) {
	r.Counts.Rejected = len(r.Rejects)
	for i := range ops {
		if ops[i].cp != nil && ops[i].cp.Status == state.StatusConflict && ops[i].Has(ActNoop) {
			r.Counts.Conflicts++
		}
	}
	r.Counts.Conflicts += p.skippedConflicts
	r.countOps(ops)
	r.Counts.Unchanged += p.skipped
}

func (e *Engine) finishRun(ctx context.Context, run state.Run, rep *Report, runErr error, log *zap.Logger) {
	run.FinishedAt = e.now()
	run.Counts = rep.Counts.Map()
	if rep.Groups != nil {
		maps.Copy(run.Counts, rep.Groups.Counts.Map())
	}
	if rep.Mode != "" {
		run.Mode = rep.Mode
	}
	run.Status = state.RunSucceeded
	var g *GateError
	switch {
	case errors.As(runErr, &g):
		run.Status = state.RunGated
	case errors.Is(runErr, context.Canceled) && ctx.Err() != nil:
		// A stop (signal, shutdown): what was applied is checkpointed.
		run.Status = state.RunStopped
	case runErr != nil:
		run.Status = state.RunFailed
	}
	if runErr != nil {
		run.Error = runErr.Error()
	}
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := e.Store.FinishRun(fctx, run); err != nil {
		log.Error("record run end failed", zap.Error(err))
	}
	log.Info("run finished", zap.String("status", string(run.Status)),
		zap.Int("created", rep.Counts.Created), zap.Int("adopted", rep.Counts.Adopted),
		zap.Int("updated", rep.Counts.Updated), zap.Int("enabled", rep.Counts.Enabled),
		zap.Int("disabled", rep.Counts.Disabled), zap.Int("moved", rep.Counts.Moved),
		zap.Int("unchanged", rep.Counts.Unchanged), zap.Int("rejected", rep.Counts.Rejected),
		zap.Int("failed", rep.Counts.Failed),
		zap.Duration("read", rep.Phases.Read), zap.Duration("plan", rep.Phases.Plan), zap.Duration("apply", rep.Phases.Apply))
}

// bigRead is the read size from which a run collects garbage between the
// read and the plan.
const bigRead = 100_000

// readResult is what the read-and-map phase produced.
type readResult struct {
	desired    *records // sorted by anchor
	rejected   map[string]string
	outOfScope map[string]bool
	deleted    map[string]bool
	complete   bool
	records    int
	cursor     []byte
	recheck    func(context.Context) error // sources.Rechecker, if the reader is one
	users      *userIndex                  // what the groups need from the users (nil: no groups)
}

func (e *Engine) read(ctx context.Context, job *Job, req sources.ReadRequest, rep *Report, opts Options) (*readResult, error) {
	r, err := job.Source.Open(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("open source: %w", err)
	}
	defer r.Close()
	rep.Mode = r.Mode().String()

	res := &readResult{
		rejected:   map[string]string{},
		outOfScope: map[string]bool{},
		deleted:    map[string]bool{},
		users:      newUserIndex(job.Groups),
	}
	recs := newRecords()
	anonymous := 0
	for r.Next() {
		rec := r.Record()
		res.records++
		res.users.observe(job.Groups, &rec)
		if res.records%10000 == 0 {
			report(opts, Progress{Phase: "read", Records: res.records})
		}
		if rec.Deleted {
			res.deleted[mapper.NormalizeAnchor(rec.Anchor)] = true
			continue
		}
		out := job.Mapper.Map(rec) // anchors come out NFC (mapper.NormalizeAnchor)
		if !opts.Until.IsZero() {
			rep.Transitions = append(rep.Transitions, transitions(job.Mapper, rec, out, opts.Until)...)
		}
		switch out.Outcome {
		case mapper.Mapped:
			recs.add(&out.Desired)
		case mapper.OutOfScope:
			res.outOfScope[out.Desired.Anchor] = true
		case mapper.Rejected:
			rep.Rejects = append(rep.Rejects, out.Reject)
			if out.Reject.Anchor == "" {
				anonymous++
			} else {
				res.rejected[out.Reject.Anchor] = out.Reject.Reason
			}
		}
	}
	rep.Counts.Records = res.records
	if err := r.Err(); err != nil {
		// DESIGN invariant 1: an incomplete read plans nothing at all.
		return nil, fmt.Errorf("read source (after %d records; nothing planned, nothing disabled): %w", res.records, err)
	}
	res.cursor = r.Cursor()
	res.complete = r.Mode() == sources.Full
	if rc, ok := r.(sources.Rechecker); ok {
		res.recheck = rc.Recheck
	}
	// Release what the source holds (a CSV duplicate-key index, an LDAP
	// connection) before the records are checked and planned.
	r.Close()
	if anonymous > 0 && res.complete {
		// A record the source could not identify may be a managed user:
		// disabling "absent" users would disable it.
		res.complete = false
		rep.Warnings = append(rep.Warnings, fmt.Sprintf(
			"%d records could not be identified (no anchor): users absent from this read are not disabled this run; fix the rejected records", anonymous))
	}

	recs.sortByAnchor()
	bad, conflicts := mapper.FindConflicts(recs.len(), func(i int) (string, string, string) {
		r := recs.at(i)
		return r.anchor(), r.username(), r.pos()
	}, true)
	for _, c := range conflicts {
		rep.Rejects = append(rep.Rejects, c)
		if c.Anchor != "" {
			res.rejected[c.Anchor] = c.Reason
		}
	}
	// An anchor read twice, once out of the job's scope, is as ambiguous
	// as two mapped records with it (the source leaves anchors read twice
	// to this check: ReadRequest.AnchorsChecked).
	var twice []*record
	for a := range res.outOfScope {
		if r := recs.find(a); r != nil {
			twice = append(twice, r)
		}
	}
	slices.SortFunc(twice, func(x, y *record) int { return strings.Compare(x.anchor(), y.anchor()) })
	for _, r := range twice {
		reason := fmt.Sprintf("duplicate anchor %q: it appears more than once in the source, once out of the job's scope", r.anchor())
		rep.Rejects = append(rep.Rejects, mapper.Reject{Anchor: r.anchor(), Pos: r.pos(), Reason: reason})
		res.rejected[r.anchor()] = reason
	}
	if len(bad) > 0 || len(res.rejected) > 0 {
		// Conflicting records, and records whose anchor was rejected
		// elsewhere in the read, are not synced.
		recs.filter(func(r *record) bool {
			_, rejected := res.rejected[r.anchor()]
			return !rejected
		})
	}
	res.desired = recs
	return res, nil
}

// resolvePopulations turns each configured population (name or id) that a
// record needing work uses into an id, one look-up per distinct value per
// run. A run in which nothing changed looks up nothing. Records whose
// population does not exist are rejected, naming it.
func (e *Engine) resolvePopulations(ctx context.Context, rd *readResult, rep *Report, need func(int, *record) bool) (ids map[string]string, rejected bool, err error) {
	ids = map[string]string{}
	missing := map[string]error{}
	for i := 0; i < rd.desired.len(); i++ {
		d := rd.desired.at(i)
		p := d.population()
		if _, ok := ids[p]; ok {
			continue
		}
		if _, ok := missing[p]; ok {
			continue
		}
		if !need(i, d) {
			continue
		}
		id, err := e.Target.ResolvePopulation(ctx, p)
		if err != nil {
			if pingone.IsNotFound(err) || errors.Is(err, pingone.ErrPopulationNotFound) {
				missing[p] = err
				continue
			}
			return nil, false, fmt.Errorf("resolve population %q: %w", p, err)
		}
		ids[p] = id
	}
	if len(missing) == 0 {
		return ids, false, nil
	}
	rd.desired.filter(func(d *record) bool {
		err, ok := missing[d.population()]
		if !ok {
			return true
		}
		reason := fmt.Sprintf("population %q does not exist in PingOne (%v): create it or fix the population rule", d.population(), err)
		rep.Rejects = append(rep.Rejects, mapper.Reject{Anchor: d.anchor(), Pos: d.pos(), Attribute: "population", Reason: reason})
		rd.rejected[d.anchor()] = reason
		return false
	})
	return ids, true, nil
}

// SourceCursor returns the source's part of job's saved cursor, or nil
// when none was saved under the job's current settings (a watch resumes
// from it).
func SourceCursor(ctx context.Context, st state.Store, job *Job) ([]byte, error) {
	c, err := st.Cursor(ctx, job.Name)
	if err != nil {
		return nil, fmt.Errorf("job %s: read cursor: %w", job.Name, err)
	}
	src, same, _ := splitCursor(c.Value, job.ConfigDigest)
	if !same {
		return nil, nil
	}
	return src, nil
}

// A saved cursor is "syncd2 <config digest>\n" followed by the source's
// own cursor bytes. "syncd2" also says every checkpoint of the job is
// keyed by its normalised anchor (anchors.go): runs of this syncd leave
// them so, which lets a delta run load only the checkpoints of the
// anchors it read (loadChanged). A "syncd1" cursor, saved by an earlier
// syncd (perhaps one that wrote unnormalised anchors), is still resumed
// from, but its run loads every checkpoint once.
const (
	cursorMagic   = "syncd2 "
	cursorMagicV1 = "syncd1 "
)

func joinCursor(digest string, src []byte) []byte {
	if len(src) == 0 {
		return nil
	}
	return append([]byte(cursorMagic+digest+"\n"), src...)
}

// splitCursor returns the source's cursor, whether it was saved under the
// same job settings, and whether the job's checkpoints are all keyed by
// normalised anchors (a cursor saved by this syncd).
func splitCursor(b []byte, digest string) (src []byte, same, normalKeys bool) {
	rest, normalKeys := bytes.CutPrefix(b, []byte(cursorMagic))
	if !normalKeys {
		var v1 bool
		if rest, v1 = bytes.CutPrefix(b, []byte(cursorMagicV1)); !v1 {
			return nil, len(b) == 0, false
		}
	}
	saved, src, ok := bytes.Cut(rest, []byte("\n"))
	if !ok || string(saved) != digest {
		return nil, false, false
	}
	return src, true, normalKeys
}

func newTransactionID() string {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	return "syncd-" + hex.EncodeToString(b[:])
}

// shorten keeps messages and reports readable.
func shorten(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
