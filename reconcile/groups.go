package reconcile

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/syncd/syncd/mapper"
	"github.com/syncd/syncd/sink/pingone"
	"github.com/syncd/syncd/sources"
	"github.com/syncd/syncd/state"
)

// Groups are the second kind of object a job may sync, planned beside the
// users in the same shape: records in (group entries, or group names on
// each user record), a diff against the job's own group checkpoints,
// operations out, the same gate and the same apply loop. This file holds
// what a group needs and why; memberships.go what a membership needs.

// Nesting modes (groups.nested).
const (
	// NestedFlatten makes the members of nested groups direct members of
	// every group above them (default): PingOne needs no nesting links.
	NestedFlatten = "flatten"
	// NestedMirror creates PingOne group-in-group links (API-NOTES §5a:
	// POST /groups/{child}/memberOfGroups {"id": parent}).
	NestedMirror = "mirror"
)

// Defaults of the groups block.
const (
	DefaultGroupMaxDepth = 10
	// DefaultMaxGroupMembers bounds one group's flattened members: a
	// nesting that explodes past it is not planned (its memberships stay
	// as they are) rather than sent.
	DefaultMaxGroupMembers = 1_000_000
	// maxNestedLinks is PingOne's limit of nested groups per group
	// (API-NOTES §5a, platform limits).
	maxNestedLinks = 250
)

// Groups configures a job's groups. A nil *Groups syncs no groups.
type Groups struct {
	// Source reads the directory's group entries (the job's own LDAP
	// connection); nil when the names come from the user records.
	Source sources.Source
	// Mapper computes each group's name, description and scope, or each
	// user record's group names (from_records).
	Mapper *mapper.GroupMapper
	// MemberAttributes are the group entry attributes holding member DNs
	// (member, uniqueMember) or, for memberUid, user ids.
	MemberAttributes []string
	// UIDAttribute is the user attribute memberUid values name (uid).
	UIDAttribute string
	// Population is the population the groups live in ("" = environment
	// level groups): a name or an id.
	Population string
	// Nested is NestedFlatten (default) or NestedMirror.
	Nested string
	// MaxDepth bounds nesting resolution (default 10).
	MaxDepth int
	// MaxMembers bounds one group's flattened members (default 1,000,000).
	MaxMembers int
	// AdoptByName takes over an existing PingOne group of the same name
	// that carries no externalId, instead of reporting a conflict.
	AdoptByName bool
	// DeleteRemoved deletes a group syncd created once it leaves the source
	// (or the scope). Otherwise such a group is left in PingOne as it is,
	// members included, and no longer managed.
	DeleteRemoved bool
	// Safety: the membership gate.
	Safety MembershipSafety
}

// SetDefaults fills unset fields.
func (g *Groups) SetDefaults() {
	if g.Nested == "" {
		g.Nested = NestedFlatten
	}
	if g.MaxDepth == 0 {
		g.MaxDepth = DefaultGroupMaxDepth
	}
	if g.MaxMembers == 0 {
		g.MaxMembers = DefaultMaxGroupMembers
	}
	if g.UIDAttribute == "" {
		g.UIDAttribute = "uid"
	}
	g.Safety.SetDefaults()
}

// usesUID reports whether members are named by uid (memberUid).
func (g *Groups) usesUID() bool {
	for _, a := range g.MemberAttributes {
		if strings.EqualFold(a, "memberUid") {
			return true
		}
	}
	return false
}

// UserAttributes adds what the groups need from each user record to the
// attributes the mapping reads (nil stays nil: everything is read).
func (g *Groups) UserAttributes(attrs []string) []string {
	if g == nil || attrs == nil {
		return attrs
	}
	if g.Mapper.FromRecords() {
		extra := g.Mapper.SourceAttributes()
		if extra == nil {
			return nil
		}
		attrs = append(attrs, extra...)
	}
	if g.usesUID() {
		attrs = append(attrs, strings.ToLower(g.UIDAttribute))
	}
	return attrs
}

// GroupAction is what the plan does with one group.
type GroupAction string

// Group actions.
const (
	GroupCreate   GroupAction = "create"   // new in the source: POST (carrying its anchor as externalId)
	GroupUpdate   GroupAction = "update"   // name or description changed: GET + PUT
	GroupDelete   GroupAction = "delete"   // left the source, delete_removed: DELETE
	GroupForget   GroupAction = "forget"   // left the source: no longer managed, left in PingOne
	GroupConflict GroupAction = "conflict" // a PingOne group of that name is not syncd's: reject
	GroupNoop     GroupAction = "noop"
)

// GroupOp is one group's planned operation.
type GroupOp struct {
	Action      GroupAction `json:"action"`
	Anchor      string      `json:"anchor"`
	Name        string      `json:"name"`
	Description string      `json:"description,omitempty"`
	// OldName is the name last applied, for an update.
	OldName string `json:"old_name,omitempty"`
	// GroupID is the PingOne id when known.
	GroupID string `json:"group_id,omitempty"`
	Why     string `json:"why,omitempty"`
	Failed  bool   `json:"failed,omitempty"`

	cp *state.GroupCheckpoint
}

// srcGroup is one group as the source has it.
type srcGroup struct {
	anchor, name, desc string
	dn                 string   // normalised; "" for from_records
	members            []string // raw member values: DNs or uids
}

// groupRead is what a run read of the groups, before resolution.
type groupRead struct {
	groups []srcGroup // sorted by anchor, in scope, mapped
	// byDN maps a group entry's normalised DN to its index in groups.
	byDN map[string]int
	// outOfScope counts group entries the scope left out.
	outOfScope int
}

// readGroups reads the job's group entries (a complete read) and maps
// them. Per-group problems are rejects; a failed read is an error, and the
// run stops before planning anything (DESIGN invariant 1).
func (e *Engine) readGroups(ctx context.Context, job *Job, rep *Report) (*groupRead, error) {
	g := job.Groups
	gr := &groupRead{byDN: map[string]int{}}
	if g.Mapper.FromRecords() {
		return gr, nil
	}
	attrs := g.Mapper.SourceAttributes()
	if attrs != nil {
		for _, a := range g.MemberAttributes {
			attrs = append(attrs, strings.ToLower(a))
		}
	}
	r, err := g.Source.Open(ctx, sources.ReadRequest{Full: true, Attributes: attrs})
	if err != nil {
		return nil, fmt.Errorf("open group source: %w", err)
	}
	defer r.Close()
	n := 0
	for r.Next() {
		rec := r.Record()
		n++
		if rec.Deleted {
			continue
		}
		if rec.Anchor == "" {
			rep.Rejects = append(rep.Rejects, mapper.Reject{Pos: rec.Pos, Attribute: "group", Reason: "group entry without an anchor: " + rec.DN})
			continue
		}
		res, err := g.Mapper.MapGroup(rec)
		if err != nil {
			rep.Rejects = append(rep.Rejects, mapper.Reject{Anchor: rec.Anchor, Pos: rec.Pos, Attribute: "group", Reason: err.Error()})
			continue
		}
		if !res.InScope {
			gr.outOfScope++
			continue
		}
		sg := srcGroup{anchor: rec.Anchor, name: res.Name, desc: res.Description, dn: normDN(rec.DN)}
		for _, a := range g.MemberAttributes {
			sg.members = append(sg.members, rec.Attrs[strings.ToLower(a)]...)
		}
		gr.groups = append(gr.groups, sg)
	}
	if err := r.Err(); err != nil {
		return nil, fmt.Errorf("read groups (after %d entries; nothing planned): %w", n, err)
	}
	if r.Mode() != sources.Full {
		return nil, fmt.Errorf("read groups: the group source answered with a delta read; groups need a complete one")
	}
	sort.Slice(gr.groups, func(i, j int) bool { return gr.groups[i].anchor < gr.groups[j].anchor })
	gr.groups = rejectDuplicateGroups(gr.groups, rep)
	for i, sg := range gr.groups {
		if sg.dn != "" {
			gr.byDN[sg.dn] = i
		}
	}
	return gr, nil
}

// rejectDuplicateGroups refuses two source groups with one anchor, or
// with one name (PingOne cannot hold two groups of a name at one level,
// API-NOTES §5a): all of them are rejected, none is guessed.
func rejectDuplicateGroups(gs []srcGroup, rep *Report) []srcGroup {
	byName := map[string][]int{}
	for i, g := range gs {
		byName[strings.ToLower(g.name)] = append(byName[strings.ToLower(g.name)], i)
	}
	bad := map[int]string{}
	for i := 1; i < len(gs); i++ {
		if gs[i].anchor == gs[i-1].anchor {
			bad[i], bad[i-1] = "duplicate group anchor "+gs[i].anchor, "duplicate group anchor "+gs[i].anchor
		}
	}
	for _, idx := range byName {
		if len(idx) < 2 {
			continue
		}
		anchors := make([]string, len(idx))
		for k, i := range idx {
			anchors[k] = gs[i].anchor
		}
		for _, i := range idx {
			bad[i] = fmt.Sprintf("group name %q is used by %d source groups (%s): PingOne cannot hold both", gs[i].name, len(idx), strings.Join(anchors, ", "))
		}
	}
	if len(bad) == 0 {
		return gs
	}
	kept := gs[:0]
	for i, g := range gs {
		if why, ok := bad[i]; ok {
			rep.Rejects = append(rep.Rejects, mapper.Reject{Anchor: g.anchor, Attribute: "group", Reason: why})
			continue
		}
		kept = append(kept, g)
	}
	return kept
}

// normDN folds a DN for comparison: lower case, no spaces around the
// separators. Member values and entry DNs come from one server, so this
// is enough to match them.
func normDN(dn string) string {
	dn = strings.ToLower(strings.TrimSpace(dn))
	if !strings.ContainsAny(dn, " ") {
		return dn
	}
	var b strings.Builder
	parts := strings.Split(dn, ",")
	for i, p := range parts {
		if i > 0 {
			b.WriteByte(',')
		}
		k, v, ok := strings.Cut(p, "=")
		if ok {
			b.WriteString(strings.TrimSpace(k) + "=" + strings.TrimSpace(v))
		} else {
			b.WriteString(strings.TrimSpace(p))
		}
	}
	return b.String()
}

// loadGroupCheckpoints loads the job's group checkpoints by anchor.
func loadGroupCheckpoints(ctx context.Context, gs state.GroupStore, job string) (map[string]*state.GroupCheckpoint, error) {
	out := map[string]*state.GroupCheckpoint{}
	err := gs.GroupCheckpoints(ctx, job, func(c state.GroupCheckpoint) error {
		out[c.Anchor] = &c
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load group checkpoints: %w", err)
	}
	return out, nil
}

// planGroupOps diffs the source's groups against their checkpoints:
//   - new in the source: create (a name collision with a group syncd does
//     not manage is found at apply time, by PingOne's own name rule, and
//     becomes a conflict, or an adoption with adopt_by_name);
//   - a checkpoint still pending or failed without an id: create again,
//     which first looks the group up by externalId (DESIGN invariant 6);
//   - name or description changed: update;
//   - a conflict whose name did not change: a reject again, no call;
//   - gone from the source or its scope: delete (delete_removed, and only
//     groups syncd created) or forget — only on complete information.
func planGroupOps(src []srcGroup, cps map[string]*state.GroupCheckpoint, complete bool, g *Groups) []GroupOp {
	var ops []GroupOp
	seen := make(map[string]bool, len(src))
	for _, sg := range src {
		seen[sg.anchor] = true
		op := GroupOp{Anchor: sg.anchor, Name: sg.name, Description: sg.desc, Action: GroupNoop}
		cp := cps[sg.anchor]
		op.cp = cp
		switch {
		case cp == nil:
			op.Action, op.Why = GroupCreate, "new in the source"
		case cp.Status == state.GroupConflict && cp.Name == sg.name:
			op.Action, op.Why = GroupConflict, cp.LastError
		case cp.GroupID == "":
			op.Action, op.Why = GroupCreate, "not created yet ("+string(cp.Status)+"): looked up by externalId first"
		case cp.Name != sg.name || cp.Description != sg.desc:
			op.Action, op.GroupID, op.OldName = GroupUpdate, cp.GroupID, cp.Name
			op.Why = "changed in the source"
		default:
			op.GroupID = cp.GroupID
		}
		ops = append(ops, op)
	}
	if !complete {
		return ops
	}
	var gone []string
	for a := range cps {
		if !seen[a] {
			gone = append(gone, a)
		}
	}
	sort.Strings(gone)
	for _, a := range gone {
		cp := cps[a]
		op := GroupOp{Anchor: a, Name: cp.Name, GroupID: cp.GroupID, cp: cp, Action: GroupForget,
			Why: "absent from a complete read: no longer managed, left in PingOne"}
		if g.DeleteRemoved && !cp.Adopted && cp.GroupID != "" {
			op.Action, op.Why = GroupDelete, "absent from a complete read (delete_removed)"
		}
		ops = append(ops, op)
	}
	return ops
}

// resolveGroupPopulation turns groups.population into an id once per run.
func (e *Engine) resolveGroupPopulation(ctx context.Context, g *Groups) (string, error) {
	if g.Population == "" {
		return "", nil
	}
	id, err := e.Target.ResolvePopulation(ctx, g.Population)
	if err != nil {
		if pingone.IsNotFound(err) {
			return "", fmt.Errorf("groups.population %q does not exist in PingOne: %w", g.Population, err)
		}
		return "", fmt.Errorf("resolve groups.population %q: %w", g.Population, err)
	}
	return id, nil
}
