package pingonetest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Filter is a parsed list filter (API-NOTES §3b): SCIM-style comparisons
// "attr op value" combined with and/or and parentheses, and value filters
// such as memberOfGroups[id eq "x"].
//
// Values are compared case-insensitively (Unicode simple folding): §3b marks
// the real service's behaviour unknown [U], SCIM's default for string
// attributes is caseExact=false, and usernames are unique
// case-insensitively here, so a case-insensitive eq can never match two
// users by username.
type Filter interface {
	// Match evaluates the filter; get returns an attribute's value (string,
	// bool, or []string for multi-valued attributes) and whether it is set.
	Match(get func(attr string) (any, bool)) bool
	// String renders the filter in canonical form; parsing it again gives an
	// equal filter.
	String() string
}

// Comparison is "Attr Op Value". Value is a string, a bool, or nil (for pr).
type Comparison struct {
	Attr, Op string
	Value    any
}

// Logical is "Left Op Right" with Op "and" or "or".
type Logical struct {
	Op          string
	Left, Right Filter
}

// ValuePath is "Attr[Inner]", a filter over a multi-valued complex
// attribute's members (memberOfGroups[id eq "x"]).
type ValuePath struct {
	Attr  string
	Inner Filter
}

// FilterError is a filter syntax error at byte offset Pos.
type FilterError struct {
	Pos int
	Msg string
}

func (e *FilterError) Error() string { return fmt.Sprintf("filter: at offset %d: %s", e.Pos, e.Msg) }

const maxFilterDepth = 32

// ParseFilter parses a filter expression. Keywords and operators are
// case-insensitive (TF sends AND/OR, §3b); attribute names are
// case-sensitive, as in request bodies (§4). String values are JSON
// strings (so \" and \\ escape); true and false are the only bare values.
func ParseFilter(s string) (Filter, error) {
	if !utf8.ValidString(s) {
		return nil, &FilterError{0, "not valid UTF-8"}
	}
	toks, err := lexFilter(s)
	if err != nil {
		return nil, err
	}
	p := &filterParser{toks: toks, src: s}
	f, err := p.or(0)
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tEOF {
		return nil, &FilterError{t.pos, fmt.Sprintf("unexpected %s", t)}
	}
	return f, nil
}

type tokKind int

const (
	tEOF tokKind = iota
	tWord
	tString
	tLParen
	tRParen
	tLBrack
	tRBrack
)

type token struct {
	kind tokKind
	text string // word text or decoded string
	pos  int
}

func (t token) String() string {
	switch t.kind {
	case tEOF:
		return "end of filter"
	case tString:
		return strconv.Quote(t.text)
	default:
		return strconv.Quote(t.text)
	}
}

func isWordByte(c byte) bool {
	return c == '_' || c == '.' || c == '-' || c == '$' || c == ':' ||
		(c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
}

func lexFilter(s string) ([]token, error) {
	var toks []token
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(':
			toks = append(toks, token{tLParen, "(", i})
			i++
		case c == ')':
			toks = append(toks, token{tRParen, ")", i})
			i++
		case c == '[':
			toks = append(toks, token{tLBrack, "[", i})
			i++
		case c == ']':
			toks = append(toks, token{tRBrack, "]", i})
			i++
		case c == '"':
			j := i + 1
			for ; j < len(s) && s[j] != '"'; j++ {
				if s[j] == '\\' {
					j++
				}
			}
			if j >= len(s) {
				return nil, &FilterError{i, "unterminated string"}
			}
			var v string
			if err := json.Unmarshal([]byte(s[i:j+1]), &v); err != nil {
				return nil, &FilterError{i, "invalid string escape"}
			}
			toks = append(toks, token{tString, v, i})
			i = j + 1
		case isWordByte(c):
			j := i
			for j < len(s) && isWordByte(s[j]) {
				j++
			}
			toks = append(toks, token{tWord, s[i:j], i})
			i = j
		default:
			r, _ := utf8.DecodeRuneInString(s[i:])
			return nil, &FilterError{i, fmt.Sprintf("unexpected character %q", r)}
		}
	}
	return append(toks, token{tEOF, "", len(s)}), nil
}

type filterParser struct {
	toks []token
	i    int
	src  string
}

func (p *filterParser) peek() token { return p.toks[p.i] }
func (p *filterParser) next() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}

func (p *filterParser) isKeyword(word string) bool {
	t := p.peek()
	return t.kind == tWord && strings.EqualFold(t.text, word)
}

// or := and { "or" and }
func (p *filterParser) or(depth int) (Filter, error) {
	left, err := p.and(depth)
	if err != nil {
		return nil, err
	}
	for p.isKeyword("or") {
		p.next()
		right, err := p.and(depth)
		if err != nil {
			return nil, err
		}
		left = &Logical{Op: "or", Left: left, Right: right}
	}
	return left, nil
}

// and := atom { "and" atom }   (and binds tighter than or, RFC 7644)
func (p *filterParser) and(depth int) (Filter, error) {
	left, err := p.atom(depth)
	if err != nil {
		return nil, err
	}
	for p.isKeyword("and") {
		p.next()
		right, err := p.atom(depth)
		if err != nil {
			return nil, err
		}
		left = &Logical{Op: "and", Left: left, Right: right}
	}
	return left, nil
}

var filterOps = map[string]bool{"eq": true, "ne": true, "co": true, "sw": true, "ew": true, "gt": true, "ge": true, "lt": true, "le": true, "pr": true}

// atom := "(" or ")" | attr "[" or "]" | attr "pr" | attr op value
func (p *filterParser) atom(depth int) (Filter, error) {
	if depth > maxFilterDepth {
		return nil, &FilterError{p.peek().pos, "filter nested too deeply"}
	}
	t := p.next()
	switch t.kind {
	case tLParen:
		f, err := p.or(depth + 1)
		if err != nil {
			return nil, err
		}
		if c := p.next(); c.kind != tRParen {
			return nil, &FilterError{c.pos, fmt.Sprintf("expected \")\", found %s", c)}
		}
		return f, nil
	case tWord:
	default:
		return nil, &FilterError{t.pos, fmt.Sprintf("expected an attribute name, found %s", t)}
	}
	switch strings.ToLower(t.text) {
	case "and", "or", "not", "true", "false", "null":
		return nil, &FilterError{t.pos, fmt.Sprintf("expected an attribute name, found %s", t)}
	}
	if !validAttrPath(t.text) {
		return nil, &FilterError{t.pos, fmt.Sprintf("invalid attribute name %q", t.text)}
	}
	attr := t.text
	if p.peek().kind == tLBrack {
		p.next()
		inner, err := p.or(depth + 1)
		if err != nil {
			return nil, err
		}
		if c := p.next(); c.kind != tRBrack {
			return nil, &FilterError{c.pos, fmt.Sprintf("expected \"]\", found %s", c)}
		}
		return &ValuePath{Attr: attr, Inner: inner}, nil
	}
	ot := p.next()
	op := strings.ToLower(ot.text)
	if ot.kind != tWord || !filterOps[op] {
		return nil, &FilterError{ot.pos, fmt.Sprintf("expected an operator after %q, found %s", attr, ot)}
	}
	if op == "pr" {
		return &Comparison{Attr: attr, Op: op}, nil
	}
	vt := p.next()
	switch {
	case vt.kind == tString:
		return &Comparison{Attr: attr, Op: op, Value: vt.text}, nil
	case vt.kind == tWord && strings.EqualFold(vt.text, "true"):
		return &Comparison{Attr: attr, Op: op, Value: true}, nil
	case vt.kind == tWord && strings.EqualFold(vt.text, "false"):
		return &Comparison{Attr: attr, Op: op, Value: false}, nil
	}
	return nil, &FilterError{vt.pos, fmt.Sprintf("expected a quoted string, true or false, found %s", vt)}
}

// validAttrPath: dot-separated names, each starting with a letter.
func validAttrPath(s string) bool {
	for _, part := range strings.Split(s, ".") {
		if part == "" {
			return false
		}
		c := part[0]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
		for i := 1; i < len(part); i++ {
			if !isWordByte(part[i]) || part[i] == '.' {
				return false
			}
		}
	}
	return true
}

func quoteFilterString(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return strings.TrimSuffix(b.String(), "\n")
}

// String implements Filter.
func (c *Comparison) String() string {
	switch v := c.Value.(type) {
	case nil:
		return c.Attr + " " + c.Op
	case bool:
		return c.Attr + " " + c.Op + " " + strconv.FormatBool(v)
	case string:
		return c.Attr + " " + c.Op + " " + quoteFilterString(v)
	}
	return c.Attr + " " + c.Op + " ?"
}

// String implements Filter. Parentheses appear only where the tree needs
// them (an "or" under an "and", a right-nested chain of one operator), so
// the canonical form nests no deeper than any text that parses to it.
func (l *Logical) String() string {
	return l.side(l.Left, true) + " " + l.Op + " " + l.side(l.Right, false)
}

func (l *Logical) side(f Filter, left bool) string {
	c, ok := f.(*Logical)
	if !ok || (c.Op == l.Op && left) || (c.Op == "and" && l.Op == "or") {
		return f.String()
	}
	return "(" + c.String() + ")"
}

// String implements Filter.
func (v *ValuePath) String() string { return v.Attr + "[" + v.Inner.String() + "]" }

// Match implements Filter.
func (c *Comparison) Match(get func(string) (any, bool)) bool {
	got, ok := get(c.Attr)
	if c.Op == "pr" {
		return ok && got != nil && got != ""
	}
	if !ok {
		return false
	}
	switch want := c.Value.(type) {
	case bool:
		b, isBool := got.(bool)
		return isBool && c.Op == "eq" && b == want
	case string:
		s, isString := got.(string)
		if !isString {
			return false
		}
		ls, lw := strings.ToLower(s), strings.ToLower(want)
		switch c.Op {
		case "eq":
			return strings.EqualFold(s, want)
		case "sw":
			return strings.HasPrefix(ls, lw)
		case "ew":
			return strings.HasSuffix(ls, lw)
		case "co":
			return strings.Contains(ls, lw)
		}
	}
	return false
}

// Match implements Filter.
func (l *Logical) Match(get func(string) (any, bool)) bool {
	if l.Op == "and" {
		return l.Left.Match(get) && l.Right.Match(get)
	}
	return l.Left.Match(get) || l.Right.Match(get)
}

// Match implements Filter: true when any member matches Inner. Members are
// ids (get returns []string); Inner sees them as the sub-attribute "id".
func (v *ValuePath) Match(get func(string) (any, bool)) bool {
	got, ok := get(v.Attr)
	if !ok {
		return false
	}
	ids, _ := got.([]string)
	for _, id := range ids {
		if v.Inner.Match(func(attr string) (any, bool) {
			if attr == "id" {
				return id, true
			}
			return nil, false
		}) {
			return true
		}
	}
	return false
}

// filterAttr says which operators an attribute supports and whether its
// values are booleans.
type filterAttr struct {
	ops       map[string]bool
	boolean   bool
	valuePath bool // a sub-attribute usable only as attr[sub op value]
}

func opsOf(ops ...string) map[string]bool {
	m := make(map[string]bool, len(ops))
	for _, o := range ops {
		m[o] = true
	}
	return m
}

// unsupportedFilter is a filter that parses but uses an attribute or
// operator the endpoint does not support.
type unsupportedFilter struct {
	msg       string
	supported []string
}

func (u *unsupportedFilter) Error() string { return u.msg }

// checkFilter verifies every comparison against attrs (path -> support).
// Value paths are checked as "attr.sub".
func checkFilter(f Filter, attrs map[string]filterAttr) error {
	return checkFilterPrefix(f, attrs, "")
}

func checkFilterPrefix(f Filter, attrs map[string]filterAttr, prefix string) error {
	switch n := f.(type) {
	case *Logical:
		if err := checkFilterPrefix(n.Left, attrs, prefix); err != nil {
			return err
		}
		return checkFilterPrefix(n.Right, attrs, prefix)
	case *ValuePath:
		if prefix != "" {
			return &unsupportedFilter{msg: "nested value filters are not supported"}
		}
		return checkFilterPrefix(n.Inner, attrs, n.Attr+".")
	case *Comparison:
		path := prefix + n.Attr
		a, ok := attrs[path]
		// memberOfGroups.id only inside memberOfGroups[...]; plain attributes
		// never inside brackets.
		if !ok || a.valuePath != (prefix != "") {
			return &unsupportedFilter{msg: fmt.Sprintf("attribute %q is not supported in filters", path)}
		}
		if !a.ops[n.Op] {
			var sup []string
			for _, o := range []string{"eq", "sw", "ew", "co"} {
				if a.ops[o] {
					sup = append(sup, o)
				}
			}
			return &unsupportedFilter{msg: fmt.Sprintf("operator %q is not supported for attribute %q", n.Op, path), supported: sup}
		}
		_, isBool := n.Value.(bool)
		if a.boolean != isBool {
			if a.boolean {
				return &unsupportedFilter{msg: fmt.Sprintf("attribute %q takes true or false", path)}
			}
			return &unsupportedFilter{msg: fmt.Sprintf("attribute %q takes a quoted string", path)}
		}
		return nil
	}
	return &unsupportedFilter{msg: "unknown filter node"}
}

// invalidFilter is the 400 answer for a bad filter (§3b: detail code
// INVALID_FILTER; innerError supportedOperators when known [I]).
func invalidFilter(err error) *response {
	d := detail{Code: "INVALID_FILTER", Target: "filter", Message: err.Error()}
	if u, ok := err.(*unsupportedFilter); ok && len(u.supported) > 0 {
		d.InnerError = map[string]any{"supportedOperators": u.supported}
	}
	resp := invalidData(d)
	resp.status = http.StatusBadRequest
	return resp
}
