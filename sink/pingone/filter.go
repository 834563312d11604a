package pingone

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

// Filter is a SCIM-style filter expression for PingOne list endpoints
// (API-NOTES §3b), built only through Eq, Sw, And and Or so that every
// value is escaped as a SCIM string literal. The zero Filter matches
// everything. A Filter built from an unsafe attribute name or a value that
// is not valid UTF-8 carries an error (Err) and is refused by the client.
type Filter struct {
	expr string
	// compound is true for and/or expressions, which need parentheses when
	// nested.
	compound bool
	err      error
}

// attrPattern is what an attribute path may look like: dot-separated
// names starting with a letter, e.g. name.given, externalId, shirt-size.
var attrPattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]{0,127}(\.[A-Za-z][A-Za-z0-9_-]{0,127}){0,3}$`)

// Eq matches users whose attr equals value.
func Eq(attr, value string) Filter { return compare(attr, "eq", value) }

// Sw matches users whose attr starts with value.
func Sw(attr, value string) Filter { return compare(attr, "sw", value) }

func compare(attr, op, value string) Filter {
	if !attrPattern.MatchString(attr) {
		return Filter{err: fmt.Errorf("filter: unsafe attribute name %q", attr)}
	}
	if !utf8.ValidString(value) {
		return Filter{err: fmt.Errorf("filter: %s value is not valid UTF-8", attr)}
	}
	return Filter{expr: attr + " " + op + " " + Quote(value)}
}

// And matches when every filter matches. Zero filters are skipped; And()
// of nothing is the zero Filter.
func And(fs ...Filter) Filter { return combine("and", fs) }

// Or matches when any filter matches. Zero filters are skipped.
func Or(fs ...Filter) Filter { return combine("or", fs) }

func combine(op string, fs []Filter) Filter {
	var parts []string
	var last Filter
	for _, f := range fs {
		if f.err != nil {
			return Filter{err: f.err}
		}
		if f.expr == "" {
			continue
		}
		last = f
		if f.compound {
			parts = append(parts, "("+f.expr+")")
		} else {
			parts = append(parts, f.expr)
		}
	}
	switch len(parts) {
	case 0:
		return Filter{}
	case 1:
		return last
	}
	return Filter{expr: strings.Join(parts, " "+op+" "), compound: true}
}

// String returns the filter expression ("" for the zero Filter, and for
// a Filter with an error).
func (f Filter) String() string { return f.expr }

// Err returns why the filter could not be built, or nil.
func (f Filter) Err() error { return f.err }

// IsZero reports whether f matches everything.
func (f Filter) IsZero() bool { return f.expr == "" && f.err == nil }

// Quote returns s as a SCIM (JSON) string literal: quotes and backslashes
// are escaped, control characters become \n, \r, \t or \u00XX. Every other
// character, including non-ASCII, is kept as is.
func Quote(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
