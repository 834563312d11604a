package reconcile

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	"github.com/syncd/syncd/state"
)

// Revert of memberships. A run's membership writes are journaled with the
// PingOne group id, the user's id (or, nested, the member group's anchor)
// and {"group": anchor, "member": anchor}: memberJournal. The revert of the
// run removes the memberships it added and adds back those it removed
// (nesting links alike), as membership operations of the revert's plan,
// applied after its user operations like a sync's. A membership is
// refused (listed) when a later run changed it again, or when its group
// or user is no longer the one the run wrote to (deleted, created again).
// Writes the run did not make — a member that was already there, one
// already gone — have nothing to undo. Groups the run created, updated or
// deleted are not reverted: the revert says so in a warning.

// memberDid is what one run did to one membership.
type memberDid struct {
	op      string // opAddMember, opRemoveMember, opNestGroup, opUnnestGroup
	group   string // group anchor
	member  string // user anchor, or member group anchor when nested
	nested  bool
	groupID string
	userID  string // non-nested: the user's PingOne id
	at      int64  // first entry id
}

// memberKey identifies a membership in the journal: the member anchor and
// the PingOne group id.
type memberKey struct{ member, groupID string }

// planRevertMembers reads run runID's membership writes and returns the
// inverse operations, the group ids they need by anchor, the memberships
// refused and warnings for what a revert does not undo.
func (e *Engine) planRevertMembers(ctx context.Context, jr state.Journal, job string, runID int64) ([]MemberOp, map[string]string, []Refusal, []string, error) {
	did := map[memberKey]*memberDid{}
	groupsTouched := map[string]string{} // group anchor or id -> op, for the warning
	err := jr.JournalEntries(ctx, state.JournalFilter{Job: job, RunID: runID}, func(en state.JournalEntry) error {
		if en.GroupID == "" || !en.Succeeded() {
			return nil
		}
		switch en.Op {
		case opAddMember, opRemoveMember, opNestGroup, opUnnestGroup:
		default:
			if _, seen := groupsTouched[en.Anchor]; !seen {
				groupsTouched[en.Anchor] = en.Op
			}
			return nil
		}
		var v struct {
			Group  string `json:"group"`
			Member string `json:"member"`
			Nested bool   `json:"nested"`
		}
		raw := en.After
		if raw == nil {
			raw = en.Before
		}
		if err := json.Unmarshal(raw, &v); err != nil {
			return fmt.Errorf("journal entry %d: membership: %w", en.ID, err)
		}
		k := memberKey{en.Anchor, en.GroupID}
		if d := did[k]; d != nil {
			// Written twice in one run (removed, then added back after a
			// move): the pair leaves it as it was.
			delete(did, k)
			return nil
		}
		did[k] = &memberDid{op: en.Op, group: v.Group, member: v.Member, nested: v.Nested, groupID: en.GroupID, userID: en.UserID, at: en.ID}
		return nil
	})
	if err != nil {
		return nil, nil, nil, nil, fmt.Errorf("read the membership journal of run %d: %w", runID, err)
	}
	var warnings []string
	for _, a := range slices.Sorted(maps.Keys(groupsTouched)) {
		warnings = append(warnings, fmt.Sprintf("group %s: %s by run %d is not reverted (a revert undoes memberships, not groups)", a, groupsTouched[a], runID))
	}
	if len(did) == 0 {
		return nil, nil, nil, warnings, nil
	}
	gs, ok := e.Store.(state.GroupStore)
	if !ok {
		return nil, nil, nil, nil, fmt.Errorf("revert memberships: the state store keeps no groups (%T)", e.Store)
	}

	// Later writes to the same memberships.
	later := map[memberKey]int64{}
	members := map[string]bool{}
	for k := range did {
		members[k.member] = true
	}
	for _, a := range slices.Sorted(maps.Keys(members)) {
		err := jr.JournalEntries(ctx, state.JournalFilter{Job: job, Anchor: a, AfterRun: runID}, func(en state.JournalEntry) error {
			k := memberKey{en.Anchor, en.GroupID}
			if _, ok := did[k]; ok && en.Succeeded() {
				if _, seen := later[k]; !seen {
					later[k] = en.RunID
				}
			}
			return nil
		})
		if err != nil {
			return nil, nil, nil, nil, fmt.Errorf("read later journal of anchor %s: %w", a, err)
		}
	}
	groups, err := loadGroupCheckpoints(ctx, gs, job)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	users := map[string]*state.Checkpoint{}
	err = e.Store.CheckpointsFor(ctx, job, slices.Sorted(maps.Keys(members)), func(cp state.Checkpoint) error {
		c := cp
		users[cp.Anchor] = &c
		return nil
	})
	if err != nil {
		return nil, nil, nil, nil, fmt.Errorf("read checkpoints: %w", err)
	}

	keys := slices.SortedFunc(maps.Keys(did), func(x, y memberKey) int {
		if did[x].group != did[y].group {
			if did[x].group < did[y].group {
				return -1
			}
			return 1
		}
		if x.member < y.member {
			return -1
		}
		if x.member > y.member {
			return 1
		}
		return 0
	})
	var (
		ops     []MemberOp
		refused []Refusal
	)
	ids := map[string]string{}
	for _, k := range keys {
		d := did[k]
		g := groups[d.group]
		m := MemberOp{Group: d.group, Member: d.member, Nested: d.nested}
		ref := Refusal{Anchor: d.member, Group: d.group, UserID: d.userID}
		if g != nil {
			m.GroupName = g.Name
		}
		if u := users[d.member]; u != nil {
			m.MemberName, ref.Username = u.Username, u.Username
		} else if mg := groups[d.member]; d.nested && mg != nil {
			m.MemberName = mg.Name
		}
		switch {
		case later[k] != 0:
			ref.Run, ref.Reason = later[k], fmt.Sprintf("membership of group %s changed again by run %d", d.group, later[k])
		case g == nil || g.GroupID != d.groupID || g.Status != state.GroupActive:
			ref.Reason = fmt.Sprintf("group %s is no longer managed under PingOne group id %s", d.group, d.groupID)
		case d.nested && (groups[d.member] == nil || groups[d.member].GroupID == "" || groups[d.member].Status != state.GroupActive):
			ref.Reason = fmt.Sprintf("nested group %s is no longer managed", d.member)
		case !d.nested && (users[d.member] == nil || users[d.member].UserID != d.userID):
			ref.Reason = fmt.Sprintf("member of group %s: no longer managed under PingOne user id %s", d.group, d.userID)
		}
		if ref.Reason != "" {
			refused = append(refused, ref)
			continue
		}
		ids[d.group] = g.GroupID
		if d.nested {
			ids[d.member] = groups[d.member].GroupID
		}
		switch d.op {
		case opAddMember, opNestGroup:
			m.Action, m.Why = MemberRemove, fmt.Sprintf("added by run %d: removed by the revert", runID)
		default:
			m.Action, m.Why = MemberAdd, fmt.Sprintf("removed by run %d: added back by the revert", runID)
		}
		ops = append(ops, m)
	}
	return ops, ids, refused, warnings, nil
}
