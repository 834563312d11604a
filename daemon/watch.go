package daemon

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/syncd/syncd/sources"
	"github.com/syncd/syncd/state"
)

// Watch is a job whose source is watched (jobs[].watch): changes are
// gathered for Debounce, then applied by one WatchRunFunc call, which runs
// under the same per-job guard as the scheduled runs (they never overlap
// in one process; across processes the job lock keeps them apart).
type Watch struct {
	// Job names the job.
	Job string
	// Source watches the job's source until ctx ends, telling n what it
	// sees (ldapsource.Source.Watch, csvsource.Watch).
	Source func(ctx context.Context, n sources.Notify) error
	// Debounce is how long changes are gathered before a run.
	Debounce time.Duration
	// StaleAfter is how long the watch may be disconnected before /readyz
	// fails.
	StaleAfter time.Duration
	// Lease, when set, makes one replica at a time watch the job: the
	// watch runs only while this process holds the lease (see Leaser).
	Lease Leaser
	// Holder names this process to the lease.
	Holder string
}

// Leaser is the lease API of the state store (state.Leaser, PostgreSQL and
// SQLite): a named lease held by one holder until its ttl passes
// unrenewed.
type Leaser interface {
	AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error)
	ReleaseLease(ctx context.Context, name, holder string) error
}

// Lease timing: renewed every leaseRenew, lost leaseTTL after the last
// renewal (a dead replica's watch is taken over within about that long).
const (
	leaseTTL   = 30 * time.Second
	leaseRenew = 10 * time.Second
)

// WatchBatch is what one watch run applies: the changes gathered since
// the first of them was received.
type WatchBatch struct {
	// First is when the first change of the batch reached syncd.
	First time.Time
	// Changes counts the change notifications gathered (a source may
	// notify more than once for one change).
	Changes int
}

// WatchRunFunc runs one job once for a watch batch. Like RunFunc, it
// returns state.ErrLocked when another process holds the job: the batch
// is kept and retried.
type WatchRunFunc func(ctx context.Context, job string, b WatchBatch) error

// watchRetry is how soon a batch that could not run (the job busy or
// locked) is tried again; failures back off from it up to watchRetryMax.
const (
	watchRetry    = time.Second
	watchRetryMax = time.Minute
)

// watchSet is the running watches.
type watchSet struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
	states []*watchState
}

// watchState is what /readyz reads of one watch.
type watchState struct {
	job        string
	staleAfter time.Duration

	mu        sync.Mutex
	active    bool      // this process watches (holds the lease)
	connected bool      // the source is listening
	downSince time.Time // when it last stopped being connected
	lastErr   error

	pending  bool
	first    time.Time
	changes  int
	changedc chan struct{} // wakes the loop
}

// Changed implements sources.Notify.
func (w *watchState) Changed(at time.Time) {
	w.mu.Lock()
	if !w.pending {
		w.pending, w.first = true, at
	}
	w.changes++
	w.mu.Unlock()
	select {
	case w.changedc <- struct{}{}:
	default:
	}
}

// Connected implements sources.Notify.
func (w *watchState) Connected(up bool, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.connected && !up {
		w.downSince = time.Now()
	}
	w.connected, w.lastErr = up, err
}

func (w *watchState) setActive(active bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.active = active
	w.connected = false
	w.downSince = time.Now()
}

// stale says why the watch makes the process unready, or "".
func (w *watchState) stale(now time.Time) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.active || w.connected || now.Sub(w.downSince) < w.staleAfter {
		return ""
	}
	return fmt.Sprintf("watch of job %s disconnected for %s", w.job, now.Sub(w.downSince).Round(time.Second))
}

// take removes the pending batch.
func (w *watchState) take() (WatchBatch, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.pending {
		return WatchBatch{}, false
	}
	b := WatchBatch{First: w.first, Changes: w.changes}
	w.pending, w.changes = false, 0
	return b, true
}

// putBack returns a batch that could not run, merging it with changes
// received meanwhile.
func (w *watchState) putBack(b WatchBatch) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.pending || b.First.Before(w.first) {
		w.first = b.First
	}
	w.pending = true
	w.changes += b.Changes
}

// Watch replaces the running watches with ws (none: stop watching). It
// must be called once Run has started (Started is closed); a reload calls
// it again. Watch runs in flight finish undisturbed.
func (d *Daemon) Watch(ws []Watch, run WatchRunFunc) error {
	d.mu.Lock()
	if d.runCtx == nil || d.stopping {
		d.mu.Unlock()
		return errors.New("daemon: watch: daemon is not running")
	}
	old := d.watches
	ctx, cancel := context.WithCancel(d.runCtx)
	set := &watchSet{cancel: cancel}
	for _, w := range ws {
		js := d.states[w.Job]
		if js == nil {
			js = &jobState{}
			d.states[w.Job] = js
		}
		st := &watchState{job: w.Job, staleAfter: w.StaleAfter, changedc: make(chan struct{}, 1), downSince: time.Now()}
		set.states = append(set.states, st)
		d.inflight.Add(1)
		set.wg.Add(1)
		go func() {
			defer d.inflight.Done()
			defer set.wg.Done()
			d.watch(ctx, w, st, js, run)
		}()
	}
	d.watches = set
	d.mu.Unlock()
	if old != nil {
		old.cancel()
		old.wg.Wait()
	}
	return nil
}

// watchStale says why a watch makes the process unready, or "".
func (d *Daemon) watchStale() string {
	d.mu.Lock()
	set := d.watches
	d.mu.Unlock()
	if set == nil {
		return ""
	}
	now := time.Now()
	for _, w := range set.states {
		if why := w.stale(now); why != "" {
			return why
		}
	}
	return ""
}

// watch runs one job's watch: under its lease when it has one.
func (d *Daemon) watch(ctx context.Context, w Watch, st *watchState, js *jobState, run WatchRunFunc) {
	log := d.logger.With(zap.String("job", w.Job))
	if w.Lease == nil {
		st.setActive(true)
		d.watchHeld(ctx, w, st, js, run, log)
		return
	}
	name := "watch:" + w.Job
	for {
		ok, err := w.Lease.AcquireLease(ctx, name, w.Holder, leaseTTL)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			log.Warn("watch lease unavailable", zap.Error(err))
		}
		if ok {
			log.Info("watch lease acquired: watching", zap.String("holder", w.Holder))
			d.watchLeased(ctx, w, st, js, run, name, log)
			if ctx.Err() != nil {
				rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
				if err := w.Lease.ReleaseLease(rctx, name, w.Holder); err != nil {
					log.Warn("watch lease release failed", zap.Error(err))
				}
				cancel()
				return
			}
		}
		if !sleep(ctx, leaseRenew) {
			return
		}
	}
}

// watchLeased watches while the lease is renewed; it returns when the
// lease is lost or ctx ends.
func (d *Daemon) watchLeased(ctx context.Context, w Watch, st *watchState, js *jobState, run WatchRunFunc, name string, log *zap.Logger) {
	lctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		defer cancel()
		renewed := time.Now()
		for sleep(lctx, leaseRenew) {
			ok, err := w.Lease.AcquireLease(lctx, name, w.Holder, leaseTTL)
			if lctx.Err() != nil {
				return
			}
			switch {
			case ok:
				renewed = time.Now()
			case err != nil && time.Since(renewed) < leaseTTL-2*leaseRenew:
				// A state store hiccup: the lease holds a while yet.
				log.Warn("watch lease renewal failed: retrying", zap.Error(err))
			default:
				log.Warn("watch lease lost: another replica may watch the job now", zap.Error(err))
				return
			}
		}
	})
	st.setActive(true)
	d.watchHeld(lctx, w, st, js, run, log)
	st.setActive(false)
	cancel()
	wg.Wait()
}

// watchHeld runs the source's watch and applies its batches until ctx
// ends.
func (d *Daemon) watchHeld(ctx context.Context, w Watch, st *watchState, js *jobState, run WatchRunFunc, log *zap.Logger) {
	var wg sync.WaitGroup
	defer wg.Wait()
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	wg.Go(func() {
		if err := w.Source(wctx, st); err != nil && wctx.Err() == nil {
			st.Connected(false, err)
			log.Error("watch stopped", zap.Error(err))
		}
	})
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	armed := false
	failures := 0
	arm := func(after time.Duration) {
		if !armed {
			timer.Reset(after)
			armed = true
		}
	}
	for {
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-st.changedc:
			arm(w.Debounce)
			continue
		case <-timer.C:
			armed = false
		}
		b, ok := st.take()
		if !ok {
			continue
		}
		err := d.watchRun(ctx, w.Job, js, b, run, log)
		switch {
		case err == nil:
			failures = 0
		case errors.Is(err, errBusy), errors.Is(err, state.ErrLocked):
			st.putBack(b)
			arm(watchRetry)
		case ctx.Err() != nil:
			st.putBack(b)
			return
		default:
			failures++
			wait := min(watchRetry<<min(failures, 10), watchRetryMax)
			log.Error("watch run failed: retrying", zap.Error(err), zap.Int("failures", failures), zap.Duration("retry_in", wait))
			st.putBack(b)
			arm(wait)
		}
	}
}

// errBusy says the job was running (a scheduled run): the batch waits.
var errBusy = errors.New("job running")

// watchRun applies one batch under the job's guard.
func (d *Daemon) watchRun(ctx context.Context, job string, js *jobState, b WatchBatch, run WatchRunFunc, log *zap.Logger) error {
	if !js.tryStart() {
		return errBusy
	}
	defer js.finish()
	d.mu.Lock()
	root := d.runCtx
	d.mu.Unlock()
	// The run itself is not cut by a reload (ctx): only by shutdown.
	rctx, cancel := context.WithCancel(root)
	defer cancel()
	start := time.Now()
	log.Debug("watch run started", zap.Int("changes", b.Changes), zap.Duration("waited", start.Sub(b.First)))
	err := func() (err error) {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("job %s: panic: %v", job, r)
			}
		}()
		return run(rctx, job, b)
	}()
	if err == nil {
		log.Info("watch run finished", zap.Int("changes", b.Changes), zap.Duration("duration", time.Since(start)),
			zap.Duration("lag", time.Since(b.First)))
	}
	return err
}

// sleep waits d or until ctx ends; false when ctx ended.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d/2 + rand.N(d/2+1))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
