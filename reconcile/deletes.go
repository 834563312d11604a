package reconcile

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/syncd/syncd/sink/pingone"
	"github.com/syncd/syncd/state"
)

// Deletes after a grace period (jobs[].deprovision.delete_after). A user
// syncd disabled (its checkpoint keeps when: DisabledAt) and that is still
// absent from the source, out of the job's scope, or disabled there once
// the grace period has passed is deleted: DELETE /environments/{env}/users/{id}
// (API-NOTES §3, SPEC L28750: 204, no body). The rules:
//
//   - only on a complete read (DESIGN invariant 1: what a delta read does
//     not carry is not known to be gone);
//   - only users of the job's own checkpoints, created or adopted by it
//     (invariant 4), and checkOwners still rejects a user another job holds;
//   - never a user whose record is rejected this run, nor one the source
//     has enabled again (the diff enables it instead);
//   - a delete replaces whatever else the diff planned for a user that is
//     disabled in the source (an attribute change is moot once deleted);
//   - deletes have their own gate (safety.max_deletes and
//     max_delete_percent, --allow-mass-delete or --allow-mass-disable),
//     are journaled like every write, and a revert refuses them;
//   - the checkpoint stays, with status gone, no user id and DeletedAt: a
//     record that comes back is created again under the same anchor, with a
//     new PingOne id, and the plan says so. The job's memberships of the
//     deleted user are forgotten with it (PingOne dropped them).

// UserDeleter is the part of the PingOne client that deletes users.
// *pingone.Client implements it.
type UserDeleter interface {
	DeleteUser(ctx context.Context, id string) error
}

var _ UserDeleter = (*pingone.Client)(nil)

// planDeletes adds to ops (sorted by anchor) the deletes of the users whose
// grace period has passed, and returns ops, still sorted, and how many
// deletes it added for anchors the pairing had skipped (counted unchanged).
func (e *Engine) planDeletes(ctx context.Context, job *Job, ops []Op, rd *readResult) ([]Op, int, error) {
	if job.DeleteAfter <= 0 || !rd.complete {
		return ops, 0, nil
	}
	ds, ok := e.Store.(state.Deletes)
	if !ok {
		return nil, 0, fmt.Errorf("deprovision.delete_after: the state store cannot find the users to delete (%T)", e.Store)
	}
	now := e.now()
	var add []Op
	err := ds.DisabledBefore(ctx, job.Name, now.Add(-job.DeleteAfter), func(cp state.Checkpoint) error {
		a := cp.Anchor
		if _, rejected := rd.rejected[a]; rejected {
			return nil // left as it is, as every rejected record's user
		}
		still := "absent from the source"
		switch d := rd.desired.find(a); {
		case d != nil && d.enabled:
			return nil // enabled in the source again: the diff enables it
		case d != nil:
			still = "disabled in the source"
		case rd.outOfScope[a]:
			still = "out of the job's scope"
		}
		c := cp
		op := Op{cp: &c, Actions: Actions(ActDelete), Why: fmt.Sprintf("disabled by syncd on %s (%s ago) and still %s: deleted after deprovision.delete_after=%s",
			cp.DisabledAt.UTC().Format(time.DateOnly), days(now.Sub(cp.DisabledAt)), still, days(job.DeleteAfter))}
		k := sort.Search(len(ops), func(i int) bool { return ops[i].Anchor() >= a })
		if k < len(ops) && ops[k].Anchor() == a {
			if ops[k].Has(ActReject) || ops[k].Has(ActEnable) || ops[k].Has(ActCreate) {
				return nil
			}
			op.desired = ops[k].desired
			ops[k] = op
			return nil
		}
		add = append(add, op)
		return nil
	})
	if err != nil {
		return nil, 0, fmt.Errorf("find the users to delete (deprovision.delete_after): %w", err)
	}
	if len(add) > 0 {
		ops = append(ops, add...)
		slices.SortStableFunc(ops, func(x, y Op) int { return strings.Compare(x.Anchor(), y.Anchor()) })
	}
	return ops, len(add), nil
}

// days prints a duration as whole days ("180d"), or as Go does when it is
// not a whole number of days.
func days(d time.Duration) string {
	if d >= 24*time.Hour {
		return strconv.FormatInt(int64(d/(24*time.Hour)), 10) + "d"
	}
	return d.Round(time.Minute).String()
}

// deleteGate checks the planned deletes against safety.max_deletes and
// max_delete_percent of the users the job manages (enabled or disabled);
// nil when they pass or the run overrides them.
func (e *Engine) deleteGate(ctx context.Context, job *Job, ops []Op, allow bool) (*GateError, error) {
	deletes := 0
	for i := range ops {
		if ops[i].Has(ActDelete) {
			deletes++
		}
	}
	if deletes == 0 || allow {
		return nil, nil
	}
	counts, err := e.Store.CountByStatus(ctx, job.Name)
	if err != nil {
		return nil, fmt.Errorf("count managed users: %w", err)
	}
	s := job.Safety
	g := &GateError{Job: job.Name, MassDelete: true, Deletes: deletes, Managed: counts[state.StatusActive] + counts[state.StatusDisabled],
		MaxDeletes: s.MaxDeletes, MaxDeletePercent: s.MaxDeletePercent, PercentFloor: s.MaxDisablePercentFloor}
	if deletes > s.MaxDeletes {
		return g, nil
	}
	if g.Managed > 0 && deletes >= s.MaxDisablePercentFloor && float64(deletes) > s.MaxDeletePercent*float64(g.Managed)/100 {
		return g, nil
	}
	return nil, nil
}

func (g *GateError) deleteMessage() string {
	pct := 0.0
	if g.Managed > 0 {
		pct = 100 * float64(g.Deletes) / float64(g.Managed)
	}
	why := fmt.Sprintf("safety.max_deletes=%d", g.MaxDeletes)
	if g.Deletes <= g.MaxDeletes {
		why = fmt.Sprintf("safety.max_delete_percent=%g (from %d deletes on: safety.max_disable_percent_floor)", g.MaxDeletePercent, g.PercentFloor)
	}
	return fmt.Sprintf("safety gate: %d deletes planned (%.1f%% of %d managed users) exceeds %s; nothing was written "+
		"(a delete cannot be undone: review with `syncd plan`, then re-run with --allow-mass-delete or raise the limits)",
		g.Deletes, pct, g.Managed, why)
}

// deleteUser executes a delete op: the user is gone from PingOne, its
// checkpoint stays as a tombstone (status gone, no user id, DeletedAt).
func (e *Engine) deleteUser(ctx context.Context, op *Op, cp state.Checkpoint, log *zap.Logger) (state.Checkpoint, error) {
	id := op.UserID()
	del, ok := e.Target.(UserDeleter)
	if !ok {
		return cp, fmt.Errorf("delete user anchor=%s id=%s: the PingOne target cannot delete users (%T)", op.Anchor(), id, e.Target)
	}
	if err := del.DeleteUser(ctx, id); err != nil {
		if !pingone.IsNotFound(err) {
			return cp, fmt.Errorf("delete user anchor=%s id=%s: %w", op.Anchor(), id, err)
		}
		// Already gone (an admin, or a response lost after the delete):
		// the delete is done.
		log.Warn("user to delete was already gone", zap.String("anchor", op.Anchor()), zap.String("user_id", id))
	}
	now := e.now()
	cp.UserID, cp.Status, cp.Enabled, cp.Hash = "", state.StatusGone, false, ""
	cp.DeletedAt, cp.DisabledAt, cp.LastSynced, cp.LastError, cp.Failures = now, time.Time{}, now, "", 0
	log.Info("user deleted", zap.String("anchor", op.Anchor()), zap.String("user_id", id), zap.String("why", op.Why))
	return cp, nil
}

// stampDisabled keeps a checkpoint's disable and delete times true to the
// user it now describes: the time of the first write that left it
// disabled (a disable, a create as disabled), none while it is enabled or
// has no PingOne user; a user created again is no longer the deleted one.
func stampDisabled(cp *state.Checkpoint, now time.Time) {
	switch {
	case cp.UserID == "":
		cp.DisabledAt = time.Time{}
	case cp.Enabled:
		cp.DisabledAt, cp.DeletedAt = time.Time{}, time.Time{}
	default:
		cp.DeletedAt = time.Time{}
		if cp.DisabledAt.IsZero() {
			cp.DisabledAt = now
		}
	}
}

// forgetDeletedMembers drops the job's membership checkpoints of the users
// this run deleted: PingOne dropped the memberships with the user, and a
// user created again must be added to its groups again.
func (e *Engine) forgetDeletedMembers(ctx context.Context, job string, ops []Op) error {
	deleted := map[string]bool{}
	for i := range ops {
		if ops[i].Has(ActDelete) && ops[i].result == applied {
			deleted[ops[i].Anchor()] = true
		}
	}
	gs, ok := e.Store.(state.GroupStore)
	if len(deleted) == 0 || !ok {
		return nil
	}
	var b state.GroupBatch
	err := gs.Memberships(ctx, job, func(m state.Membership) error {
		if !m.Nested && deleted[m.Member] {
			b.Remove = append(b.Remove, m)
		}
		return nil
	})
	if err == nil && len(b.Remove) > 0 {
		err = gs.SaveGroups(ctx, job, b)
	}
	if err != nil {
		return fmt.Errorf("forget the memberships of %d deleted users: %w", len(deleted), err)
	}
	return nil
}

// errNotDeletable is why a revert leaves a delete alone.
var errNotDeletable = errors.New("deleted by the run: a delete cannot be undone (the user comes back, with a new PingOne id, when its record returns to the source)")
