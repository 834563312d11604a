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
//     membership was removed, so the memberships of a listed user who is
//     also listed in one of the group's managed nested groups are listed,
//     GET /users/{id}/memberOfGroups (one listing per such user, for all
//     its groups), whose types say DIRECT or INDIRECT: verify compares
//     direct memberships only. A verify that finds no drift makes only
//     listings.
//   - A managed group that has managed members but lists none is looked up
//     by its externalId; if PingOne has no such group, an admin deleted
//     it: repair creates it again (carrying its anchor) and re-adds its
//     members (and, mirror, its links) in the same run.
//   - With nested: mirror, syncd's nesting links are read back too: a link
//     is a property of the nested group, so each managed group's parents
//     are listed, GET /groups/{id}/memberOfGroups (§5a), one paged listing
//     per group, never one GET per link. A link syncd created that PingOne
//     no longer lists is drift, re-added with one POST. A link PingOne
//     lists between two managed groups that syncd did not create (nor
//     found there, preexisting) is an admin's: reported, and left as it
//     is, as a member added by hand is (DESIGN invariant 4). Links to
//     groups syncd does not manage are not its business. A managed group
//     whose listing answers 404 was deleted: created again as above. The
//     nesting PingOne has, not the one state holds, says which members
//     may be indirect (the typed listings above), so a link added by hand
//     cannot hide a removed membership.

// MemberDrift is a managed membership PingOne lost outside syncd, or a
// managed group deleted there, or (nested: mirror) a nesting link between
// two managed groups that an admin removed or added there.
type MemberDrift struct {
	Group      string `json:"group"` // the group's anchor (a link's parent)
	GroupName  string `json:"group_name"`
	GroupID    string `json:"group_id"`
	Member     string `json:"member,omitempty"` // the user's anchor, or a link's nested group's
	MemberName string `json:"member_name,omitempty"`
	UserID     string `json:"user_id,omitempty"`
	// Nested is set for a nesting link: Member is the group nested in
	// Group, MemberGroupID its PingOne id.
	Nested        bool   `json:"nested,omitempty"`
	MemberGroupID string `json:"member_group_id,omitempty"`
	// Added is set for a link PingOne has between two managed groups that
	// syncd did not create: an admin's, reported and left as it is (like a
	// member added by hand), never repaired.
	Added bool `json:"added,omitempty"`
	// GroupDeleted is set when the group itself is gone from PingOne.
	GroupDeleted bool `json:"group_deleted,omitempty"`
	Repaired     bool `json:"repaired"`
}

// memberReader reads memberships back from PingOne. *pingone.Client
// implements it.
type memberReader interface {
	GroupMembers(ctx context.Context, groupID string, fn func(pingone.User) error) error
	UserGroups(ctx context.Context, userID string, fn func(groupID string, direct bool) error) error
	DirectMember(ctx context.Context, userID, groupID string) (bool, error)
	GroupByExternalID(ctx context.Context, externalID string) (pingone.Group, bool, error)
}

var _ memberReader = (*pingone.Client)(nil)

// nestingReader reads a group's nesting links back (nested: mirror).
// *pingone.Client implements it.
type nestingReader interface {
	GroupParents(ctx context.Context, groupID string, fn func(parentID string) error) error
}

var _ nestingReader = (*pingone.Client)(nil)

// link is a nesting link by anchors: child nested in parent.
type link struct{ parent, child string }

// verifyMembers compares the memberships syncd added with PingOne, one
// listing per managed group that has any, and with nested: mirror the
// nesting links, one listing per managed group; then (repair) it plans the
// calls that put the missing ones back.
func (e *Engine) verifyMembers(ctx context.Context, job *Job, p *groupPlan, repair bool) ([]MemberDrift, error) {
	mr, ok := e.Target.(memberReader)
	if !ok {
		return nil, fmt.Errorf("verify memberships: the PingOne target %T cannot list a group's members", e.Target)
	}
	mirror := job.Groups.Nested == NestedMirror
	nr, ok := e.Target.(nestingReader)
	if mirror && !ok {
		return nil, fmt.Errorf("verify memberships: the PingOne target %T cannot list a group's nesting", e.Target)
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
	// checked returns the checkpoint of a managed group verify compares:
	// it exists, and this run neither creates, deletes nor forgets it.
	checked := func(a string) *state.GroupCheckpoint {
		op, cp := groupOps[a], p.cps[a]
		if op == nil || (op.Action != GroupNoop && op.Action != GroupUpdate) || cp == nil || cp.GroupID == "" || cp.Status != state.GroupActive {
			return nil
		}
		return cp
	}
	users := map[string][]state.Membership{} // group -> managed direct user memberships
	var links []link                         // syncd's nesting links
	known := map[link]bool{}                 // every link state holds or the plan writes
	for k := range planned {
		if k.nested {
			known[link{k.group, k.member}] = true
		}
	}
	err := gs.Memberships(ctx, job.Name, func(m state.Membership) error {
		if m.Nested {
			known[link{m.Group, m.Member}] = true
		}
		op := groupOps[m.Group]
		if m.Preexisting || planned[key{m.Group, m.Member, m.Nested}] ||
			op == nil || (op.Action != GroupNoop && op.Action != GroupUpdate) {
			return nil
		}
		if m.Nested {
			links = append(links, link{m.Group, m.Member})
		} else {
			users[m.Group] = append(users[m.Group], m)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("verify memberships: load memberships: %w", err)
	}
	sort.Slice(links, func(i, j int) bool {
		if links[i].parent != links[j].parent {
			return links[i].parent < links[j].parent
		}
		return links[i].child < links[j].child
	})

	// mirror: each managed group's nesting as PingOne has it, one listing
	// per group (a link is a property of its nested group: GET
	// /groups/{child}/memberOfGroups lists its parents). A group that is
	// not there (404) was deleted outside syncd.
	var parentsOf map[string]map[string]bool // group anchor -> parent ids
	gone := map[string]bool{}
	anchorOf := map[string]string{} // PingOne id -> anchor, managed groups checked
	var anchors []string
	for a := range groupOps {
		if cp := checked(a); cp != nil {
			anchors = append(anchors, a)
			anchorOf[cp.GroupID] = a
		}
	}
	sort.Strings(anchors)
	if mirror {
		parentsOf = map[string]map[string]bool{}
		for _, a := range anchors {
			cp := p.cps[a]
			ids := map[string]bool{}
			err := nr.GroupParents(ctx, cp.GroupID, func(id string) error { ids[id] = true; return nil })
			switch {
			case pingone.IsNotFound(err) && !cp.Adopted:
				gone[a] = true
				continue
			case pingone.IsNotFound(err):
				continue // an adopted group is not created again: its links are not compared
			case err != nil:
				return nil, fmt.Errorf("verify nesting: list the groups group %q (id %s) is nested in: %w", cp.Name, cp.GroupID, err)
			}
			parentsOf[a] = ids
		}
	}
	children := map[string][]string{} // parent id -> anchors of the managed groups nested in it, sorted
	for _, a := range anchors {
		for id := range parentsOf[a] {
			children[id] = append(children[id], a)
		}
	}

	var drifts []MemberDrift
	var who map[string]state.Checkpoint
	if len(users) > 0 {
		if who, err = e.usersOf(ctx, job.Name, users); err != nil {
			return nil, err
		}
	}
	nameOf := func(a string) string {
		if op := groupOps[a]; op != nil {
			return op.Name
		}
		if cp := p.cps[a]; cp != nil {
			return cp.Name
		}
		return a
	}
	// lost plans a managed group deleted in PingOne anew (repair): created
	// again carrying its anchor, its members and links added back.
	relinked := map[link]bool{}
	lost := func(ga string) {
		cp, op := p.cps[ga], groupOps[ga]
		drifts = append(drifts, MemberDrift{Group: ga, GroupName: cp.Name, GroupID: cp.GroupID, GroupDeleted: true, Repaired: repair})
		if !repair {
			return
		}
		p.recreate(op)
		for _, m := range users[ga] {
			p.readd(ga, op.Name, m.Member, who[m.Member].Username, "drift: its group was deleted in PingOne outside syncd")
		}
		for _, l := range links {
			if (l.parent == ga || l.child == ga) && !relinked[l] {
				relinked[l] = true
				p.readdLink(l, nameOf(l.parent), nameOf(l.child), "drift: its group was deleted in PingOne outside syncd")
			}
		}
	}
	for _, ga := range anchors {
		if gone[ga] {
			lost(ga)
		}
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
	// memberCheck is a managed membership the listing does not show, or
	// shows while it may be indirect only (listed).
	type memberCheck struct {
		group, member, name, uid string
		cp                       *state.GroupCheckpoint
		listed                   bool
	}
	var checks []memberCheck
	for _, ga := range groups {
		cp := checked(ga)
		if cp == nil || gone[ga] {
			continue
		}
		have, err := list(cp.GroupID)
		if err != nil {
			return nil, fmt.Errorf("verify memberships: list the members of group %q (id %s): %w", cp.Name, cp.GroupID, err)
		}
		ms := users[ga]
		if len(have) == 0 && !cp.Adopted && !mirror {
			// Every managed member is missing: is the group still there?
			// (mirror knows already: its nesting listing answered.)
			if _, found, err := mr.GroupByExternalID(ctx, ga); err != nil {
				return nil, fmt.Errorf("verify memberships: look up group %q externalId=%s: %w", cp.Name, ga, err)
			} else if !found {
				lost(ga)
				continue
			}
		}
		// With mirror, users listed through a group nested in this one
		// (as PingOne has the nesting, links added by hand included) may
		// be indirect members only.
		var via []map[string]bool
		for _, c := range children[cp.GroupID] {
			ids, err := list(p.cps[c].GroupID)
			if err != nil {
				return nil, fmt.Errorf("verify memberships: list the members of nested group %q (id %s): %w", p.cps[c].Name, p.cps[c].GroupID, err)
			}
			via = append(via, ids)
		}
		for _, m := range ms {
			uid, name := who[m.Member].UserID, who[m.Member].Username
			switch {
			case uid == "":
				// The user is gone or unknown: the user plan says so.
			case !have[uid]:
				checks = append(checks, memberCheck{group: ga, cp: cp, member: m.Member, name: name, uid: uid})
			case indirectPossible(via, uid):
				checks = append(checks, memberCheck{group: ga, cp: cp, member: m.Member, name: name, uid: uid, listed: true})
			}
		}
	}
	// A member listed both directly and through a nested group may be an
	// indirect one only: its memberships are listed with their types
	// (DIRECT or INDIRECT), one listing per such user for all its groups.
	direct := map[string]map[string]bool{} // user id -> ids of the groups it is a direct member of
	for _, c := range checks {
		if _, ok := direct[c.uid]; ok || !c.listed {
			continue
		}
		ids := map[string]bool{}
		err := mr.UserGroups(ctx, c.uid, func(groupID string, d bool) error {
			if d {
				ids[groupID] = true
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("verify memberships: list user %s's group memberships: %w", c.uid, err)
		}
		direct[c.uid] = ids
	}
	for _, c := range checks {
		if c.listed && direct[c.uid][c.cp.GroupID] {
			continue
		}
		drifts = append(drifts, MemberDrift{Group: c.group, GroupName: c.cp.Name, GroupID: c.cp.GroupID, Member: c.member, MemberName: c.name, UserID: c.uid, Repaired: repair})
		if repair {
			p.readd(c.group, nameOf(c.group), c.member, c.name, "drift: removed in PingOne outside syncd")
		}
	}

	// mirror: syncd's links PingOne lost, and links between managed
	// groups PingOne has that syncd did not create (an admin's: reported,
	// left as they are, DESIGN invariant 4).
	for _, l := range links {
		pcp, ccp := checked(l.parent), checked(l.child)
		have, listedChild := parentsOf[l.child]
		if pcp == nil || ccp == nil || !listedChild || gone[l.parent] || have[pcp.GroupID] {
			continue
		}
		drifts = append(drifts, MemberDrift{Group: l.parent, GroupName: pcp.Name, GroupID: pcp.GroupID, Member: l.child, MemberName: ccp.Name,
			MemberGroupID: ccp.GroupID, Nested: true, Repaired: repair})
		if repair {
			p.readdLink(l, nameOf(l.parent), nameOf(l.child), "drift: removed in PingOne outside syncd")
		}
	}
	for _, c := range anchors {
		ids := make([]string, 0, len(parentsOf[c]))
		for id := range parentsOf[c] {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		for _, id := range ids {
			pa, managed := anchorOf[id]
			if !managed || known[link{pa, c}] {
				continue
			}
			drifts = append(drifts, MemberDrift{Group: pa, GroupName: p.cps[pa].Name, GroupID: id, Member: c, MemberName: p.cps[c].Name,
				MemberGroupID: p.cps[c].GroupID, Nested: true, Added: true})
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

// readd plans a managed membership PingOne lost again. State holds it as
// syncd's: if an admin put it back meanwhile, "already a member" leaves
// it syncd's (pending), not preexisting.
func (p *groupPlan) readd(group, groupName, member, memberName, why string) {
	p.members = append(p.members, MemberOp{Action: MemberAdd, Group: group, GroupName: groupName, Member: member, MemberName: memberName, Why: why, pending: true})
	p.counts.MembersUnchanged--
}

// readdLink plans a managed nesting link PingOne lost again.
func (p *groupPlan) readdLink(l link, parentName, childName, why string) {
	p.members = append(p.members, MemberOp{Action: MemberAdd, Group: l.parent, GroupName: parentName, Member: l.child, MemberName: childName, Nested: true, Why: why,
		pending: true})
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
