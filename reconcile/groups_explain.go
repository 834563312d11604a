package reconcile

import (
	"sort"
	"strings"

	"github.com/syncd/syncd/mapper"
	"github.com/syncd/syncd/sources"
	"github.com/syncd/syncd/state"
)

// GroupReason is one group a user belongs to, and why: "via" names the
// nested groups a flattened membership comes through.
type GroupReason struct {
	Group string `json:"group"`
	Via   string `json:"via,omitempty"`
}

// groupClasses are the object classes `syncd map` takes for group entries
// in a fixture (the job's LDAP filter cannot be evaluated offline).
var groupClasses = map[string]bool{"groupofnames": true, "groupofuniquenames": true, "group": true, "posixgroup": true}

// IsGroupEntry reports whether a fixture record is a group entry.
func IsGroupEntry(rec sources.Record) bool {
	for _, c := range rec.Attrs["objectclass"] {
		if groupClasses[strings.ToLower(c)] {
			return true
		}
	}
	return false
}

// ExplainGroups resolves, offline, the groups of each mapped user of a
// fixture (`syncd map --explain`): users are the records m maps, groups
// the group entries among recs (or, with from_records, the names on each
// record). It applies the run's rules: managed users only, placeholders
// and dangling members dropped, nesting flattened (or, with mirror,
// direct memberships only).
func ExplainGroups(g *Groups, m *mapper.Mapper, recs []sources.Record) map[string][]GroupReason {
	rd := &readResult{rejected: map[string]string{}, outOfScope: map[string]bool{}, deleted: map[string]bool{}, complete: true, users: newUserIndex(g)}
	desired := newRecords()
	gr := &groupRead{byDN: map[string]int{}}
	for _, rec := range recs {
		if rec.Deleted {
			continue
		}
		if !g.Mapper.FromRecords() && IsGroupEntry(rec) {
			res, err := g.Mapper.MapGroup(rec)
			if err != nil || !res.InScope {
				continue
			}
			sg := srcGroup{anchor: rec.Anchor, name: res.Name, dn: normDN(rec.DN)}
			for _, a := range g.MemberAttributes {
				sg.members = append(sg.members, rec.Attrs[strings.ToLower(a)]...)
			}
			gr.groups = append(gr.groups, sg)
			continue
		}
		rd.users.observe(g, &rec)
		if out := m.Map(rec); out.Outcome == mapper.Mapped {
			desired.add(&out.Desired)
		}
	}
	desired.sortByAnchor()
	rd.desired = desired
	sort.Slice(gr.groups, func(i, j int) bool { return gr.groups[i].anchor < gr.groups[j].anchor })
	for i, sg := range gr.groups {
		if sg.dn != "" {
			gr.byDN[sg.dn] = i
		}
	}
	if rd.users.fromRecord {
		gr.groups = groupsFromRecords(rd, rd.users)
	}
	r := &resolver{g: g, gr: gr, ux: rd.users, rd: rd, popName: g.Population}
	if !rd.users.fromRecord {
		r.index, r.byDN, r.byUID, r.complete = map[string]state.UserName{}, map[string]string{}, map[string]string{}, true
		for i := 0; i < desired.len(); i++ {
			a := desired.at(i).anchor()
			n := rd.users.names[a]
			if n.DN != "" {
				r.byDN[n.DN] = a
			}
			if n.UID != "" {
				r.byUID[n.UID] = a
			}
		}
	}
	out := map[string][]GroupReason{}
	for i, sg := range gr.groups {
		d := r.desired(i)
		for _, a := range d.users {
			out[a] = append(out[a], GroupReason{Group: sg.name, Via: d.via[a]})
		}
	}
	for a := range out {
		sort.Slice(out[a], func(i, j int) bool { return out[a][i].Group < out[a][j].Group })
	}
	return out
}
