package reconcile

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"go.uber.org/zap"

	"github.com/syncd/syncd/sink/pingone"
	"github.com/syncd/syncd/state"
)

// Refusal is a user a revert leaves alone because a later run changed it
// again: undoing the old run would undo the newer change too.
type Refusal struct {
	Anchor   string `json:"anchor"`
	Username string `json:"username,omitempty"`
	UserID   string `json:"user_id,omitempty"`
	// Group is the group's anchor when what is refused is a membership.
	Group string `json:"group,omitempty"`
	// Run is the first later run that wrote to the user (the reverted run
	// itself for a user it deleted).
	Run    int64  `json:"run"`
	Reason string `json:"reason"`
}

// ErrNoJournal is returned by Revert when the store keeps no journal, or
// the run is not in it (never existed, or pruned after
// state.journal_retention).
var ErrNoJournal = errors.New("no journal of that run")

// Revert plans (opts.DryRun) or applies the inverse of run runID of job,
// built from the journal: what it disabled is enabled, what it enabled is
// disabled, changed attributes get their values before the run back, moved
// users go back to their population, and users it created are disabled
// (never deleted). A user that a later run wrote to is refused and listed
// in the report's Refused. The result is an ordinary plan: its digest is
// checked against opts.ExpectPlan before anything is written, the safety
// gate applies, and the writes are journaled under a run of mode "revert".
func (e *Engine) Revert(ctx context.Context, job *Job, runID int64, opts Options) (*Report, error) {
	rep := &Report{Job: job.Name, DryRun: opts.DryRun, StartedAt: e.now(), TransactionID: newTransactionID(), Mode: "revert", RevertOf: runID}
	log := e.Logger.With(zap.String("job", job.Name), zap.String("run_id", rep.TransactionID), zap.Int64("revert_of", runID))
	ctx = pingone.WithTransactionID(ctx, rep.TransactionID)
	calls0 := e.calls()
	err := e.revert(ctx, job, runID, opts, rep, log)
	e.finish(rep, opts, calls0, err)
	if err != nil {
		err = fmt.Errorf("job %s: revert run %d: %w", job.Name, runID, err)
	}
	return rep, err
}

func (e *Engine) revert(ctx context.Context, job *Job, runID int64, opts Options, rep *Report, log *zap.Logger) (runErr error) {
	jr, ok := e.Store.(state.Journal)
	if !ok {
		return fmt.Errorf("%w: the state store keeps none", ErrNoJournal)
	}
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
		rep.StartedAt = e.now()
	}
	run, ok, err := jr.Run(ctx, runID)
	switch {
	case err != nil:
		return fmt.Errorf("read run: %w", err)
	case !ok:
		return fmt.Errorf("%w: run %d is not in state (pruned after state.journal_retention, or never existed)", ErrNoJournal, runID)
	case run.Job != job.Name:
		return fmt.Errorf("run %d is a run of job %s", runID, run.Job)
	case run.Status == state.RunRunning:
		return fmt.Errorf("run %d has not finished", runID)
	}

	t0 := e.now()
	ops, refused, err := e.planRevert(ctx, jr, job.Name, runID)
	if err != nil {
		return err
	}
	mops, gids, mrefused, warnings, err := e.planRevertMembers(ctx, jr, job.Name, runID) // revert_members.go
	if err != nil {
		return err
	}
	var gp *groupPlan
	if len(mops) > 0 {
		gp = &groupPlan{members: mops}
	}
	rep.Refused = append(refused, mrefused...)
	for _, r := range rep.Refused {
		rep.Warnings = append(rep.Warnings, fmt.Sprintf("anchor %s (%s) not reverted: %s", r.Anchor, r.Username, r.Reason))
	}
	rep.Warnings = append(rep.Warnings, warnings...)
	rep.Phases.Plan = e.now().Sub(t0)
	rep.PlanDigest = gp.digest(planDigest(ops))
	if opts.ExpectPlan != "" && opts.ExpectPlan != rep.PlanDigest {
		return fmt.Errorf("%w: run `syncd revert %d` again and review it (saved %s, now %s)", ErrPlanChanged, runID, opts.ExpectPlan, rep.PlanDigest)
	}
	counts, err := e.Store.CountByStatus(ctx, job.Name)
	if err != nil {
		return fmt.Errorf("count managed users: %w", err)
	}
	if g := gate(job.Name, job.Safety, ops, counts[state.StatusActive], 1, false, opts.AllowMassDisable, true); g != nil {
		log.Warn("safety gate tripped", zap.Int("disables", g.Disables), zap.Int("active", g.Active))
		return g
	}
	if gp != nil && job.Groups != nil && !opts.AllowMassDisable {
		if g := gp.gate(job.Name, job.Groups.Safety); g != nil {
			log.Warn("safety gate tripped", zap.Int("membership_removals", g.Memberships.Removals))
			rep.Groups = gp.report()
			return g
		}
	}
	if opts.DryRun {
		rep.countOps(ops)
		if gp != nil {
			gp.countPlanned()
			rep.Groups = gp.report()
		}
		return nil
	}

	st, err := e.Store.StartRun(ctx, state.Run{Job: job.Name, Mode: "revert", StartedAt: rep.StartedAt, Status: state.RunRunning})
	if err != nil {
		return fmt.Errorf("record run start: %w", err)
	}
	rep.RunID = st.ID
	defer func() { e.finishRun(ctx, st, rep, runErr, log) }()
	log.Info("revert started", zap.Int64("state_run_id", rep.RunID), zap.Int("operations", len(ops)), zap.Int("refused", len(refused)))
	t0 = e.now()
	err = e.apply(ctx, job, ops, rep, opts, nil, log)
	if err == nil && gp != nil {
		// Users before memberships, as in a sync.
		gt, ok := e.Target.(GroupTarget)
		gs, gok := e.Store.(state.GroupStore)
		if !ok || !gok {
			err = fmt.Errorf("revert memberships: the PingOne target (%T) or the state store (%T) cannot write groups", e.Target, e.Store)
		} else {
			err = e.applyMembers(ctx, gt, gs, job, gp, gids, rep, log)
			rep.Groups = gp.report()
		}
	}
	rep.Phases.Apply = e.now().Sub(t0)
	rep.countOps(ops)
	return err
}

// revertOf is what one run did to one user, from its journal entries.
type revertOf struct {
	userID    string
	created   bool
	deleted   bool              // a delete after deprovision.delete_after: refused
	attrs     map[string]string // attribute -> value before the run
	pop       *string           // population before the run
	enabled   *bool             // enabled before the run
	firstSeen int64             // first entry id, to order the plan
}

// planRevert reads the run's successful writes and the checkpoints of the
// users they touched, and returns the inverse operations sorted by anchor.
func (e *Engine) planRevert(ctx context.Context, jr state.Journal, job string, runID int64) ([]Op, []Refusal, error) {
	did := map[string]*revertOf{}
	err := jr.JournalEntries(ctx, state.JournalFilter{Job: job, RunID: runID}, func(en state.JournalEntry) error {
		if !en.Succeeded() || en.GroupID != "" {
			return nil
		}
		r := did[en.Anchor]
		if r == nil {
			r = &revertOf{attrs: map[string]string{}, firstSeen: en.ID}
			did[en.Anchor] = r
		}
		if en.UserID != "" {
			r.userID = en.UserID
		}
		var before journalValues
		if en.Before != nil {
			if err := json.Unmarshal(en.Before, &before); err != nil {
				return fmt.Errorf("journal entry %d: before: %w", en.ID, err)
			}
		}
		switch en.Op {
		case state.OpCreate:
			r.created = true
		case state.OpDelete:
			r.deleted = true
		case state.OpUpdate:
			for k, v := range before.Attributes {
				if _, seen := r.attrs[k]; !seen { // the first write's "before" is the run's
					r.attrs[k] = v
				}
			}
		case state.OpMove:
			if r.pop == nil {
				p := before.PopulationID
				r.pop = &p
			}
		case state.OpEnable, state.OpDisable:
			if r.enabled == nil && before.Enabled != nil {
				b := *before.Enabled
				r.enabled = &b
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("read the journal of run %d: %w", runID, err)
	}
	if len(did) == 0 {
		return nil, nil, nil
	}
	anchors := slices.Sorted(maps.Keys(did))

	// A user written to by a later run (a sync, or another revert) is
	// refused: its current values are no longer the run's doing.
	later := map[string]int64{}
	for _, a := range anchors {
		err := jr.JournalEntries(ctx, state.JournalFilter{Job: job, Anchor: a, AfterRun: runID}, func(en state.JournalEntry) error {
			// A later membership write is not a change of the user's own
			// values: it refuses only that membership (revert_members.go).
			if _, ok := later[a]; !ok && en.Succeeded() && en.GroupID == "" {
				later[a] = en.RunID
			}
			return nil
		})
		if err != nil {
			return nil, nil, fmt.Errorf("read later journal of anchor %s: %w", a, err)
		}
	}
	cps := map[string]*state.Checkpoint{}
	err = e.Store.CheckpointsFor(ctx, job, anchors, func(cp state.Checkpoint) error {
		c := cp
		cps[cp.Anchor] = &c
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("read checkpoints: %w", err)
	}

	var (
		ops     []Op
		refused []Refusal
	)
	for _, a := range anchors {
		r, cp := did[a], cps[a]
		if r.deleted {
			ref := Refusal{Anchor: a, UserID: r.userID, Run: runID, Reason: errNotDeletable.Error()}
			if cp != nil {
				ref.Username = cp.Username
			}
			refused = append(refused, ref)
			continue
		}
		if run, ok := later[a]; ok {
			ref := Refusal{Anchor: a, UserID: r.userID, Run: run, Reason: fmt.Sprintf("changed again by run %d", run)}
			if cp != nil {
				ref.Username = cp.Username
			}
			refused = append(refused, ref)
			continue
		}
		if cp == nil || cp.UserID == "" || (r.userID != "" && cp.UserID != r.userID) {
			refused = append(refused, Refusal{Anchor: a, UserID: r.userID, Reason: "no longer managed under this PingOne user id"})
			continue
		}
		if op, ok := inverse(r, cp, runID); ok {
			ops = append(ops, op)
		}
	}
	return ops, refused, nil
}

// inverse is the op undoing r on the user cp describes now.
func inverse(r *revertOf, cp *state.Checkpoint, runID int64) (Op, bool) {
	op := Op{cp: cp}
	if r.created {
		if !cp.Enabled {
			return op, false
		}
		op.Actions = Actions(ActDisable)
		op.Why = fmt.Sprintf("created by run %d: disabled by the revert, never deleted", runID)
		return op, true
	}
	now := decodeAttrs(cp.Attributes)
	var cs []Change
	for _, k := range slices.Sorted(maps.Keys(r.attrs)) {
		if now[k] != r.attrs[k] {
			cs = append(cs, Change{Attribute: k, Old: now[k], New: r.attrs[k]})
		}
	}
	if len(cs) > 0 {
		op.setChanges(cs)
		op.Actions = op.Actions.With(ActUpdate)
	}
	if r.pop != nil && *r.pop != "" && *r.pop != cp.PopulationID {
		op.Actions = op.Actions.With(ActMove)
		op.ToPopulation = *r.pop
		op.setFrom(cp.PopulationID)
	}
	if r.enabled != nil && *r.enabled != cp.Enabled {
		if *r.enabled {
			op.Actions = op.Actions.With(ActEnable)
		} else {
			op.Actions = op.Actions.With(ActDisable)
		}
	}
	if op.Actions == 0 {
		return op, false
	}
	op.Why = fmt.Sprintf("revert of run %d", runID)
	return op, true
}
