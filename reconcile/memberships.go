package reconcile

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/syncd/syncd/sources"
	"github.com/syncd/syncd/state"
)

// What a membership needs, and why:
//
//   - PingOne has no bulk membership call (API-NOTES §5a): each (user,
//     group) pair costs one request. So memberships are diffed against the
//     job's membership checkpoints, never read back pair by pair: an
//     unchanged membership costs nothing, an added member one POST, a
//     removed member one DELETE.
//   - syncd removes only memberships it added (they are in state). A member
//     PingOne already had when syncd added it (by hand, or in an adopted
//     group) is recorded as preexisting and never removed.
//   - Members of a source group who are not managed users of the job (out
//     of scope, rejected, outside the job's base) are ignored and counted;
//     a rejected user's memberships are left as they are, like the user.
//   - A membership is removed only on complete information: a complete
//     read of the users and the groups (LDAP groups), or, with
//     from_records, a user record read this run (its list is whole).
//   - Nesting: flatten resolves transitive members, cycle-safe, with a
//     depth and a size bound; a group whose nesting passes a bound is not
//     planned (its memberships stay) rather than planned from a partial
//     view. mirror creates PingOne nesting links instead (≤ 250 per group).
//   - Population coupling: PingOne removes a user from the groups of its
//     old population when the user moves (§5a); when syncd moves a user,
//     those memberships are re-planned in the same run.

// MemberAction is what the plan does with one membership.
type MemberAction string

// Membership actions.
const (
	MemberAdd    MemberAction = "add"    // POST /users/{u}/memberOfGroups (or a nesting link)
	MemberRemove MemberAction = "remove" // DELETE /users/{u}/memberOfGroups/{g}
	MemberForget MemberAction = "forget" // drop the checkpoint, no call
)

// MemberOp is one membership's planned operation.
type MemberOp struct {
	Action MemberAction `json:"action"`
	// Group is the group's anchor, Member the user's (or, when Nested, the
	// nested group's) anchor.
	Group      string `json:"group"`
	GroupName  string `json:"group_name"`
	Member     string `json:"member"`
	MemberName string `json:"member_name,omitempty"`
	Nested     bool   `json:"nested,omitempty"`
	// Via names the nested groups a flattened membership comes through:
	// "Engineering → Platform".
	Via    string `json:"via,omitempty"`
	Why    string `json:"why,omitempty"`
	Failed bool   `json:"failed,omitempty"`
	// Skipped is set when apply could not try it (the group or the user
	// does not exist yet); it is planned again next run.
	Skipped bool `json:"skipped,omitempty"`

	preexisting bool
	// pending: state holds this membership as syncd's already — an
	// addition's intent from a run that may have sent it, or a managed
	// membership verify re-adds; "already a member" then means syncd's,
	// and no intent is recorded again.
	pending bool
}

// GroupCounts are a run's group and membership totals.
type GroupCounts struct {
	Created          int `json:"groups_created"`
	Adopted          int `json:"groups_adopted"`
	Updated          int `json:"groups_updated"`
	Deleted          int `json:"groups_deleted"`
	Forgotten        int `json:"groups_forgotten"`
	Conflicts        int `json:"group_conflicts"`
	Unchanged        int `json:"groups_unchanged"`
	MembersAdded     int `json:"members_added"`
	MembersRemoved   int `json:"members_removed"`
	MembersUnchanged int `json:"members_unchanged"`
	MembersIgnored   int `json:"members_ignored"`
	MembersForgotten int `json:"members_forgotten"`
	MembersSkipped   int `json:"members_skipped"`
	Failed           int `json:"group_failed"`
}

// Map returns the counts by name, for the run record and metrics.
func (c GroupCounts) Map() map[string]int {
	return map[string]int{
		"groups_created": c.Created, "groups_adopted": c.Adopted, "groups_updated": c.Updated, "groups_deleted": c.Deleted,
		"groups_forgotten": c.Forgotten, "group_conflicts": c.Conflicts, "groups_unchanged": c.Unchanged,
		"members_added": c.MembersAdded, "members_removed": c.MembersRemoved, "members_unchanged": c.MembersUnchanged,
		"members_ignored": c.MembersIgnored, "members_forgotten": c.MembersForgotten, "members_skipped": c.MembersSkipped,
		"group_failed": c.Failed,
	}
}

// GroupReport is the group part of a run's report.
type GroupReport struct {
	Counts  GroupCounts `json:"counts"`
	Groups  []GroupOp   `json:"groups"`
	Members []MemberOp  `json:"members"`
}

// userIndex is what the read of the users keeps for the groups: how a
// member value names a user, and each user record's group names.
type userIndex struct {
	names  map[string]state.UserName // anchor -> DN and uid, every record read (ldap)
	useUID bool
	// from_records: each record's group names, and the anchors read
	// this run, in read order until settle sorts them (slices, not maps:
	// a million records cost two appends each, not two map inserts).
	recGroups []recordGroups
	read      []string
	// unknown are anchors whose group list could not be computed: their
	// memberships are left as they are.
	unknown    map[string]bool
	settled    bool
	uidAttr    string
	fromRecord bool
	problems   []string
}

func newUserIndex(g *Groups) *userIndex {
	if g == nil {
		return nil
	}
	ux := &userIndex{fromRecord: g.Mapper.FromRecords()}
	if ux.fromRecord {
		ux.unknown = map[string]bool{}
		return ux
	}
	ux.names, ux.useUID, ux.uidAttr = map[string]state.UserName{}, g.usesUID(), strings.ToLower(g.UIDAttribute)
	return ux
}

// observe records what a user record tells the groups.
func (ux *userIndex) observe(g *Groups, rec *sources.Record) {
	if ux == nil || rec.Anchor == "" {
		return
	}
	if ux.fromRecord {
		ux.read = append(ux.read, rec.Anchor)
		if rec.Deleted {
			return
		}
		names, err := g.Mapper.RecordGroups(*rec)
		if err != nil {
			ux.problems = append(ux.problems, fmt.Sprintf("user %s: %v (its memberships are left as they are)", rec.Anchor, err))
			ux.unknown[rec.Anchor] = true // not known: nothing removed
			return
		}
		if len(names) > 0 {
			ux.recGroups = append(ux.recGroups, recordGroups{anchor: rec.Anchor, names: names})
		}
		return
	}
	if rec.Deleted {
		return
	}
	n := state.UserName{Anchor: rec.Anchor, DN: normDN(rec.DN)}
	if ux.useUID {
		if v := rec.Attrs[ux.uidAttr]; len(v) > 0 {
			n.UID = v[0]
		}
	}
	ux.names[rec.Anchor] = n
}

// groupPlan is the group half of a run's plan.
type groupPlan struct {
	groups  []GroupOp
	members []MemberOp
	counts  GroupCounts
	cps     map[string]*state.GroupCheckpoint
	popID   string
	// managed counts the memberships syncd may remove (not preexisting)
	// before the run; emptied lists groups a complete read found empty
	// while they had members.
	managed int
	emptied []string
	// members per group after the run (for the checkpoints' Members).
	size        map[string]int
	fromRecords bool
	// names is the user name index to save after the apply (ldap groups).
	names *namesUpdate
}

// namesUpdate is a pending SaveUserNames.
type namesUpdate struct {
	replace bool
	set     []state.UserName
	drop    []string
}

// buildIndex merges this read's user names with, on a delta read, the
// stored index, and returns the update that records them.
func (r *resolver) buildIndex(ctx context.Context, gs state.GroupStore, job string) (*namesUpdate, error) {
	r.index, r.byDN, r.byUID = map[string]state.UserName{}, map[string]string{}, map[string]string{}
	up := &namesUpdate{replace: r.rd.complete}
	if !r.rd.complete {
		err := gs.UserNames(ctx, job, func(u state.UserName) error { r.index[u.Anchor] = u; return nil })
		if err != nil {
			return nil, fmt.Errorf("load user names: %w", err)
		}
		// A delta read with no stored index (the first one since groups
		// were configured) cannot resolve the users it did not carry.
		r.complete = len(r.index) > 0
		for a := range r.rd.deleted {
			delete(r.index, a)
			up.drop = append(up.drop, a)
		}
		for a := range r.rd.outOfScope {
			delete(r.index, a)
			up.drop = append(up.drop, a)
		}
	} else {
		r.complete = true
	}
	for i := 0; i < r.rd.desired.len(); i++ {
		d := r.rd.desired.at(i)
		n := r.ux.names[d.anchor()]
		n.Anchor, n.Population, n.Username = d.anchor(), d.population(), d.username()
		r.index[n.Anchor] = n
		up.set = append(up.set, n)
	}
	for a, n := range r.index {
		if n.DN != "" {
			r.byDN[n.DN] = a
		}
		if n.UID != "" {
			r.byUID[n.UID] = a
		}
	}
	return up, nil
}

// withEmptyManaged adds the managed groups gs lacks, with no members.
func withEmptyManaged(gs []srcGroup, cps map[string]*state.GroupCheckpoint) []srcGroup {
	have := make(map[string]bool, len(gs))
	for _, g := range gs {
		have[strings.ToLower(g.anchor)] = true
	}
	n := len(gs)
	for a, cp := range cps {
		if !have[strings.ToLower(a)] {
			gs = append(gs, srcGroup{anchor: a, name: cp.Name})
		}
	}
	if len(gs) > n {
		sort.Slice(gs, func(i, j int) bool { return gs[i].anchor < gs[j].anchor })
	}
	return gs
}

// planGroups reads the groups and plans them and their memberships
// against state. userOps is the user plan: moves re-plan memberships.
func (e *Engine) planGroups(ctx context.Context, job *Job, rd *readResult, popIDs map[string]string, userOps []Op, rep *Report) (*groupPlan, error) {
	g := job.Groups
	gs, ok := e.Store.(state.GroupStore)
	if !ok {
		return nil, fmt.Errorf("groups: the state store %T keeps no groups", e.Store)
	}
	gr, err := e.readGroups(ctx, job, rep)
	if err != nil {
		return nil, err
	}
	ux := rd.users
	rep.Warnings = append(rep.Warnings, ux.problems...)
	if ux.fromRecord {
		gr.groups = groupsFromRecords(rd, ux)
	}
	cps, err := loadGroupCheckpoints(ctx, gs, job.Name)
	if err != nil {
		return nil, err
	}
	popID, err := e.resolveGroupPopulation(ctx, g)
	if err != nil {
		return nil, err
	}
	if ux.fromRecord {
		// A name spelt differently (case) is the same group: keep the
		// anchor it was created under.
		folded := make(map[string]string, len(cps))
		for a := range cps {
			folded[strings.ToLower(a)] = a
		}
		for i := range gr.groups {
			if a, ok := folded[strings.ToLower(gr.groups[i].anchor)]; ok {
				gr.groups[i].anchor = a
			}
		}
		// A group no record lists any more has no members; it has not
		// left a source that lists groups (there is none): its
		// memberships are removed, the group stays.
		gr.groups = withEmptyManaged(gr.groups, cps)
	}
	p := &groupPlan{cps: cps, popID: popID, size: map[string]int{}, fromRecords: ux.fromRecord}
	p.groups = planGroupOps(gr.groups, cps, rd.complete, g)

	held, managed, err := loadHeld(ctx, gs, job.Name, cps)
	if err != nil {
		return nil, err
	}
	p.managed = managed

	moved := map[string]string{} // user anchor -> population id it leaves
	for i := range userOps {
		if op := &userOps[i]; op.Has(ActMove) && op.cp != nil {
			moved[op.Anchor()] = op.cp.PopulationID
		}
	}
	r := &resolver{g: g, gr: gr, ux: ux, rd: rd, popIDs: popIDs, popName: g.Population, popID: popID}
	if !ux.fromRecord {
		if p.names, err = r.buildIndex(ctx, gs, job.Name); err != nil {
			return nil, err
		}
	}
	for i, sg := range gr.groups {
		d := r.desired(i)
		p.counts.MembersIgnored += d.ignored
		if d.warning != "" {
			rep.Warnings = append(rep.Warnings, d.warning)
		}
		p.diffGroup(sg, d, held[sg.anchor], moved, r)
		delete(held, sg.anchor)
	}
	// Groups no longer in the source: their memberships leave state with
	// them (a delete takes them in PingOne, a forgotten group keeps them).
	// On a delta read a group absent from it is still managed: keep it.
	for _, gop := range p.groups {
		if gop.Action != GroupForget && gop.Action != GroupDelete {
			continue
		}
		h := held[gop.Anchor]
		if h == nil {
			continue
		}
		for _, side := range []struct {
			held   []heldMember
			nested bool
		}{{h.users, false}, {h.links, true}} {
			for _, m := range side.held {
				p.members = append(p.members, MemberOp{Action: MemberForget, Group: gop.Anchor, GroupName: gop.Name, Member: m.member, Nested: side.nested,
					Why: "the group is no longer managed", preexisting: m.preexisting})
			}
		}
	}
	return p, nil
}

// heldMember is one membership checkpoint as the plan needs it.
type heldMember struct {
	member      string
	preexisting bool
	pending     bool // an addition's intent (state.Membership.Pending)
}

// heldGroup is one group's membership checkpoints: its user members and
// (mirror) its nested groups, each sorted by anchor.
type heldGroup struct {
	users, links []heldMember
}

// loadHeld loads the job's membership checkpoints by group, each side
// sorted (in Go's order: a PostgreSQL collation may order them otherwise),
// and counts the memberships syncd may remove.
// cps sizes each group's list from the member count of its checkpoint.
func loadHeld(ctx context.Context, gs state.GroupStore, job string, cps map[string]*state.GroupCheckpoint) (map[string]*heldGroup, int, error) {
	held := map[string]*heldGroup{}
	managed := 0
	var cur *heldGroup
	curGroup := ""
	err := gs.Memberships(ctx, job, func(m state.Membership) error {
		// Rows come grouped by group anchor: one map look-up per group.
		if cur == nil || m.Group != curGroup {
			if cur = held[m.Group]; cur == nil {
				cur = &heldGroup{}
				if cp := cps[m.Group]; cp != nil && cp.Members > 0 {
					cur.users = make([]heldMember, 0, cp.Members)
				}
				held[m.Group] = cur
			}
			curGroup = m.Group
		}
		h := heldMember{member: m.Member, preexisting: m.Preexisting, pending: m.Pending}
		if m.Nested {
			cur.links = append(cur.links, h)
		} else {
			cur.users = append(cur.users, h)
		}
		if !m.Preexisting {
			managed++
		}
		return nil
	})
	if err != nil {
		return nil, 0, fmt.Errorf("load memberships: %w", err)
	}
	byMember := func(a, b heldMember) int { return strings.Compare(a.member, b.member) }
	for _, h := range held {
		for _, side := range [][]heldMember{h.users, h.links} {
			if !slices.IsSortedFunc(side, byMember) {
				slices.SortFunc(side, byMember)
			}
		}
	}
	return held, managed, nil
}

// recordGroups is one user record's group names (from_records).
type recordGroups struct {
	anchor string
	names  []string
}

// settle sorts what observe gathered by anchor, once: an anchor read
// twice keeps its last group list (the engine rejects such anchors).
func (ux *userIndex) settle() {
	if ux.settled || !ux.fromRecord {
		return
	}
	ux.settled = true
	byAnchor := func(a, b recordGroups) int { return strings.Compare(a.anchor, b.anchor) }
	if !slices.IsSortedFunc(ux.recGroups, byAnchor) {
		slices.SortStableFunc(ux.recGroups, byAnchor)
	}
	kept := ux.recGroups[:0]
	for i, rg := range ux.recGroups {
		if i+1 < len(ux.recGroups) && ux.recGroups[i+1].anchor == rg.anchor {
			continue
		}
		kept = append(kept, rg)
	}
	ux.recGroups = kept
	if !slices.IsSorted(ux.read) {
		slices.Sort(ux.read)
	}
	ux.read = slices.Compact(ux.read)
}

// wasRead reports whether a from_records read carried anchor's whole
// group list this run.
func (ux *userIndex) wasRead(anchor string) bool {
	ux.settle()
	_, ok := slices.BinarySearch(ux.read, anchor)
	return ok && !ux.unknown[anchor]
}

// groupsFromRecords turns the group names listed on the user records into
// source groups, anchored by their name (the first spelling, in anchor
// order, of a name compared without case).
func groupsFromRecords(rd *readResult, ux *userIndex) []srcGroup {
	ux.settle()
	byKey := map[string]int{}  // lower-cased name -> index in out
	byName := map[string]int{} // as spelt -> index in out (no ToLower per membership)
	var out []srcGroup
	for _, rg := range ux.recGroups {
		for _, name := range rg.names {
			i, ok := byName[name]
			if !ok {
				k := strings.ToLower(name)
				if i, ok = byKey[k]; !ok {
					i = len(out)
					byKey[k] = i
					out = append(out, srcGroup{anchor: name, name: name})
				}
				byName[name] = i
			}
			out[i].members = append(out[i].members, rg.anchor)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].anchor < out[j].anchor })
	return out
}

// desiredMembers is one group's resolved members.
type desiredMembers struct {
	users []string // user anchors, sorted, each once
	// via names the nested groups a user comes through (flatten); a
	// direct member has no entry. nil when the group nests none.
	via      map[string]string
	links    []string // nested group anchors (mirror), sorted
	ignored  int
	complete bool   // removals may be planned
	warning  string // why not, or what was dropped
}

// resolver resolves member values to managed users and nested groups.
type resolver struct {
	g       *Groups
	gr      *groupRead
	ux      *userIndex
	rd      *readResult
	popIDs  map[string]string
	popName string
	popID   string
	// index is how group entries name the managed users (ldap groups):
	// this read's records, plus on a delta read the stored index of the
	// users it did not carry. byDN and byUID resolve member values.
	index       map[string]state.UserName
	byDN, byUID map[string]string
	complete    bool       // the index covers every managed user
	direct      [][]string // per group: direct managed user anchors, sorted, each once
	child       [][]int    // per group: nested group indexes
	ign         []int
}

// managedUser reports whether anchor is a user this job manages and syncs
// this run (a mapped, not rejected, record), and its username.
func (r *resolver) managedUser(anchor string) (string, bool) {
	var name, pop string
	if d := r.rd.desired.find(anchor); d != nil {
		name, pop = d.username(), d.population()
	} else if u, ok := r.index[anchor]; ok && !r.rd.complete && r.rd.rejected[anchor] == "" {
		// Not in this delta read, still managed.
		name, pop = u.Username, u.Population
	} else {
		return "", false
	}
	if r.popName != "" && pop != r.popName && r.popIDs[pop] != r.popID {
		// A population's group holds only that population's users (§5a).
		return "", false
	}
	return name, true
}

// prepare resolves every group's direct members once. They are kept as
// sorted anchor lists, not sets: a group of a million members costs one
// slice, and its diff against state is a merge.
func (r *resolver) prepare() {
	if r.direct != nil {
		return
	}
	n := len(r.gr.groups)
	r.direct, r.child, r.ign = make([][]string, n), make([][]int, n), make([]int, n)
	// from_records: a user lists ~5 groups; ask once per user whether it
	// is managed, not once per membership. The set of those that are not
	// is small (rejected, out of scope), often empty.
	var unmanaged map[string]bool
	if r.ux.fromRecord {
		unmanaged = map[string]bool{}
		r.ux.settle()
		for _, rg := range r.ux.recGroups {
			if _, ok := r.managedUser(rg.anchor); !ok {
				unmanaged[rg.anchor] = true
			}
		}
	}
	for i, sg := range r.gr.groups {
		anchors := make([]string, 0, len(sg.members))
		for _, v := range sg.members {
			if r.ux.fromRecord {
				anchors = append(anchors, v)
				continue
			}
			if strings.TrimSpace(v) == "" {
				continue // OpenLDAP's empty placeholder member
			}
			dn := normDN(v)
			if dn == sg.dn {
				continue // the group itself, the other placeholder
			}
			if a, ok := r.byDN[dn]; ok {
				anchors = append(anchors, a)
			} else if gi, ok := r.gr.byDN[dn]; ok {
				r.child[i] = append(r.child[i], gi)
			} else if a, ok := r.byUID[v]; ok {
				anchors = append(anchors, a)
			} else {
				r.ign[i]++ // resolves to no user of the job: no member
			}
		}
		if !slices.IsSorted(anchors) {
			slices.Sort(anchors)
		}
		anchors = slices.Compact(anchors)
		kept := anchors[:0]
		for _, a := range anchors {
			managed := false
			if unmanaged != nil {
				managed = !unmanaged[a]
			} else {
				_, managed = r.managedUser(a)
			}
			if managed {
				kept = append(kept, a)
			} else {
				r.ign[i]++
			}
		}
		r.direct[i] = kept
	}
}

// desired resolves group i's members: direct ones, plus (flatten) those
// of the groups nested in it, breadth first, each user once with the
// shortest path it comes through; a cycle ends where it closes.
func (r *resolver) desired(i int) desiredMembers {
	r.prepare()
	d := desiredMembers{users: r.direct[i], ignored: r.ign[i], complete: r.ux.fromRecord || r.complete}
	gs := r.gr.groups
	if r.g.Nested == NestedMirror {
		seen := map[int]bool{}
		for _, c := range r.child[i] {
			if c == i || seen[c] {
				continue
			}
			seen[c] = true
			d.links = append(d.links, gs[c].anchor)
		}
		sort.Strings(d.links)
		if len(d.links) > maxNestedLinks {
			d.warning = fmt.Sprintf("group %q nests %d groups, above PingOne's %d: the links past it are not created and none is removed", gs[i].name, len(d.links), maxNestedLinks)
			d.links, d.complete = d.links[:maxNestedLinks], false
		}
		return d
	}
	if len(r.child[i]) == 0 {
		return d
	}
	// Nested groups: the members they add, and through which path. The
	// direct members are in d.users already; via holds the others.
	type step struct{ g, depth int }
	direct := r.direct[i]
	isDirect := func(a string) bool { _, ok := slices.BinarySearch(direct, a); return ok }
	via := map[string]string{}
	path := map[int]string{i: ""}
	queue := []step{{i, 0}}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		for _, c := range r.child[s.g] {
			if _, seen := path[c]; seen {
				continue // a cycle, or a group reached by a shorter path
			}
			if s.depth+1 > r.g.MaxDepth {
				d.warning = fmt.Sprintf("group %q nests deeper than groups.max_depth=%d: its memberships are not changed this run", gs[i].name, r.g.MaxDepth)
				d.complete = false
				continue
			}
			p := gs[c].name
			if v := path[s.g]; v != "" {
				p = v + " → " + gs[c].name
			} else {
				p = gs[i].name + " → " + gs[c].name
			}
			path[c] = p
			queue = append(queue, step{c, s.depth + 1})
			d.ignored += r.ign[c]
			for _, a := range r.direct[c] {
				if _, ok := via[a]; !ok && !isDirect(a) {
					via[a] = p
				}
			}
			if len(direct)+len(via) > r.g.MaxMembers {
				d.warning = fmt.Sprintf("group %q has more than %d members once flattened: its memberships are not changed this run", gs[i].name, r.g.MaxMembers)
				return desiredMembers{warning: d.warning}
			}
		}
	}
	if len(via) == 0 {
		return d
	}
	users := make([]string, 0, len(direct)+len(via))
	users = append(users, direct...)
	for a := range via {
		users = append(users, a)
	}
	slices.Sort(users)
	d.users, d.via = users, via
	return d
}

// diffGroup plans one source group's memberships against its state: the
// desired users and links against the held ones, each side sorted, in
// one merge per side.
func (p *groupPlan) diffGroup(sg srcGroup, d desiredMembers, have *heldGroup, moved map[string]string, r *resolver) {
	if have == nil {
		have = &heldGroup{}
	}
	cp := p.cps[sg.anchor]
	// PingOne dropped the memberships of a moved user in the groups of the
	// population it left.
	dropped := func(m heldMember, nested bool) bool {
		from, ok := moved[m.member]
		return ok && !nested && cp != nil && cp.PopulationID != "" && cp.PopulationID == from
	}
	j := 0
	for _, a := range d.users {
		for j < len(have.users) && have.users[j].member < a {
			j++
		}
		switch {
		case j == len(have.users) || have.users[j].member != a:
			name, _ := r.managedUser(a)
			p.members = append(p.members, MemberOp{Action: MemberAdd, Group: sg.anchor, GroupName: sg.name, Member: a, MemberName: name, Via: d.via[a], Why: "member in the source"})
		case dropped(have.users[j], false):
			name, _ := r.managedUser(a)
			p.members = append(p.members, MemberOp{Action: MemberAdd, Group: sg.anchor, GroupName: sg.name, Member: a, MemberName: name, Via: d.via[a],
				Why: "re-added: PingOne removed it when the user moved population"})
		case have.users[j].pending:
			name, _ := r.managedUser(a)
			p.members = append(p.members, MemberOp{Action: MemberAdd, Group: sg.anchor, GroupName: sg.name, Member: a, MemberName: name, Via: d.via[a],
				Why: "sent again: an earlier run stopped before PingOne's answer was recorded", pending: true})
		default:
			p.counts.MembersUnchanged++
		}
	}
	j = 0
	for _, l := range d.links {
		for j < len(have.links) && have.links[j].member < l {
			j++
		}
		if j < len(have.links) && have.links[j].member == l && !have.links[j].pending {
			p.counts.MembersUnchanged++
			continue
		} else if j < len(have.links) && have.links[j].member == l {
			p.members = append(p.members, MemberOp{Action: MemberAdd, Group: sg.anchor, GroupName: sg.name, Member: l, MemberName: l, Nested: true,
				Why: "sent again: an earlier run stopped before PingOne's answer was recorded", pending: true})
			continue
		}
		p.members = append(p.members, MemberOp{Action: MemberAdd, Group: sg.anchor, GroupName: sg.name, Member: l, MemberName: l, Nested: true, Why: "nested in the source"})
	}
	// What state holds and the source no longer has: users, then links.
	for _, side := range []struct {
		held   []heldMember
		want   []string
		nested bool
	}{{have.users, d.users, false}, {have.links, d.links, true}} {
		j = 0
		for _, m := range side.held {
			for j < len(side.want) && side.want[j] < m.member {
				j++
			}
			if j < len(side.want) && side.want[j] == m.member {
				continue
			}
			switch {
			case dropped(m, side.nested):
				p.members = append(p.members, MemberOp{Action: MemberForget, Group: sg.anchor, GroupName: sg.name, Member: m.member,
					Why: "PingOne removed it when the user moved population"})
			case !d.complete:
				// Not provable this run: left as it is.
			case !side.nested && r.ux.fromRecord && !r.ux.wasRead(m.member):
				// from_records on a delta read: the user was not read.
			case !side.nested && r.rd.rejected[m.member] != "":
				// A rejected user is left exactly as it is, memberships included.
			case m.preexisting:
				p.members = append(p.members, MemberOp{Action: MemberForget, Group: sg.anchor, GroupName: sg.name, Member: m.member, Nested: side.nested,
					Why: "no longer in the source, but PingOne had it before syncd: left in PingOne", preexisting: true})
			default:
				name, _ := r.managedUser(m.member)
				if name == "" {
					name = m.member
				}
				p.members = append(p.members, MemberOp{Action: MemberRemove, Group: sg.anchor, GroupName: sg.name, Member: m.member, Nested: side.nested,
					MemberName: name, Why: "no longer a member in the source"})
			}
		}
	}
	n := len(d.users) + len(d.links)
	p.size[sg.anchor] = n
	if d.complete && n == 0 && cp != nil && cp.Members > 0 && !p.fromRecords {
		// (from_records has no group entry that could come back empty:
		// its groups just lose their last lister, and the count gate
		// guards the removals.)
		p.emptied = append(p.emptied, sg.name)
	}
}

// MembershipSafety is the membership gate. Unset keys take their
// defaults; a key set to 0 means 0 (DESIGN invariant 11).
type MembershipSafety struct {
	// MaxRemovals stops a run planning strictly more membership removals
	// (nesting links included). Default 500.
	MaxRemovals *int `yaml:"max_membership_removals"`
	// MaxRemovalPercent stops a run planning removals strictly above this
	// percentage of the memberships the job manages, from
	// membershipPercentFloor removals on. Default 10.
	MaxRemovalPercent *float64 `yaml:"max_membership_removal_percent"`
}

// Membership gate defaults.
const (
	DefaultMaxMembershipRemovals       = 500
	DefaultMaxMembershipRemovalPercent = 10.0
	membershipPercentFloor             = 10
)

// SetDefaults fills unset keys.
func (s *MembershipSafety) SetDefaults() {
	if s.MaxRemovals == nil {
		n := DefaultMaxMembershipRemovals
		s.MaxRemovals = &n
	}
	if s.MaxRemovalPercent == nil {
		p := DefaultMaxMembershipRemovalPercent
		s.MaxRemovalPercent = &p
	}
}

// MembershipGate says why the membership gate stopped a run.
type MembershipGate struct {
	Removals   int      `json:"removals"`
	Managed    int      `json:"managed"`
	MaxCount   int      `json:"max_membership_removals"`
	MaxPercent float64  `json:"max_membership_removal_percent"`
	Emptied    []string `json:"emptied_groups,omitempty"`
}

func (m *MembershipGate) message(job string) string {
	if len(m.Emptied) > 0 {
		return fmt.Sprintf("safety gate: a complete read found %d group(s) empty that had members (%s); "+
			"nothing was written (check the source; if they really are empty, re-run with --allow-mass-disable)",
			len(m.Emptied), strings.Join(m.Emptied[:min(len(m.Emptied), 5)], ", "))
	}
	return fmt.Sprintf("safety gate: %d membership removals planned (of %d managed memberships) exceeds "+
		"groups.safety.max_membership_removals=%d or max_membership_removal_percent=%g; "+
		"nothing was written (review with `syncd plan`, then re-run with --allow-mass-disable or raise the limits)",
		m.Removals, m.Managed, m.MaxCount, m.MaxPercent)
}

// gate checks the membership removals against groups.safety.
func (p *groupPlan) gate(job string, s MembershipSafety) *GateError {
	removals := 0
	for i := range p.members {
		if p.members[i].Action == MemberRemove {
			removals++
		}
	}
	mg := &MembershipGate{Removals: removals, Managed: p.managed, MaxCount: *s.MaxRemovals, MaxPercent: *s.MaxRemovalPercent, Emptied: p.emptied}
	tripped := len(p.emptied) > 0 || removals > mg.MaxCount ||
		(p.managed > 0 && removals >= membershipPercentFloor && float64(removals) > mg.MaxPercent*float64(p.managed)/100)
	if !tripped {
		return nil
	}
	return &GateError{Job: job, Memberships: mg}
}

// countPlanned fills the counts of a plan that is not applied (dry run).
func (p *groupPlan) countPlanned() {
	for _, g := range p.groups {
		p.countGroup(g)
	}
	for _, m := range p.members {
		p.countMember(m)
	}
}

func (p *groupPlan) countGroup(g GroupOp) {
	if g.Failed {
		p.counts.Failed++
		return
	}
	switch g.Action {
	case GroupCreate:
		p.counts.Created++
	case GroupUpdate:
		p.counts.Updated++
	case GroupDelete:
		p.counts.Deleted++
	case GroupForget:
		p.counts.Forgotten++
	case GroupConflict:
		p.counts.Conflicts++
	case GroupNoop:
		p.counts.Unchanged++
	}
}

func (p *groupPlan) countMember(m MemberOp) {
	switch {
	case m.Failed:
		p.counts.Failed++
	case m.Skipped:
		p.counts.MembersSkipped++
	case m.Action == MemberAdd:
		p.counts.MembersAdded++
	case m.Action == MemberRemove:
		p.counts.MembersRemoved++
	case m.Action == MemberForget:
		p.counts.MembersForgotten++
	}
}

// report is the plan's part of the run report.
func (p *groupPlan) report() *GroupReport {
	gr := &GroupReport{Counts: p.counts, Members: p.members}
	for _, g := range p.groups {
		if g.Action != GroupNoop {
			gr.Groups = append(gr.Groups, g)
		}
	}
	return gr
}

// digest folds the group plan's writes into the user plan's digest, so a
// saved plan is refused when its groups or memberships changed too. A nil
// plan leaves the digest as it is.
func (p *groupPlan) digest(users string) string {
	if p == nil {
		return users
	}
	h := sha256.New()
	h.Write([]byte(users))
	for _, g := range p.groups {
		if g.Action != GroupNoop {
			fmt.Fprintf(h, "\x00g%s\x00%s\x00%s\x00%s", g.Action, g.Anchor, g.Name, g.Description)
		}
	}
	for _, m := range p.members {
		fmt.Fprintf(h, "\x00m%s\x00%s\x00%s\x00%t", m.Action, m.Group, m.Member, m.Nested)
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// Changes reports whether the report holds any group or membership change
// (false for a nil report).
func (g *GroupReport) Changes() bool {
	if g == nil {
		return false
	}
	for _, m := range g.Members {
		if m.Action != MemberForget {
			return true
		}
	}
	return len(g.Groups) > 0
}
