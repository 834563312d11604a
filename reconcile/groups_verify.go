package reconcile

import (
	"context"
	"fmt"
	"sort"

	"github.com/syncd/syncd/sink/pingone"
	"github.com/syncd/syncd/sink/pingone/budget"
	"github.com/syncd/syncd/state"
)

// Verifying memberships (`sync --verify`), and why it works this way:
//
//   - The plan never reads memberships back (memberships.go): an admin who
//     removes a managed membership by hand in PingOne is invisible to it.
//     Verify reads each managed group's members back with one paged
//     listing, GET /users?filter=memberOfGroups[id eq "…"] (API-NOTES §5a,
//     SPEC L28308), and compares them with the memberships syncd added
//     (state). A missing one is drift; repair re-adds it with one POST.
//   - Only what syncd added is checked: members an admin added by hand
//     are not syncd's and stay; a membership PingOne had before syncd
//     (preexisting) is not syncd's either.
//   - The listing holds direct and indirect members. With nested: mirror,
//     a user may still be listed through a nested group after its direct
//     membership was removed, so a listed user who is also listed in one
//     of the group's managed nested groups is read once more by
//     GET /users/{id}/memberOfGroups/{groupId}, whose type says DIRECT or
//     INDIRECT: verify compares direct memberships only.
//   - A managed group that has managed members but lists none is looked up
//     by its externalId; if PingOne has no such group, an admin deleted
//     it: repair creates it again (carrying its anchor) and re-adds its
//     members in the same run.

// MemberDrift is a managed membership PingOne lost outside syncd, or a
// managed group deleted there.
type MemberDrift struct {
	Group      string `json:"group"` // the group's anchor
	GroupName  string `json:"group_name"`
	GroupID    string `json:"group_id"`
	Member     string `json:"member,omitempty"` // the user's anchor
	MemberName string `json:"member_name,omitempty"`
	UserID     string `json:"user_id,omitempty"`
	// GroupDeleted is set when the group itself is gone from PingOne.
	GroupDeleted bool `json:"group_deleted,omitempty"`
	Repaired     bool `json:"repaired"`
}

// memberReader reads memberships back from PingOne. *pingone.Client
// implements it.
type memberReader interface {
	GroupMembers(ctx context.Context, groupID string, fn func(pingone.User) error) error
	DirectMember(ctx context.Context, userID, groupID string) (bool, error)
	GroupByExternalID(ctx context.Context, externalID string) (pingone.Group, bool, error)
}

var _ memberReader = (*pingone.Client)(nil)

// verifyMembers compares the memberships syncd added with PingOne, one
// listing per managed group that has any, and (repair) plans the calls
// that put the missing ones back.
func (e *Engine) verifyMembers(ctx context.Context, job *Job, p *groupPlan, repair bool) ([]MemberDrift, error) {
	mr, ok := e.Target.(memberReader)
	if !ok {
		return nil, fmt.Errorf("verify memberships: the PingOne target %T cannot list a group's members", e.Target)
	}
	gs := e.Store.(state.GroupStore) // checked by planGroups
	ctx = budget.WithClass(ctx, budget.ClassVerify)

	// What this run changes anyway is not checked: planned additions are
	// not in PingOne yet, planned removals and forgotten ones go.
	type key struct {
		group, member string
		nested        bool
	}
	planned := map[key]bool{}
	for _, m := range p.members {
		planned[key{m.Group, m.Member, m.Nested}] = true
	}
	groupOps := map[string]*GroupOp{}
	for i := range p.groups {
		groupOps[p.groups[i].Anchor] = &p.groups[i]
	}
	users := map[string][]state.Membership{} // group -> managed direct user memberships
	links := map[string][]string{}           // group -> managed nested group anchors
	err := gs.Memberships(ctx, job.Name, func(m state.Membership) error {
		op := groupOps[m.Group]
		if m.Preexisting || planned[key{m.Group, m.Member, m.Nested}] ||
			op == nil || (op.Action != GroupNoop && op.Action != GroupUpdate) {
			return nil
		}
		if m.Nested {
			links[m.Group] = append(links[m.Group], m.Member)
		} else {
			users[m.Group] = append(users[m.Group], m)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("verify memberships: load memberships: %w", err)
	}
	if len(users) == 0 {
		return nil, nil
	}
	who, err := e.usersOf(ctx, job.Name, users)
	if err != nil {
		return nil, err
	}

	groups := make([]string, 0, len(users))
	for g := range users {
		groups = append(groups, g)
	}
	sort.Strings(groups)
	listed := map[string]map[string]bool{} // group id -> user ids listed
	list := func(groupID string) (map[string]bool, error) {
		if ids, ok := listed[groupID]; ok {
			return ids, nil
		}
		ids := map[string]bool{}
		if err := mr.GroupMembers(ctx, groupID, func(u pingone.User) error { ids[u.ID] = true; return nil }); err != nil {
			return nil, err
		}
		listed[groupID] = ids
		return ids, nil
	}
	var drifts []MemberDrift
	for _, ga := range groups {
		cp := p.cps[ga]
		if cp == nil || cp.GroupID == "" || cp.Status != state.GroupActive {
			continue
		}
		op := groupOps[ga]
		have, err := list(cp.GroupID)
		if err != nil {
			return nil, fmt.Errorf("verify memberships: list the members of group %q (id %s): %w", cp.Name, cp.GroupID, err)
		}
		ms := users[ga]
		if len(have) == 0 && !cp.Adopted {
			// Every managed member is missing: is the group still there?
			if _, found, err := mr.GroupByExternalID(ctx, ga); err != nil {
				return nil, fmt.Errorf("verify memberships: look up group %q externalId=%s: %w", cp.Name, ga, err)
			} else if !found {
				drifts = append(drifts, MemberDrift{Group: ga, GroupName: cp.Name, GroupID: cp.GroupID, GroupDeleted: true, Repaired: repair})
				if repair {
					p.recreate(op)
					for _, m := range ms {
						p.readd(ga, op.Name, m.Member, who[m.Member].Username, "drift: its group was deleted in PingOne outside syncd")
					}
					for _, l := range links[ga] {
						p.readdLink(ga, op.Name, l)
					}
				}
				continue
			}
		}
		// With mirror, users listed through a managed nested group may be
		// indirect members only.
		var via []map[string]bool
		if job.Groups.Nested == NestedMirror {
			for _, l := range links[ga] {
				if c := p.cps[l]; c != nil && c.GroupID != "" {
					ids, err := list(c.GroupID)
					if err != nil {
						return nil, fmt.Errorf("verify memberships: list the members of nested group %q (id %s): %w", c.Name, c.GroupID, err)
					}
					via = append(via, ids)
				}
			}
		}
		for _, m := range ms {
			uid, name := who[m.Member].UserID, who[m.Member].Username
			if uid == "" {
				continue // the user is gone or unknown: the user plan says so
			}
			present := have[uid]
			if present && indirectPossible(via, uid) {
				direct, err := mr.DirectMember(ctx, uid, cp.GroupID)
				if err != nil {
					return nil, fmt.Errorf("verify memberships: read user %s's membership of group %q: %w", uid, cp.Name, err)
				}
				present = direct
			}
			if present {
				continue
			}
			drifts = append(drifts, MemberDrift{Group: ga, GroupName: cp.Name, GroupID: cp.GroupID, Member: m.Member, MemberName: name, UserID: uid, Repaired: repair})
			if repair {
				p.readd(ga, op.Name, m.Member, name, "drift: removed in PingOne outside syncd")
			}
		}
	}
	return drifts, nil
}

func indirectPossible(via []map[string]bool, uid string) bool {
	for _, ids := range via {
		if ids[uid] {
			return true
		}
	}
	return false
}

// recreate turns a managed group PingOne lost into a create: it is looked
// up by externalId once more, then created carrying its anchor.
func (p *groupPlan) recreate(op *GroupOp) {
	c := *op.cp
	c.GroupID = ""
	op.cp, op.GroupID = &c, ""
	op.Action, op.Why = GroupCreate, "drift: deleted in PingOne outside syncd"
	p.cps[op.Anchor] = &c
}

// readd plans a managed membership PingOne lost again.
func (p *groupPlan) readd(group, groupName, member, memberName, why string) {
	p.members = append(p.members, MemberOp{Action: MemberAdd, Group: group, GroupName: groupName, Member: member, MemberName: memberName, Why: why})
	p.counts.MembersUnchanged--
}

func (p *groupPlan) readdLink(group, groupName, child string) {
	p.members = append(p.members, MemberOp{Action: MemberAdd, Group: group, GroupName: groupName, Member: child, MemberName: child, Nested: true,
		Why: "drift: its group was deleted in PingOne outside syncd"})
	p.counts.MembersUnchanged--
}

// usersOf returns the members' checkpoints (PingOne id, username).
func (e *Engine) usersOf(ctx context.Context, job string, byGroup map[string][]state.Membership) (map[string]state.Checkpoint, error) {
	seen := map[string]bool{}
	var anchors []string
	for _, ms := range byGroup {
		for _, m := range ms {
			if !seen[m.Member] {
				seen[m.Member] = true
				anchors = append(anchors, m.Member)
			}
		}
	}
	out := make(map[string]state.Checkpoint, len(anchors))
	err := e.Store.CheckpointsFor(ctx, job, anchors, func(cp state.Checkpoint) error {
		if cp.UserID != "" && cp.Status != state.StatusConflict {
			out[cp.Anchor] = cp
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("verify memberships: read user ids: %w", err)
	}
	return out, nil
}
