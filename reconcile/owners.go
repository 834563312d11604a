package reconcile

import (
	"context"
	"fmt"
	"sort"
	"sync"

	"github.com/syncd/syncd/mapper"
	"github.com/syncd/syncd/sink/pingone"
	"github.com/syncd/syncd/state"
)

// One owner per PingOne user (DESIGN invariant 4). A job adopts, updates,
// moves, enables or disables only users it created or adopted itself, and
// adopts (by any match rule) only a user that sits in one of the
// populations it routes to and carries no other externalId. Several jobs
// may share one state database; a user another job manages is never
// touched: the record that would touch it is a reject naming that job.
//
// The checks cost nothing when the state database holds no other job, and
// otherwise one query per other job for the anchors the plan creates and
// one for the users it adopts or writes to.

// reach is the set of populations a job routes to, resolved to ids the
// first time an adoption needs it.
type reach struct {
	once  sync.Once
	load  func() (map[string]string, error)
	ids   map[string]string // population id -> configured name or id
	err   error
	names func() map[string]string // every population id -> name, for messages
}

func (e *Engine) newReach(ctx context.Context, job *Job) *reach {
	r := &reach{}
	r.load = func() (map[string]string, error) {
		ids := map[string]string{}
		for _, p := range job.Mapper.Populations() {
			id, err := e.Target.ResolvePopulation(ctx, p)
			if pingone.IsNotFound(err) {
				continue // no user can sit in it
			}
			if err != nil {
				return nil, fmt.Errorf("resolve population %q: %w", p, err)
			}
			ids[id] = p
		}
		return ids, nil
	}
	var (
		namesOnce sync.Once
		names     map[string]string
	)
	r.names = func() map[string]string {
		namesOnce.Do(func() {
			names = map[string]string{}
			lister, ok := e.Target.(interface {
				Populations(context.Context) ([]pingone.Population, error)
			})
			if !ok {
				return
			}
			ps, err := lister.Populations(ctx)
			if err != nil {
				return // the message names the id instead
			}
			for _, p := range ps {
				names[p.ID] = p.Name
			}
		})
		return names
	}
	return r
}

// outside returns why u may not be adopted by a job with this reach, or "".
func (r *reach) outside(u pingone.User, rule string) (string, error) {
	if r == nil {
		return "", nil
	}
	r.once.Do(func() { r.ids, r.err = r.load() })
	if r.err != nil {
		return "", r.err
	}
	if _, ok := r.ids[u.PopulationID]; ok {
		return "", nil
	}
	pop := fmt.Sprintf("%q", u.PopulationID)
	if n := r.names()[u.PopulationID]; n != "" {
		pop = fmt.Sprintf("%q (%s)", n, u.PopulationID)
	}
	return fmt.Sprintf("PingOne user %s matched by %s sits in population %s, outside the populations this job routes to: not adopted (move it into one of them to let syncd adopt it, or change the record)",
		u.ID, rule, pop), nil
}

// conflicted reports whether cp records a user syncd may not take over,
// found by an earlier run: a changed record's create then looks its
// externalId up first (one GET), rather than create a second user
// carrying it next to one outside the job's populations.
func conflicted(cp *state.Checkpoint) bool {
	return cp != nil && cp.UserID == "" && cp.Status == state.StatusConflict
}

// owner is a checkpoint of some job that holds a PingOne user.
type owner struct {
	job, anchor string
	cp          state.Checkpoint
}

// otherJobs returns the store's Owners and the jobs other than job that hold
// checkpoints; nil when the store cannot tell (a test double).
func (e *Engine) otherJobs(ctx context.Context, job string) (state.Owners, []string, error) {
	o, ok := e.Store.(state.Owners)
	if !ok {
		return nil, nil, nil
	}
	jobs, err := o.Jobs(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("list the jobs sharing the state database: %w", err)
	}
	others := jobs[:0:0]
	for _, j := range jobs {
		if j != job {
			others = append(others, j)
		}
	}
	return o, others, nil
}

// ownerOf returns the checkpoint, of any job but under another anchor than
// anchor of job, that holds PingOne user id; nil when none does.
func (e *Engine) ownerOf(ctx context.Context, job, anchor, id string) (*owner, error) {
	o, ok := e.Store.(state.Owners)
	if !ok || id == "" {
		return nil, nil
	}
	jobs, err := o.Jobs(ctx)
	if err != nil {
		return nil, fmt.Errorf("find who manages PingOne user %s: %w", id, err)
	}
	var found *owner
	for _, j := range jobs {
		err := o.CheckpointsOfUsers(ctx, j, []string{id}, func(cp state.Checkpoint) error {
			if found == nil && !(j == job && cp.Anchor == anchor) {
				found = &owner{job: j, anchor: cp.Anchor, cp: cp}
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("find who manages PingOne user %s: %w", id, err)
		}
	}
	return found, nil
}

// claim returns why job may not take PingOne user u for op's anchor (adopt
// it, or disable it after a create whose outcome was not recorded), or "".
// rule is the match rule that found u; "" when u is the job's own earlier
// create, which needs no population check.
func (e *Engine) claim(ctx context.Context, job *Job, op *Op, u pingone.User, rule string) (string, error) {
	if rule != "" {
		why, err := job.reach.outside(u, rule)
		if why != "" || err != nil {
			return why, err
		}
	}
	w, err := e.ownerOf(ctx, job.Name, op.Anchor(), u.ID)
	if err != nil || w == nil {
		return "", err
	}
	return ownedReason(job.Name, u.ID, w), nil
}

func ownedReason(job, id string, w *owner) string {
	if w.job == job {
		return fmt.Sprintf("PingOne user %s is managed by this job for anchor %q: one user, one anchor", id, w.anchor)
	}
	return fmt.Sprintf("PingOne user %s is managed by job %q (anchor %q): a user has one owner; this job neither adopts, changes nor disables it (give the two jobs disjoint records)",
		id, w.job, w.anchor)
}

// reject turns op into a reject for reason, listed in the report.
func reject(rep *Report, op *Op, attribute, reason string) {
	r := mapper.Reject{Anchor: op.Anchor(), Attribute: attribute, Reason: reason}
	if op.desired != nil {
		r.Pos = op.desired.pos()
	}
	rep.Rejects = append(rep.Rejects, r)
	op.Actions, op.Why = Actions(ActReject), reason
	op.ToPopulation = ""
	op.setChanges(nil)
	op.setFrom("")
}

// checkOwners rejects, before the gate and any write, every op that would
// take or touch a PingOne user another job sharing the state database
// manages: a create of an anchor whose user (same externalId) another job
// holds, an adoption of a user another job holds, and any write to a user
// both jobs hold (from before this check existed) unless this job took it
// first.
func (e *Engine) checkOwners(ctx context.Context, job *Job, ops []Op, rep *Report) error {
	var creates, touches []int
	for i := range ops {
		op := &ops[i]
		switch {
		case op.Has(ActCreate) && op.desired != nil:
			creates = append(creates, i)
		case op.Has(ActAdopt) || (op.writes() && op.UserID() != ""):
			touches = append(touches, i)
		}
	}
	if len(creates)+len(touches) == 0 {
		return nil
	}
	o, others, err := e.otherJobs(ctx, job.Name)
	if err != nil || len(others) == 0 {
		return err
	}
	anchors := make([]string, len(creates))
	for k, i := range creates {
		anchors[k] = ops[i].Anchor()
	}
	ids := make([]string, 0, len(touches))
	for _, i := range touches {
		ids = append(ids, ops[i].UserID())
	}
	byAnchor := map[string]*owner{}
	byUser := map[string][]*owner{}
	for _, j := range others {
		if len(anchors) > 0 {
			err := e.Store.CheckpointsFor(ctx, j, anchors, func(cp state.Checkpoint) error {
				if cp.UserID != "" && byAnchor[cp.Anchor] == nil {
					byAnchor[cp.Anchor] = &owner{job: j, anchor: cp.Anchor, cp: cp}
				}
				return nil
			})
			if err != nil {
				return fmt.Errorf("check the anchors other jobs manage: %w", err)
			}
		}
		if len(ids) > 0 {
			err := o.CheckpointsOfUsers(ctx, j, ids, func(cp state.Checkpoint) error {
				byUser[cp.UserID] = append(byUser[cp.UserID], &owner{job: j, anchor: cp.Anchor, cp: cp})
				return nil
			})
			if err != nil {
				return fmt.Errorf("check the users other jobs manage: %w", err)
			}
		}
	}
	for _, i := range creates {
		op := &ops[i]
		w := byAnchor[op.Anchor()]
		if w == nil || externalIDOf(&w.cp) != op.desired.matchKey().externalID {
			continue // another job's anchor with another externalId: another person
		}
		reject(rep, op, "externalId", ownedReason(job.Name, w.cp.UserID, w))
	}
	for _, i := range touches {
		op := &ops[i]
		ws := byUser[op.UserID()]
		if len(ws) == 0 {
			continue
		}
		sort.Slice(ws, func(a, b int) bool { return firstOwner(ws[a], ws[b]) })
		w := ws[0]
		if !op.Has(ActAdopt) && op.cp != nil && op.cp.UserID == op.UserID() && firstOwner(&owner{job: job.Name, cp: *op.cp}, w) {
			continue // both hold it, and this job took it first: it stays the owner
		}
		reject(rep, op, "externalId", ownedReason(job.Name, op.UserID(), w))
	}
	if len(rep.Drift) > 0 {
		rejected := map[string]bool{}
		for _, k := range touches {
			if ops[k].Has(ActReject) {
				rejected[ops[k].Anchor()] = true
			}
		}
		for i := range rep.Drift {
			if rejected[rep.Drift[i].Anchor] {
				rep.Drift[i].Repaired = false
			}
		}
	}
	return nil
}

// firstOwner orders two holders of one user: the one that took it first
// (FirstSeen), then by job name, owns it.
func firstOwner(a, b *owner) bool {
	if !a.cp.FirstSeen.Equal(b.cp.FirstSeen) {
		return a.cp.FirstSeen.Before(b.cp.FirstSeen)
	}
	return a.job < b.job
}
