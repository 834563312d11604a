package reconcile

import (
	"context"
	"fmt"
	"slices"
	"time"

	"go.uber.org/zap"

	"github.com/syncd/syncd/state"
)

// The watch's safety gate. A watch applies changes in many small runs, so
// a per-run threshold would let a mass deletion through a few at a time.
// Watch runs that read a delta therefore count disables over a sliding
// window (Options.WatchGateWindow): the disables journaled in the window
// plus this batch's, against safety.max_disables and
// safety.max_disable_percent of the users the job managed as active at
// the window's start (or created since). A batch that would exceed them
// has ALL its disables held — never trickled through under the threshold
// — while its other changes apply. Held disables are recorded in state
// (state.Held), shown by `syncd status`, and applied only by a run with
// --allow-mass-disable (which reads the source completely to plan them
// again); until then every run, watched or scheduled, keeps them held.
//
// A complete read in a watch run (no cursor, or one the source refused)
// passes the ordinary gate, which stops the run.

// holds is what a run knows of its job's held disables.
type holds struct {
	store state.Held // nil: the store keeps none
	held  map[string]state.HeldDisable
	// release lists held anchors this run no longer needs to hold (back
	// in the source, enabled); released once the run applied.
	release []string
	// added are the disables this run holds.
	added []state.HeldDisable
}

// loadHolds reads the job's held disables (none when the store keeps
// none).
func (e *Engine) loadHolds(ctx context.Context, job string) (*holds, error) {
	h := &holds{held: map[string]state.HeldDisable{}}
	st, ok := e.Store.(state.Held)
	if !ok {
		return h, nil
	}
	h.store = st
	hs, err := st.HeldDisables(ctx, job)
	if err != nil {
		return nil, fmt.Errorf("read held disables: %w", err)
	}
	for _, x := range hs {
		h.held[x.Anchor] = x
	}
	return h, nil
}

// keep takes the disables of held anchors out of the plan (unless the run
// may disable in mass) and notes the held anchors that no longer need
// holding.
func (h *holds) keep(ops []Op, allow bool, rep *Report, log *zap.Logger) []Op {
	if len(h.held) == 0 {
		return ops
	}
	kept := 0
	ops = slices.DeleteFunc(ops, func(op Op) bool {
		if _, ok := h.held[op.Anchor()]; !ok {
			return false
		}
		switch {
		case op.Has(ActDisable):
			if !allow {
				kept++
			}
			return !allow
		case op.desired != nil && op.desired.enabled:
			h.release = append(h.release, op.Anchor())
		}
		return false
	})
	if kept > 0 {
		msg := fmt.Sprintf("safety gate: %d disables held by the watch stay held (`syncd status` lists them; a run with --allow-mass-disable applies them)", kept)
		rep.Warnings = append(rep.Warnings, msg)
		log.Warn("safety gate: held disables not applied", zap.Int("held", kept))
	}
	return ops
}

// watchGate holds every disable of ops when, with those journaled in the
// window, they exceed the job's thresholds; it returns the ops that apply.
func (e *Engine) watchGate(ctx context.Context, job *Job, ops []Op, active int, window time.Duration, h *holds, rep *Report, log *zap.Logger) ([]Op, error) {
	batch := 0
	for i := range ops {
		if ops[i].Has(ActDisable) {
			batch++
		}
	}
	if batch == 0 {
		return ops, nil
	}
	if h.store == nil {
		return nil, fmt.Errorf("watch gate: the state store cannot hold disables")
	}
	now := e.now()
	counts, err := h.store.CountWrites(ctx, job.Name, now.Add(-window))
	if err != nil {
		return nil, fmt.Errorf("watch gate: %w", err)
	}
	recent := counts[state.OpDisable]
	// The managed active users at the window's start and those created
	// since: now's, plus the window's disables, minus its enables. (Not
	// minus its creates: a job synced for the first time would have no
	// base for an hour, so any disable would be held.)
	start := max(active+recent-counts[state.OpEnable], 0)
	total := recent + batch
	s := job.Safety
	var why string
	switch {
	case total > s.MaxDisables:
		why = fmt.Sprintf("safety.max_disables=%d", s.MaxDisables)
	case start > 0 && total >= s.MaxDisablePercentFloor && float64(total) > s.MaxDisablePercent*float64(start)/100:
		why = fmt.Sprintf("safety.max_disable_percent=%g of %d active users (from %d disables on)", s.MaxDisablePercent, start, s.MaxDisablePercentFloor)
	default:
		return ops, nil
	}
	gate := fmt.Sprintf("safety gate (watch): %d disables in this batch and %d in the last %s exceed %s; all %d held until a run with --allow-mass-disable",
		batch, recent, window, why, batch)
	ops = slices.DeleteFunc(ops, func(op Op) bool {
		if !op.Has(ActDisable) {
			return false
		}
		h.added = append(h.added, state.HeldDisable{Anchor: op.Anchor(), UserID: op.UserID(), Username: op.Username(),
			Reason: op.Why, Gate: gate, RunID: rep.RunID, HeldAt: now})
		return true
	})
	rep.Held = h.added
	rep.Warnings = append(rep.Warnings, gate)
	log.Warn("safety gate: watch batch's disables held", zap.Int("held", batch), zap.Int("disabled_in_window", recent),
		zap.Duration("window", window), zap.Int("active_at_window_start", start), zap.String("threshold", why))
	if err := h.store.HoldDisables(ctx, job.Name, h.added); err != nil {
		return nil, fmt.Errorf("watch gate: %w", err)
	}
	return ops, nil
}

// settle forgets, after a run applied, the held disables it made
// unnecessary: anchors back in the source, and — in a run allowed to
// disable in mass — every held anchor whose disable did not fail.
func (h *holds) settle(ctx context.Context, job string, ops []Op, allow bool) error {
	if h.store == nil || len(h.held) == 0 {
		return nil
	}
	release := h.release
	if allow {
		failed := map[string]bool{}
		for i := range ops {
			if ops[i].failed() {
				failed[ops[i].Anchor()] = true
			}
		}
		for a := range h.held {
			if !failed[a] {
				release = append(release, a)
			}
		}
	}
	if err := h.store.ReleaseHeld(ctx, job, release); err != nil {
		return fmt.Errorf("release held disables: %w", err)
	}
	return nil
}
