package config

import (
	"strconv"
	"strings"

	"github.com/syncd/syncd/internal/fielderr"
	"github.com/syncd/syncd/mapper"
	"github.com/syncd/syncd/reconcile"
	"github.com/syncd/syncd/sources/ldapsource"
)

// Groups is a job's groups block: where its groups come from, how they
// become PingOne groups, and the membership gate. Absent: users only.
//
//	groups:
//	  ldap: {base_dn: [ou=groups,dc=example,dc=com], filter: (objectClass=groupOfNames), anchor: entryUUID}
//	  name: cn
//	  nested: flatten
//	  safety: {max_membership_removals: 500, max_membership_removal_percent: 10}
type Groups struct {
	// LDAP reads group entries through the job's own LDAP connection (the
	// url, bind and tls of source.ldap). Exactly one of ldap and
	// from_records.
	LDAP *GroupsLDAP `yaml:"ldap"`
	// FromRecords lists on each user record the names of its groups, e.g.
	// split(groups, ";") for a CSV column, or memberOf.
	FromRecords string `yaml:"from_records"`
	// Name computes a group entry's PingOne name. Default cn.
	Name string `yaml:"name"`
	// Description optionally computes its description.
	Description string `yaml:"description"`
	// Scope optionally selects the group entries syncd manages.
	Scope string `yaml:"scope"`
	// Population is the population the groups live in: "" (default) for
	// environment-level groups, or a population's name or id.
	Population string `yaml:"population"`
	// Nested is flatten (default: members of nested groups become direct
	// members) or mirror (PingOne nesting links, at most 250 per group).
	Nested string `yaml:"nested"`
	// MaxDepth bounds how deep flatten follows nesting. Default 10.
	MaxDepth int `yaml:"max_depth"`
	// AdoptByName takes over a PingOne group of the same name that carries
	// no externalId (its members stay). Default false: a reject.
	AdoptByName bool `yaml:"adopt_by_name"`
	// DeleteRemoved deletes a group syncd created once it leaves the
	// source. Default false: the group is left as it is, unmanaged.
	DeleteRemoved bool `yaml:"delete_removed"`
	// Safety is the membership gate: max_membership_removals (500) and
	// max_membership_removal_percent (10, of the job's managed memberships).
	Safety reconcile.MembershipSafety `yaml:"safety"`

	// Mapper is the compiled name/description/scope or from_records.
	Mapper *mapper.GroupMapper `yaml:"-"`
}

// GroupsLDAP is where the group entries are.
type GroupsLDAP struct {
	// BaseDN is one DN or a list. Required.
	BaseDN ldapsource.DNList `yaml:"base_dn"`
	// Scope is sub (default), one or base.
	Scope string `yaml:"scope"`
	// Filter selects the groups. Default
	// (|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames)), or
	// (objectClass=group) when the anchor is objectGUID.
	Filter string `yaml:"filter"`
	// Anchor identifies a group for life. Default: the user source's.
	Anchor string `yaml:"anchor"`
	// MemberAttribute lists the attributes holding members: DNs (member,
	// uniqueMember; default both) or user ids (memberUid, matched with the
	// users' uid).
	MemberAttribute []string `yaml:"member_attribute"`
}

// validateGroups checks and compiles a job's groups block; paths are
// relative to the job.
func validateGroups(j *Job) error {
	g := j.Groups
	if g == nil {
		return nil
	}
	var errs fielderr.List
	switch {
	case g.LDAP != nil && g.FromRecords != "":
		errs.Add("groups", "set one of ldap and from_records, not both")
	case g.LDAP == nil && g.FromRecords == "":
		errs.Add("groups", "set ldap (group entries) or from_records (group names on each user record)")
	case g.LDAP != nil && j.Source.LDAP == nil:
		errs.Add("groups.ldap", "needs an ldap source: the groups are read through the job's own LDAP connection")
	case g.FromRecords != "" && (g.Name != "" || g.Description != "" || g.Scope != ""):
		errs.Add("groups", "name, description and scope apply to group entries (ldap), not to from_records")
	}
	if g.LDAP != nil {
		if len(g.LDAP.BaseDN) == 0 {
			errs.Add("groups.ldap.base_dn", "required")
		}
		switch g.LDAP.Scope {
		case "", "sub", "one", "base":
		default:
			errs.Add("groups.ldap.scope", "want sub, one or base, not %q", g.LDAP.Scope)
		}
		for i, a := range g.LDAP.MemberAttribute {
			switch strings.ToLower(a) {
			case "member", "uniquemember", "memberuid":
			default:
				errs.Add("groups.ldap.member_attribute["+strconv.Itoa(i)+"]", "want member, uniqueMember or memberUid, not %q", a)
			}
		}
	}
	switch g.Nested {
	case "", reconcile.NestedFlatten, reconcile.NestedMirror:
	default:
		errs.Add("groups.nested", "want flatten or mirror, not %q", g.Nested)
	}
	if g.MaxDepth < 0 || g.MaxDepth > 100 {
		errs.Add("groups.max_depth", "want 1..100, not %d", g.MaxDepth)
	}
	if n := g.Safety.MaxRemovals; n != nil && *n < 0 {
		errs.Add("groups.safety.max_membership_removals", "must not be negative")
	}
	if p := g.Safety.MaxRemovalPercent; p != nil && (*p < 0 || *p > 100) {
		errs.Add("groups.safety.max_membership_removal_percent", "want 0..100, not %g", *p)
	}
	m, err := mapper.CompileGroups(mapper.GroupExprs{Name: g.Name, Description: g.Description, Scope: g.Scope, FromRecords: g.FromRecords})
	if err != nil {
		errs.AddErr("groups", err)
	} else {
		g.Mapper = m
	}
	return errs.Err()
}

// setGroupDefaults fills the groups block's defaults.
func setGroupDefaults(j *Job) {
	g := j.Groups
	if g == nil {
		return
	}
	if g.Nested == "" {
		g.Nested = reconcile.NestedFlatten
	}
	if g.MaxDepth == 0 {
		g.MaxDepth = reconcile.DefaultGroupMaxDepth
	}
	g.Safety.SetDefaults()
	if l := g.LDAP; l != nil {
		if len(l.MemberAttribute) == 0 {
			l.MemberAttribute = []string{"member", "uniqueMember"}
		}
		if l.Anchor == "" && j.Source.LDAP != nil {
			l.Anchor = j.Source.LDAP.Anchor
		}
		if l.Filter == "" {
			l.Filter = "(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames))"
			if strings.EqualFold(l.Anchor, "objectGUID") {
				l.Filter = "(objectClass=group)"
			}
		}
	}
}

// GroupSource is the ldapsource config that reads the group entries: the
// job's source.ldap connection with the groups' base, filter and anchor,
// always a complete read.
func (j *Job) GroupSource() *ldapsource.Config {
	if j.Groups == nil || j.Groups.LDAP == nil || j.Source.LDAP == nil {
		return nil
	}
	c := *j.Source.LDAP
	l := j.Groups.LDAP
	c.BaseDN, c.Filter, c.Anchor, c.Scope = l.BaseDN, l.Filter, l.Anchor, l.Scope
	c.Attributes, c.Delta = nil, ldapsource.DeltaNone
	return &c
}
