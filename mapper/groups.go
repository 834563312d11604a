package mapper

import (
	"fmt"
	"reflect"
	"sort"
	"strings"

	"github.com/syncd/syncd/internal/fielderr"
	"github.com/syncd/syncd/sources"
)

// GroupExprs are the expressions of a job's groups block (paths relative
// to it): how a directory group entry becomes a PingOne group, or how the
// group names are read from each user record.
type GroupExprs struct {
	// Name computes a group entry's PingOne name. Default: cn.
	Name string
	// Description optionally computes its description.
	Description string
	// Scope optionally says which group entries are managed.
	Scope string
	// FromRecords, instead of group entries, lists on each user record the
	// names of the groups the user belongs to: a list expression
	// (split(groups, ";"), values("memberOf")) or a plain attribute name,
	// all of whose values are group names.
	FromRecords string
}

// GroupMapper is compiled GroupExprs. It is safe for concurrent use.
type GroupMapper struct {
	name, desc, scope, fromRecords *program
	attrs                          []string // nil: cannot tell
	pool                           Mapper   // borrows the runner pool
}

// GroupResult is one group entry mapped.
type GroupResult struct {
	Name, Description string
	InScope           bool
}

// maxGroupName bounds a group name; PingOne documents none [U] (API-NOTES
// §5a), so this is a sanity bound that rejects garbage with a reason.
const maxGroupName = 256

// CompileGroups compiles e. Every problem is reported at once, each with
// its path relative to the groups block ("name: ...").
func CompileGroups(e GroupExprs) (*GroupMapper, error) {
	var errs fielderr.List
	c := newCompiler(&regexCache{})
	g := &GroupMapper{}
	g.pool.pool.New = func() any { return &runner{} }
	attrs := map[string]bool{}
	dynamic := false
	compile := func(path, src string, want reflect.Kind) *program {
		if src == "" {
			return nil
		}
		p, err := c.compile(src, want)
		if err != nil {
			errs.Add(path, "%s", exprErrorMessage(src, err))
			return nil
		}
		for _, a := range p.attrs {
			attrs[a] = true
		}
		dynamic = dynamic || p.dynamic
		return p
	}
	if e.FromRecords != "" {
		// A list (split(...), values(...)) or a single string.
		p, err := c.compile(e.FromRecords, reflect.Slice)
		if err != nil {
			p = compile("from_records", e.FromRecords, reflect.String)
		} else {
			for _, a := range p.attrs {
				attrs[a] = true
			}
			dynamic = dynamic || p.dynamic
		}
		g.fromRecords = p
	} else {
		name := e.Name
		if name == "" {
			name = "cn"
		}
		g.name = compile("name", name, reflect.String)
		g.desc = compile("description", e.Description, reflect.String)
		g.scope = compile("scope", e.Scope, reflect.Bool)
	}
	if err := errs.Err(); err != nil {
		return nil, err
	}
	if !dynamic {
		g.attrs = make([]string, 0, len(attrs))
		for a := range attrs {
			g.attrs = append(g.attrs, a)
		}
		sort.Strings(g.attrs)
	}
	return g, nil
}

// FromRecords reports whether group names come from the user records.
func (g *GroupMapper) FromRecords() bool { return g.fromRecords != nil }

// SourceAttributes returns the lower-case source attributes the
// expressions read (nil: they compute names at run time, read everything).
func (g *GroupMapper) SourceAttributes() []string {
	if g.attrs == nil {
		return nil
	}
	return append([]string{}, g.attrs...)
}

func (g *GroupMapper) runner(rec sources.Record) (*runner, func()) {
	r := g.pool.pool.Get().(*runner)
	r.env.rec = recordView{anchor: rec.Anchor, dn: rec.DN, attrs: rec.Attrs}
	return r, func() { r.env.rec = recordView{}; g.pool.pool.Put(r) }
}

// MapGroup maps a group entry: its PingOne name and description, and
// whether the groups block's scope keeps it. A name that is empty or
// unusable is an error naming why.
func (g *GroupMapper) MapGroup(rec sources.Record) (GroupResult, error) {
	if g.name == nil {
		return GroupResult{}, fmt.Errorf("groups come from the user records (from_records), not from group entries")
	}
	r, done := g.runner(rec)
	defer done()
	out := GroupResult{InScope: true}
	if g.scope != nil {
		in, err := g.pool.evalBool(r, g.scope, rec, "groups.scope", nil)
		if err != nil {
			return out, fmt.Errorf("groups.scope: %w", err)
		}
		if out.InScope = in; !in {
			return out, nil
		}
	}
	name, err := g.pool.evalString(r, g.name, rec, "groups.name", nil)
	if err != nil {
		return out, fmt.Errorf("groups.name: %w", err)
	}
	if out.Name, err = checkGroupName(name); err != nil {
		return out, fmt.Errorf("groups.name: %w", err)
	}
	if g.desc != nil {
		if out.Description, err = g.pool.evalString(r, g.desc, rec, "groups.description", nil); err != nil {
			return out, fmt.Errorf("groups.description: %w", err)
		}
		out.Description = nfc(strings.TrimSpace(out.Description))
	}
	return out, nil
}

func checkGroupName(name string) (string, error) {
	name = nfc(strings.TrimSpace(name))
	switch {
	case name == "":
		return "", fmt.Errorf("empty group name")
	case len([]rune(name)) > maxGroupName:
		return "", fmt.Errorf("group name %s is longer than %d characters", quoteValue(name), maxGroupName)
	case strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return "", fmt.Errorf("group name %s holds a control character", quoteValue(name))
	}
	return name, nil
}

// RecordGroups evaluates from_records for a user record: the names of
// the groups the user belongs to, trimmed, de-duplicated, in order. Empty
// names are dropped (split("", ";") gives [""]: an empty cell is no
// group); an unusable name is an error naming it.
func (g *GroupMapper) RecordGroups(rec sources.Record) ([]string, error) {
	if g.fromRecords == nil {
		return nil, nil
	}
	p := g.fromRecords
	var raw []string
	if p.fast == fastAttr {
		// A plain attribute name: every value is a group.
		raw = rec.Attrs[p.name]
	} else {
		r, done := g.runner(rec)
		defer done()
		v, err := g.pool.eval(r, p)
		if err != nil {
			return nil, fmt.Errorf("groups.from_records: expression %s failed: %s", quoteValue(p.src), runtimeMessage(err))
		}
		switch v := v.(type) {
		case nil:
		case string:
			raw = []string{v}
		case []string:
			raw = v
		case []any:
			for _, x := range v {
				s, ok := x.(string)
				if !ok {
					return nil, fmt.Errorf("groups.from_records: expression %s produced a list holding %T, want strings", quoteValue(p.src), x)
				}
				raw = append(raw, s)
			}
		default:
			return nil, fmt.Errorf("groups.from_records: expression %s produced %T, want a list of group names", quoteValue(p.src), v)
		}
	}
	out := make([]string, 0, len(raw))
	seen := make(map[string]bool, len(raw))
	for _, s := range raw {
		if strings.TrimSpace(s) == "" {
			continue
		}
		name, err := checkGroupName(s)
		if err != nil {
			return nil, fmt.Errorf("groups.from_records: %w", err)
		}
		if k := strings.ToLower(name); !seen[k] {
			seen[k] = true
			out = append(out, name)
		}
	}
	return out, nil
}
