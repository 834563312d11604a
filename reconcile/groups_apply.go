package reconcile

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/syncd/syncd/mapper"
	"github.com/syncd/syncd/sink/pingone"
	"github.com/syncd/syncd/sink/pingone/budget"
	"github.com/syncd/syncd/state"
)

// GroupTarget is the PingOne side of groups and memberships (API-NOTES
// §5a). *pingone.Client implements it.
type GroupTarget interface {
	CreateGroup(ctx context.Context, g pingone.Group) (pingone.Group, error)
	UpdateGroup(ctx context.Context, id string, g pingone.Group) (pingone.Group, error)
	DeleteGroup(ctx context.Context, id string) error
	GroupByExternalID(ctx context.Context, externalID string) (pingone.Group, bool, error)
	GroupsByName(ctx context.Context, name string) ([]pingone.Group, error)
	AddUserToGroup(ctx context.Context, userID, groupID string) (already bool, err error)
	RemoveUserFromGroup(ctx context.Context, userID, groupID string) (gone bool, err error)
	NestGroup(ctx context.Context, childID, parentID string) (already bool, err error)
	UnnestGroup(ctx context.Context, childID, parentID string) (gone bool, err error)
}

var _ GroupTarget = (*pingone.Client)(nil)

// Journal operations of groups and memberships.
const (
	opCreateGroup  = "create_group"
	opAdoptGroup   = "adopt_group"
	opUpdateGroup  = "update_group"
	opDeleteGroup  = "delete_group"
	opAddMember    = "add_member"
	opRemoveMember = "remove_member"
	opNestGroup    = "nest_group"
	opUnnestGroup  = "unnest_group"
)

// applyGroups runs after the users are applied, so that every user a
// membership needs exists: groups first (created, updated, deleted), then
// memberships, removals before additions (access is taken away first,
// DESIGN invariant 13), in checkpointed batches under the same workers.
func (e *Engine) applyGroups(ctx context.Context, job *Job, p *groupPlan, rep *Report, log *zap.Logger) error {
	gt, ok := e.Target.(GroupTarget)
	if !ok {
		return fmt.Errorf("groups: the PingOne target %T cannot write groups", e.Target)
	}
	gs := e.Store.(state.GroupStore) // checked by planGroups
	// Group and membership calls wait in their own class, below every
	// user write (priority.go).
	ctx = budget.WithClass(ctx, budget.ClassMembership)
	bctx, sctx, stopCtxs := stopContexts(ctx, job.abort)
	defer stopCtxs()
	now := e.now()
	ids := map[string]string{} // group anchor -> PingOne id, for groups that exist
	for a, cp := range p.cps {
		if cp.GroupID != "" && cp.Status == state.GroupActive {
			ids[a] = cp.GroupID
		}
	}

	// Intent before write (DESIGN invariant 6): a group about to be created
	// is recorded pending first, so that if the answer is lost (or syncd
	// dies) the next run looks it up by externalId before creating it.
	var intent state.GroupBatch
	for i := range p.groups {
		op := &p.groups[i]
		if op.Action == GroupCreate && (op.cp == nil || op.cp.Status != state.GroupPending) {
			intent.Groups = append(intent.Groups, state.GroupCheckpoint{Anchor: op.Anchor, Name: op.Name, Description: op.Description,
				PopulationID: p.popID, Status: state.GroupPending, FirstSeen: now, Members: cpMembers(op.cp)})
		}
	}
	if err := gs.SaveGroups(sctx, job.Name, intent); err != nil {
		return fmt.Errorf("record groups to create: %w", err)
	}

	var out state.GroupBatch
	for i := range p.groups {
		op := &p.groups[i]
		cp := e.applyGroup(bctx, gt, job, p, op, rep, log)
		journal := func(name string, err error) {
			en := state.JournalEntry{RunID: rep.RunID, Anchor: op.Anchor, GroupID: op.GroupID, Op: name, At: e.now(),
				After: mustJSON(map[string]string{"name": op.Name, "description": op.Description}), Status: http.StatusOK}
			if op.OldName != "" {
				en.Before = mustJSON(map[string]string{"name": op.OldName})
			}
			if err != nil {
				en.Error, en.Status = shorten(err.Error(), 1000), 0
			}
			out.Journal = append(out.Journal, en)
		}
		switch op.Action {
		case GroupNoop:
			continue
		case GroupForget:
			out.DropGroups = append(out.DropGroups, op.Anchor)
			continue
		case GroupDelete:
			if op.Failed {
				journal(opDeleteGroup, fmt.Errorf("%s", op.Why))
				continue
			}
			journal(opDeleteGroup, nil)
			out.DropGroups = append(out.DropGroups, op.Anchor)
			continue
		case GroupCreate, GroupUpdate:
			switch {
			case op.Failed:
				journal(map[GroupAction]string{GroupCreate: opCreateGroup, GroupUpdate: opUpdateGroup}[op.Action], fmt.Errorf("%s", op.Why))
			case cp.Adopted && op.Action == GroupCreate:
				journal(opAdoptGroup, nil)
			case op.Action == GroupCreate:
				journal(opCreateGroup, nil)
			default:
				journal(opUpdateGroup, nil)
			}
		}
		if cp.Status == state.GroupActive {
			ids[op.Anchor] = cp.GroupID
		}
		out.Groups = append(out.Groups, cp)
	}
	if err := gs.SaveGroups(sctx, job.Name, out); err != nil {
		return fmt.Errorf("checkpoint groups: %w", err)
	}
	for _, op := range p.groups {
		p.countGroup(op)
	}
	if err := e.applyMembers(ctx, gt, gs, job, p, ids, rep, log); err != nil {
		return err
	}
	if n := p.names; n != nil {
		if err := gs.SaveUserNames(sctx, job.Name, n.replace, n.set, n.drop); err != nil {
			return fmt.Errorf("save the user name index: %w", err)
		}
	}
	return nil
}

func cpMembers(cp *state.GroupCheckpoint) int {
	if cp == nil {
		return 0
	}
	return cp.Members
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // maps of strings always encode
	}
	return b
}

// applyGroup performs one group operation and returns its checkpoint.
func (e *Engine) applyGroup(ctx context.Context, gt GroupTarget, job *Job, p *groupPlan, op *GroupOp, rep *Report, log *zap.Logger) state.GroupCheckpoint {
	now := e.now()
	cp := state.GroupCheckpoint{Anchor: op.Anchor, Name: op.Name, Description: op.Description, PopulationID: p.popID, FirstSeen: now}
	if op.cp != nil {
		cp = *op.cp
		cp.Name, cp.Description = op.Name, op.Description
	}
	cp.Members = p.size[op.Anchor]
	fail := func(err error) state.GroupCheckpoint {
		op.Failed, op.Why = true, err.Error()
		cp.Status, cp.LastError = state.GroupFailed, shorten(err.Error(), 1000)
		if cp.GroupID != "" && op.Action == GroupUpdate {
			cp.Status = state.GroupActive // it exists; the update is retried next run
			cp.Name, cp.Description = op.cp.Name, op.cp.Description
		}
		log.Warn("group operation failed", zap.String("group_anchor", op.Anchor), zap.String("action", string(op.Action)), zap.Error(err))
		return cp
	}
	switch op.Action {
	case GroupConflict:
		rep.Rejects = append(rep.Rejects, mapper.Reject{Anchor: op.Anchor, Attribute: "group", Reason: op.Why})
		return cp
	case GroupDelete:
		if err := gt.DeleteGroup(ctx, op.GroupID); err != nil {
			fail(fmt.Errorf("delete group anchor=%s id=%s: %w", op.Anchor, op.GroupID, err))
			return cp
		}
		log.Info("group deleted", zap.String("group_anchor", op.Anchor), zap.String("group_id", op.GroupID))
		return cp
	case GroupUpdate:
		if _, err := gt.UpdateGroup(ctx, op.GroupID, pingone.Group{Name: op.Name, Description: op.Description, ExternalID: externalIDFor(op, &cp)}); err != nil {
			if pingone.IsNotFound(err) {
				cp.GroupID = ""
				return fail(fmt.Errorf("update group anchor=%s: deleted in PingOne outside syncd; created again next run: %w", op.Anchor, err))
			}
			return fail(fmt.Errorf("update group anchor=%s id=%s: %w", op.Anchor, op.GroupID, err))
		}
		cp.Status, cp.LastError, cp.LastSynced = state.GroupActive, "", now
		log.Info("group updated", zap.String("group_anchor", op.Anchor), zap.String("group_id", op.GroupID))
		return cp
	case GroupCreate:
	default:
		return cp
	}

	// Create. A group that may already exist (pending or failed before)
	// is looked up by externalId first: never a duplicate.
	if op.cp != nil {
		g, found, err := gt.GroupByExternalID(ctx, op.Anchor)
		if err != nil {
			return fail(fmt.Errorf("look up group externalId=%s: %w", op.Anchor, err))
		}
		if found {
			op.GroupID, cp.GroupID, cp.Status, cp.LastError, cp.LastSynced = g.ID, g.ID, state.GroupActive, "", now
			log.Info("group found by externalId", zap.String("group_anchor", op.Anchor), zap.String("group_id", g.ID))
			return cp
		}
	}
	g, err := gt.CreateGroup(ctx, pingone.Group{Name: op.Name, Description: op.Description, ExternalID: op.Anchor, PopulationID: p.popID})
	if err == nil {
		op.GroupID, cp.GroupID, cp.Status, cp.LastError, cp.LastSynced = g.ID, g.ID, state.GroupActive, "", now
		log.Info("group created", zap.String("group_anchor", op.Anchor), zap.String("group_id", g.ID))
		return cp
	}
	if !pingone.IsUniquenessViolation(err) {
		return fail(fmt.Errorf("create group anchor=%s: %w", op.Anchor, err))
	}
	// PingOne's name rule refused it: a group of that name exists (§5a).
	existing, lerr := gt.GroupsByName(ctx, op.Name)
	if lerr != nil {
		return fail(fmt.Errorf("create group anchor=%s: %w; then look up the group named %q: %w", op.Anchor, err, op.Name, lerr))
	}
	var owner *pingone.Group
	for i := range existing {
		if existing[i].PopulationID == p.popID {
			owner = &existing[i]
		}
	}
	if owner == nil && len(existing) > 0 {
		owner = &existing[0]
	}
	switch {
	case owner != nil && owner.ExternalID == op.Anchor && owner.PopulationID == p.popID:
		// syncd's own group, created under this anchor by an earlier run
		// whose state was lost: found by its externalId (DESIGN invariant
		// 3), not a conflict with itself. Its members are found as they
		// are added (an existing member is recorded as preexisting; `state
		// rebuild` records them as managed instead).
		op.GroupID, cp.GroupID, cp.Status, cp.LastError, cp.LastSynced = owner.ID, owner.ID, state.GroupActive, "", now
		log.Info("group found by externalId", zap.String("group_anchor", op.Anchor), zap.String("group_id", owner.ID))
		return cp
	case owner != nil && job.Groups.AdoptByName && owner.ExternalID == "" && owner.PopulationID == p.popID:
		op.GroupID, cp.GroupID, cp.Adopted, cp.Status, cp.LastError, cp.LastSynced = owner.ID, owner.ID, true, state.GroupActive, "", now
		p.counts.Adopted++
		log.Info("group adopted by name", zap.String("group_anchor", op.Anchor), zap.String("group_id", owner.ID))
		return cp
	default:
		why := fmt.Sprintf("group %q: PingOne already has a group of that name that syncd does not manage", op.Name)
		if owner != nil {
			why += fmt.Sprintf(" (id %s", owner.ID)
			if owner.ExternalID != "" {
				why += ", externalId " + owner.ExternalID
			}
			why += ")"
		}
		if !job.Groups.AdoptByName {
			why += "; rename one, or set groups.adopt_by_name to take it over"
		}
		op.Action, op.Why = GroupConflict, why
		cp.Status, cp.LastError = state.GroupConflict, why
		rep.Rejects = append(rep.Rejects, mapper.Reject{Anchor: op.Anchor, Attribute: "group", Reason: why})
		return cp
	}
}

// externalIDFor is what an update sends as externalId: the anchor for a
// group syncd created, and nothing new for an adopted one (its externalId
// was empty when syncd took it over, and stays so).
func externalIDFor(op *GroupOp, cp *state.GroupCheckpoint) string {
	if cp.Adopted {
		return ""
	}
	return op.Anchor
}

// memberResult is one membership op's outcome.
type memberResult struct {
	k           int
	already     bool // added but already there, or removed but already gone
	err         error
	userID      string
	groupID     string
	preexisting bool
}

// applyMembers executes the membership ops: forgets cost no call;
// removals go before additions. Each batch of results is checkpointed in
// one transaction with its journal entries.
func (e *Engine) applyMembers(ctx context.Context, gt GroupTarget, gs state.GroupStore, job *Job, p *groupPlan, ids map[string]string,
	rep *Report, log *zap.Logger) error {
	bctx, sctx, stopCtxs := stopContexts(ctx, job.abort)
	defer stopCtxs()
	userIDs, err := e.userIDs(ctx, job, p.members)
	if err != nil {
		return err
	}
	var forget state.GroupBatch
	var todo []int
	for pass := 0; pass < 2; pass++ { // removals, then additions
		for k := range p.members {
			m := &p.members[k]
			switch {
			case m.Action == MemberForget && pass == 0:
				forget.Remove = append(forget.Remove, state.Membership{Group: m.Group, Member: m.Member, Nested: m.Nested})
				p.countMember(*m)
			case (m.Action == MemberRemove && pass == 0) || (m.Action == MemberAdd && pass == 1):
				todo = append(todo, k)
			}
		}
	}
	if err := gs.SaveGroups(sctx, job.Name, forget); err != nil {
		return fmt.Errorf("checkpoint memberships left: %w", err)
	}
	if len(todo) == 0 {
		return nil
	}

	feed := make(chan int)
	results := make(chan memberResult, job.BatchSize)
	stop := make(chan struct{})
	stopFeeding := sync.OnceFunc(func() { close(stop) })
	defer stopFeeding()
	var wg sync.WaitGroup
	for w := 0; w < min(job.Workers, len(todo)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range feed {
				results <- e.applyMember(bctx, gt, &p.members[k], k, ids, userIDs)
			}
		}()
	}
	var intentErr error // set by the feeder before it closes feed
	go func() {
		defer close(feed)
		recorded := 0 // todo[:recorded] have their additions' intents committed
		for i, k := range todo {
			if i >= recorded && p.members[k].Action == MemberAdd {
				if ctx.Err() != nil {
					return
				}
				n, err := e.recordMemberIntents(sctx, gs, job, p, todo[i:], ids, userIDs)
				if err != nil {
					intentErr = err
					return
				}
				recorded = i + n
			}
			select {
			case <-stop:
				return
			case <-ctx.Done():
				return
			case feed <- k:
			}
		}
	}()
	go func() { wg.Wait(); close(results) }()

	var (
		b                    state.GroupBatch
		saveErr, limErr      error
		done, failed, firstF int
		pending              int // failures in b, counted once b is saved
	)
	firstF = -1
	flush := func() {
		if saveErr != nil || len(b.Add)+len(b.Remove)+len(b.Journal) == 0 {
			return
		}
		if err := gs.SaveGroups(sctx, job.Name, b); err != nil {
			saveErr = fmt.Errorf("checkpoint memberships: %w (the next run finds them again: an existing member counts as added)", err)
			stopFeeding()
			return
		}
		b = state.GroupBatch{}
		// Failed memberships count toward safety.max_failures like user
		// operations: past it, nothing more is sent; what is in flight is
		// still checkpointed.
		failed, pending = failed+pending, 0
		if limErr == nil && job.Safety.failuresExceeded(failed, len(todo)) {
			limErr = fmt.Errorf("memberships: %d of %d operations failed, above safety.max_failures=%s; stopping (first: %s)",
				failed, len(todo), job.Safety.MaxFailures, rep.Failures[firstF].Error)
			stopFeeding()
		}
	}
	now := e.now()
	for r := range results {
		m := &p.members[r.k]
		done++
		switch {
		case m.Skipped:
		case r.err != nil:
			m.Failed = true
			if firstF < 0 {
				firstF = len(rep.Failures)
			}
			pending++
			rep.Failures = append(rep.Failures, Failure{Anchor: m.Member, Username: m.MemberName, Error: r.err.Error()})
			log.Warn("membership failed", zap.String("group_anchor", m.Group), zap.String("anchor", m.Member), zap.Error(r.err))
		case m.Action == MemberAdd:
			// "Already a member" is PingOne's own member (by hand, or an
			// adopted group's) unless syncd's earlier call put it there.
			// A pending one is taken as syncd's: PingOne cannot say who
			// added a membership, so an admin's member answered "already"
			// just before a kill -9 (its answer never checkpointed) is
			// taken as syncd's too. The README (Groups, "One narrow case")
			// says how an admin notices it.
			b.Add = append(b.Add, state.Membership{Group: m.Group, Member: m.Member, Nested: m.Nested, Preexisting: r.already && !m.pending, Since: now})
		case m.Action == MemberRemove:
			b.Remove = append(b.Remove, state.Membership{Group: m.Group, Member: m.Member, Nested: m.Nested})
		}
		if !m.Skipped {
			b.Journal = append(b.Journal, memberJournal(rep.RunID, m, r, e.now()))
		}
		p.countMember(*m)
		if len(b.Add)+len(b.Remove)+pending >= job.BatchSize {
			flush()
		}
	}
	flush()
	rep.Counts.Failed += p.counts.Failed
	switch {
	case saveErr != nil:
		return saveErr
	case intentErr != nil:
		return intentErr
	case limErr != nil:
		return limErr
	case done < len(todo) && ctx.Err() != nil:
		return fmt.Errorf("memberships: stopped after %d of %d, all of them checkpointed: %w", done, len(todo), ctx.Err())
	}
	return nil
}

// recordMemberIntents commits, in one transaction, the intents of the
// next job.BatchSize additions in todo that will be sent (their group and
// user exist), before any of them is: a crash between a POST and its
// checkpoint leaves a pending membership, which the next run sends again
// and, answered "already a member", records as syncd's own (DESIGN
// invariant 6). It returns how many entries of todo it covered.
func (e *Engine) recordMemberIntents(ctx context.Context, gs state.GroupStore, job *Job, p *groupPlan, todo []int, ids, userIDs map[string]string) (int, error) {
	var b state.GroupBatch
	now := e.now()
	n := 0
	for _, k := range todo {
		if len(b.Add) == job.BatchSize {
			break
		}
		n++
		m := &p.members[k]
		if m.Action != MemberAdd || m.pending {
			continue // a pending one's intent is already in state
		}
		member := userIDs[m.Member]
		if m.Nested {
			member = ids[m.Member]
		}
		if ids[m.Group] == "" || member == "" {
			continue // skipped by applyMember: nothing is sent
		}
		b.Add = append(b.Add, state.Membership{Group: m.Group, Member: m.Member, Nested: m.Nested, Pending: true, Since: now})
	}
	if len(b.Add) == 0 {
		return n, nil
	}
	if err := gs.SaveGroups(ctx, job.Name, b); err != nil {
		return 0, fmt.Errorf("memberships: record the intents of %d additions (nothing sent): %w", len(b.Add), err)
	}
	return n, nil
}

// memberJournal is the journal entry of one membership write: the member
// (a user, or a nested group) as anchor, the group's id.
func memberJournal(runID int64, m *MemberOp, r memberResult, at time.Time) state.JournalEntry {
	op, status := opAddMember, http.StatusCreated
	switch {
	case m.Nested && m.Action == MemberAdd:
		op = opNestGroup
	case m.Nested:
		op, status = opUnnestGroup, http.StatusNoContent
	case m.Action == MemberRemove:
		op, status = opRemoveMember, http.StatusNoContent
	}
	member := map[string]any{"group": m.Group, "member": m.Member}
	en := state.JournalEntry{RunID: runID, Anchor: m.Member, GroupID: r.groupID, Op: op, At: at, Status: status}
	if m.Nested {
		member["nested"] = true
		en.GroupID = r.groupID
	} else {
		en.UserID = r.userID
	}
	if m.Action == MemberAdd {
		en.After = mustJSON(member)
	} else {
		en.Before = mustJSON(member)
	}
	switch {
	case r.err != nil:
		en.Error, en.Status = shorten(r.err.Error(), 1000), 0
	case r.already && m.Action == MemberAdd:
		en.Status = http.StatusBadRequest // already a member: done
	case r.already:
		en.Status = http.StatusNotFound // already gone: done
	}
	return en
}

// applyMember performs one membership call.
func (e *Engine) applyMember(ctx context.Context, gt GroupTarget, m *MemberOp, k int, ids, userIDs map[string]string) memberResult {
	r := memberResult{k: k, groupID: ids[m.Group]}
	if m.Nested {
		r.userID = ids[m.Member] // the nested (child) group
	} else {
		r.userID = userIDs[m.Member]
	}
	if r.groupID == "" || r.userID == "" {
		// The group or the user does not exist (its create failed, or
		// conflicts): nothing to do this run; planned again next run.
		m.Skipped = true
		return r
	}
	switch {
	case m.Nested && m.Action == MemberAdd:
		r.already, r.err = gt.NestGroup(ctx, r.userID, r.groupID)
	case m.Nested:
		r.already, r.err = gt.UnnestGroup(ctx, r.userID, r.groupID)
	case m.Action == MemberAdd:
		r.already, r.err = gt.AddUserToGroup(ctx, r.userID, r.groupID)
	default:
		r.already, r.err = gt.RemoveUserFromGroup(ctx, r.userID, r.groupID)
	}
	return r
}

// userIDs returns the PingOne ids of the users the membership ops name,
// read from their checkpoints after the user apply (users created this
// run included).
func (e *Engine) userIDs(ctx context.Context, job *Job, ms []MemberOp) (map[string]string, error) {
	need := map[string]bool{}
	for i := range ms {
		if !ms[i].Nested && ms[i].Action != MemberForget {
			need[ms[i].Member] = true
		}
	}
	anchors := make([]string, 0, len(need))
	for a := range need {
		anchors = append(anchors, a)
	}
	out := make(map[string]string, len(anchors))
	err := e.Store.CheckpointsFor(ctx, job.Name, anchors, func(cp state.Checkpoint) error {
		if cp.UserID != "" && cp.Status != state.StatusConflict {
			out[cp.Anchor] = cp.UserID
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("memberships: read user ids: %w", err)
	}
	return out, nil
}
