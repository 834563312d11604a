package ldifsource

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/go-ldap/ldap/v3"
)

// Why this file exists: `syncd map` over a full LDIF export must see the
// entries the live job would read, no more: groups, OUs and service
// accounts are not the job's people and not rejects. A live read leaves
// that to the server (base DN, scope, filter); offline, Selector applies
// the same three to each entry's attribute values.

// Filter is an LDAP search filter (RFC 4515) compiled for matching entries
// offline: equality, presence, substrings, and/or/not; >= and <= (numeric
// when both sides are integers, as for AD's integer attributes; a server
// whose attribute has no ordering rule matches nothing); ~= as equality; Active Directory's
// bitwise matching rules (1.2.840.113556.1.4.803 and .804). Values are
// compared case-insensitively, as the directory attributes users are
// selected by are (objectClass, uid, mail, department, ...). A filter on
// an attribute matches its tagged subtypes too (givenName matches
// givenName;lang-de), and objectClass matches the standard superclasses
// of the classes an entry lists (person matches an inetOrgPerson).
type Filter struct {
	root node
}

type node struct {
	op       uint64 // ldap.Filter* tag
	attr     string // lower case
	value    string
	subs     []sub // substrings
	rule     string
	children []node
}

type sub struct {
	tag   uint64 // ldap.FilterSubstringsInitial / Any / Final
	value string
}

// Matching rules of Active Directory's bitwise filters.
const (
	ruleBitAnd = "1.2.840.113556.1.4.803"
	ruleBitOr  = "1.2.840.113556.1.4.804"
)

// maxDepth bounds nesting, so a stranger's filter cannot exhaust the stack.
const maxDepth = 64

// CompileFilter parses an LDAP filter for Match. It refuses what it cannot
// evaluate faithfully offline (other extensible matching rules, :dn).
func CompileFilter(s string) (*Filter, error) {
	p, err := ldap.CompileFilter(s)
	if err != nil {
		return nil, fmt.Errorf("filter %q: %w", s, err)
	}
	n, err := convert(p, 0)
	if err != nil {
		return nil, fmt.Errorf("filter %q: %w", s, err)
	}
	return &Filter{root: n}, nil
}

func str(p *ber.Packet) string { return ber.DecodeString(p.Data.Bytes()) }

func convert(p *ber.Packet, depth int) (node, error) {
	if depth > maxDepth {
		return node{}, fmt.Errorf("nested deeper than %d", maxDepth)
	}
	n := node{op: uint64(p.Tag)}
	switch n.op {
	case ldap.FilterAnd, ldap.FilterOr, ldap.FilterNot:
		for _, c := range p.Children {
			cn, err := convert(c, depth+1)
			if err != nil {
				return node{}, err
			}
			n.children = append(n.children, cn)
		}
		if n.op == ldap.FilterNot && len(n.children) != 1 {
			return node{}, errors.New("! takes one filter")
		}
	case ldap.FilterEqualityMatch, ldap.FilterGreaterOrEqual, ldap.FilterLessOrEqual, ldap.FilterApproxMatch:
		if len(p.Children) != 2 {
			return node{}, errors.New("malformed comparison")
		}
		n.attr, n.value = strings.ToLower(str(p.Children[0])), str(p.Children[1])
	case ldap.FilterPresent:
		n.attr = strings.ToLower(str(p))
	case ldap.FilterSubstrings:
		if len(p.Children) != 2 {
			return node{}, errors.New("malformed substring filter")
		}
		n.attr = strings.ToLower(str(p.Children[0]))
		for _, c := range p.Children[1].Children {
			n.subs = append(n.subs, sub{tag: uint64(c.Tag), value: strings.ToLower(str(c))})
		}
	case ldap.FilterExtensibleMatch:
		for _, c := range p.Children {
			switch uint64(c.Tag) {
			case ldap.MatchingRuleAssertionMatchingRule:
				n.rule = str(c)
			case ldap.MatchingRuleAssertionType:
				n.attr = strings.ToLower(str(c))
			case ldap.MatchingRuleAssertionMatchValue:
				n.value = str(c)
			case ldap.MatchingRuleAssertionDNAttributes:
				if b, _ := c.Value.(bool); b {
					return node{}, errors.New(":dn matching is not evaluated offline")
				}
			}
		}
		if n.rule != ruleBitAnd && n.rule != ruleBitOr || n.attr == "" {
			return node{}, fmt.Errorf("extensible match %q is not evaluated offline (only AD's bitwise rules %s and %s)", n.rule, ruleBitAnd, ruleBitOr)
		}
		if _, err := strconv.ParseUint(n.value, 10, 64); err != nil {
			return node{}, fmt.Errorf("bitwise match on %s: %q is not a number", n.attr, n.value)
		}
	default:
		return node{}, fmt.Errorf("filter choice %d not supported", n.op)
	}
	return n, nil
}

// Match reports whether an entry with the given attributes (lower case
// names, as sources.Record holds them) matches the filter.
func (f *Filter) Match(attrs map[string][]string) bool {
	return f.root.match(attrs)
}

func (n *node) match(attrs map[string][]string) bool {
	switch n.op {
	case ldap.FilterAnd:
		for i := range n.children {
			if !n.children[i].match(attrs) {
				return false
			}
		}
		return true
	case ldap.FilterOr:
		for i := range n.children {
			if n.children[i].match(attrs) {
				return true
			}
		}
		return false
	case ldap.FilterNot:
		return !n.children[0].match(attrs)
	}
	found := false
	values(n.attr, attrs, func(v string) bool {
		found = n.test(v)
		return !found
	})
	return found
}

// MayMatch reports whether an entry could match the filter when only the
// values of the attributes known names (lower case) are certain: a
// comparison on any other attribute may go either way. It is Match under
// three-valued (Kleene) logic, answering false only for a definite no. A
// watch uses it to ask whether a changed entry could be, or could have
// been, one the filter selects: with known naming objectClass, a user
// whose department changed may have left (department=Sales), a group
// never was a (objectClass=user).
func (f *Filter) MayMatch(attrs map[string][]string, known func(attr string) bool) bool {
	return f.root.eval(attrs, known) != no
}

// A three-valued truth (Kleene): no, maybe, yes.
type truth int8

const (
	no truth = iota
	maybe
	yes
)

func (n *node) eval(attrs map[string][]string, known func(string) bool) truth {
	switch n.op {
	case ldap.FilterAnd:
		t := yes
		for i := range n.children {
			t = min(t, n.children[i].eval(attrs, known))
		}
		return t
	case ldap.FilterOr:
		t := no
		for i := range n.children {
			t = max(t, n.children[i].eval(attrs, known))
		}
		return t
	case ldap.FilterNot:
		return yes - n.children[0].eval(attrs, known)
	}
	if !known(n.attr) {
		return maybe
	}
	if n.match(attrs) {
		return yes
	}
	return no
}

// test compares one value of the attribute with the assertion.
func (n *node) test(v string) bool {
	switch n.op {
	case ldap.FilterPresent:
		return true
	case ldap.FilterEqualityMatch, ldap.FilterApproxMatch:
		if strings.EqualFold(v, n.value) {
			return true
		}
		// AD accepts objectCategory=person for the DN CN=Person,CN=Schema,...
		return n.attr == "objectcategory" && !strings.Contains(n.value, "=") && strings.EqualFold(firstRDNValue(v), n.value)
	case ldap.FilterGreaterOrEqual, ldap.FilterLessOrEqual:
		c := compare(v, n.value)
		if n.op == ldap.FilterGreaterOrEqual {
			return c >= 0
		}
		return c <= 0
	case ldap.FilterSubstrings:
		return substrings(strings.ToLower(v), n.subs)
	case ldap.FilterExtensibleMatch:
		a, err1 := strconv.ParseInt(v, 10, 64) // AD writes flags as signed 32-bit
		b, err2 := strconv.ParseUint(n.value, 10, 64)
		if err1 != nil || err2 != nil {
			return false
		}
		if n.rule == ruleBitAnd {
			return uint64(a)&b == b
		}
		return uint64(a)&b != 0
	}
	return false
}

// compare orders two values: as integers when both are, else as
// case-folded strings.
func compare(a, b string) int {
	x, err1 := strconv.ParseInt(strings.TrimSpace(a), 10, 64)
	y, err2 := strconv.ParseInt(strings.TrimSpace(b), 10, 64)
	if err1 == nil && err2 == nil {
		switch {
		case x < y:
			return -1
		case x > y:
			return 1
		}
		return 0
	}
	return strings.Compare(strings.ToLower(a), strings.ToLower(b))
}

// substrings matches v (lower case) against initial*any*...*final.
func substrings(v string, subs []sub) bool {
	for i, s := range subs {
		switch s.tag {
		case ldap.FilterSubstringsInitial:
			if !strings.HasPrefix(v, s.value) {
				return false
			}
			v = v[len(s.value):]
		case ldap.FilterSubstringsFinal:
			if i != len(subs)-1 || !strings.HasSuffix(v, s.value) {
				return false
			}
			v = ""
		default:
			k := strings.Index(v, s.value)
			if k < 0 {
				return false
			}
			v = v[k+len(s.value):]
		}
	}
	return true
}

// values calls yield for every value of attr in the entry: the attribute
// itself and its tagged subtypes (attr;option), and for objectClass the
// superclasses of the listed classes. It stops when yield returns false.
func values(attr string, attrs map[string][]string, yield func(string) bool) {
	seen := false
	for k, vs := range attrs {
		if k != attr && !(strings.HasPrefix(k, attr) && len(k) > len(attr) && k[len(attr)] == ';') {
			continue
		}
		for _, v := range vs {
			seen = true
			if !yield(v) {
				return
			}
		}
		if attr == "objectclass" {
			for _, v := range vs {
				for c := superclasses[strings.ToLower(v)]; c != ""; c = superclasses[c] {
					if !yield(c) {
						return
					}
				}
			}
		}
	}
	if !seen && attr == "objectclass" {
		yield("top")
	}
}

// superclasses of the structural classes user entries have (RFC 4519,
// RFC 2798, Active Directory's schema): a server matches
// (objectClass=person) for an inetOrgPerson through them.
var superclasses = map[string]string{
	"inetorgperson":        "organizationalperson",
	"organizationalperson": "person",
	"person":               "top",
	"user":                 "organizationalperson",
	"computer":             "user",
	"posixaccount":         "top",
	"shadowaccount":        "top",
	"groupofnames":         "top",
	"groupofuniquenames":   "top",
	"group":                "top",
	"organizationalunit":   "top",
}

// firstRDNValue returns the value of a DN's first RDN ("Person" for
// CN=Person,CN=Schema,...), or "" when it is not a DN.
func firstRDNValue(dn string) string {
	d, err := ldap.ParseDN(dn)
	if err != nil || len(d.RDNs) == 0 || len(d.RDNs[0].Attributes) == 0 {
		return ""
	}
	return d.RDNs[0].Attributes[0].Value
}
