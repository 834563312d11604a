package pingone

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/syncd/syncd/sink/pingone/pingonetest"
)

func TestFilterString(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		f    Filter
		want string
	}{
		{"eq", Eq("externalId", "abc"), `externalId eq "abc"`},
		{"sw", Sw("name", "Sales"), `name sw "Sales"`},
		{"quote and backslash", Eq("username", `a"b\c`), `username eq "a\"b\\c"`},
		{"injection stays a literal", Eq("username", `x" or username sw "`), `username eq "x\" or username sw \""`},
		{"control chars", Eq("title", "a\nb\tc\r\x00\x1f\x7f"), `title eq "a\nb\tc\r\u0000\u001f\u007f"`},
		{"unicode kept", Eq("name.given", "Zoë 名前 \u2028"), "name.given eq \"Zoë 名前 \u2028\""},
		{"and", And(Eq("a", "1"), Sw("b", "2")), `a eq "1" and b sw "2"`},
		{"or of and", Or(And(Eq("a", "1"), Eq("b", "2")), Eq("c", "3")), `(a eq "1" and b eq "2") or c eq "3"`},
		{"zero skipped", And(Filter{}, Eq("a", "1"), And()), `a eq "1"`},
		{"empty", And(), ``},
		{"custom attribute with hyphen", Eq("shirt-size", "M"), `shirt-size eq "M"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.f.Err(); err != nil {
				t.Fatal(err)
			}
			if got := tt.f.String(); got != tt.want {
				t.Errorf("String() = %s\nwant       %s", got, tt.want)
			}
		})
	}
}

func TestFilterRejects(t *testing.T) {
	t.Parallel()
	for _, f := range []Filter{
		Eq("", "x"),
		Eq("user name", "x"),
		Eq(`username eq "a" or username`, "x"),
		Eq("memberOfGroups[id", "x"),
		Eq("1abc", "x"),
		Eq("a..b", "x"),
		Eq("a.", "x"),
		Eq("username", "bad\xffutf8"),
		And(Eq("a", "1"), Eq("b c", "2")),
		Or(Eq("a", "1"), Sw("ok", "\xc3")),
	} {
		if f.Err() == nil {
			t.Errorf("filter %q built without error", f.String())
		}
		if f.String() != "" || f.IsZero() {
			t.Errorf("an invalid filter must render as nothing and not be zero: %q", f.String())
		}
	}
}

// node is the parsed form of a filter, for checking round trips.
type node struct {
	Op    string // and, or, eq, sw
	Attr  string
	Value string
	Kids  []node
}

// parseFilter is a small SCIM filter parser: or-of-and expressions,
// parentheses, attr op "json string". It is deliberately independent of
// the builder.
func parseFilter(s string) (node, error) {
	p := &parser{s: s}
	n, err := p.or()
	if err != nil {
		return node{}, err
	}
	p.space()
	if p.i != len(p.s) {
		return node{}, fmt.Errorf("trailing input at %d: %q", p.i, p.s[p.i:])
	}
	return n, nil
}

type parser struct {
	s string
	i int
}

func (p *parser) space() {
	for p.i < len(p.s) && p.s[p.i] == ' ' {
		p.i++
	}
}

func (p *parser) keyword(kw string) bool {
	p.space()
	if strings.HasPrefix(strings.ToLower(p.s[p.i:]), kw+" ") {
		p.i += len(kw)
		return true
	}
	return false
}

func (p *parser) or() (node, error) {
	return p.chain("or", p.and)
}

func (p *parser) and() (node, error) {
	return p.chain("and", p.term)
}

func (p *parser) chain(op string, next func() (node, error)) (node, error) {
	first, err := next()
	if err != nil {
		return node{}, err
	}
	kids := []node{first}
	for p.keyword(op) {
		n, err := next()
		if err != nil {
			return node{}, err
		}
		kids = append(kids, n)
	}
	if len(kids) == 1 {
		return first, nil
	}
	return node{Op: op, Kids: kids}, nil
}

func (p *parser) term() (node, error) {
	p.space()
	if p.i < len(p.s) && p.s[p.i] == '(' {
		p.i++
		n, err := p.or()
		if err != nil {
			return node{}, err
		}
		p.space()
		if p.i >= len(p.s) || p.s[p.i] != ')' {
			return node{}, fmt.Errorf("missing ) at %d", p.i)
		}
		p.i++
		return n, nil
	}
	start := p.i
	for p.i < len(p.s) && p.s[p.i] != ' ' {
		p.i++
	}
	attr := p.s[start:p.i]
	if !attrPattern.MatchString(attr) {
		return node{}, fmt.Errorf("bad attribute %q", attr)
	}
	p.space()
	if p.i+2 > len(p.s) {
		return node{}, fmt.Errorf("missing operator")
	}
	op := strings.ToLower(p.s[p.i : p.i+2])
	if op != "eq" && op != "sw" {
		return node{}, fmt.Errorf("bad operator %q", op)
	}
	p.i += 2
	p.space()
	v, err := p.str()
	if err != nil {
		return node{}, err
	}
	return node{Op: op, Attr: attr, Value: v}, nil
}

// str reads a JSON string literal.
func (p *parser) str() (string, error) {
	if p.i >= len(p.s) || p.s[p.i] != '"' {
		return "", fmt.Errorf("want a string at %d", p.i)
	}
	p.i++
	var b strings.Builder
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch {
		case c == '"':
			p.i++
			return b.String(), nil
		case c == '\\':
			if p.i+1 >= len(p.s) {
				return "", fmt.Errorf("dangling escape")
			}
			e := p.s[p.i+1]
			p.i += 2
			switch e {
			case '"', '\\', '/':
				b.WriteByte(e)
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case 't':
				b.WriteByte('\t')
			case 'u':
				if p.i+4 > len(p.s) {
					return "", fmt.Errorf("short \\u")
				}
				r, err := strconv.ParseUint(p.s[p.i:p.i+4], 16, 32)
				if err != nil {
					return "", err
				}
				b.WriteRune(rune(r))
				p.i += 4
			default:
				return "", fmt.Errorf("bad escape \\%c", e)
			}
		case c < 0x20:
			return "", fmt.Errorf("raw control character in string")
		default:
			b.WriteByte(c)
			p.i++
		}
	}
	return "", fmt.Errorf("unterminated string")
}

// sample builds the filter the fuzz target checks, and the tree it must
// parse back to.
func sample(v1, v2 string) (Filter, node) {
	f := Or(And(Eq("externalId", v1), Sw("name.given", v2)), Eq("username", v2+v1))
	want := node{Op: "or", Kids: []node{
		{Op: "and", Kids: []node{{Op: "eq", Attr: "externalId", Value: v1}, {Op: "sw", Attr: "name.given", Value: v2}}},
		{Op: "eq", Attr: "username", Value: v2 + v1},
	}}
	return f, want
}

func TestFilterRoundTrip(t *testing.T) {
	t.Parallel()
	for _, v := range []string{"", "plain", `"`, `\`, `\"`, `" or "a" eq "a`, ") or (", "a\x00b", "\u2028", "é", " and ", "\t\n"} {
		f, want := sample(v, v+"x")
		got, err := parseFilter(f.String())
		if err != nil {
			t.Fatalf("parse %s: %v", f, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("value %q: parsed %+v, want %+v", v, got, want)
		}
	}
}

// FuzzFilterValue checks that any value reaches the server with its
// meaning intact: the filter parses back to exactly the tree built.
func FuzzFilterValue(f *testing.F) {
	for _, s := range []string{"", "a", `"`, `\`, `" or username sw "`, ")(", "\x00\x1f\x7f", "名前", "\xff"} {
		f.Add(s, s+"z")
	}
	f.Fuzz(func(t *testing.T, v1, v2 string) {
		flt, want := sample(v1, v2)
		if !utf8.ValidString(v1) || !utf8.ValidString(v2) {
			if flt.Err() == nil {
				t.Fatalf("invalid UTF-8 accepted: %q %q", v1, v2)
			}
			return
		}
		if flt.Err() != nil {
			t.Fatal(flt.Err())
		}
		got, err := parseFilter(flt.String())
		if err != nil {
			t.Fatalf("parse %s: %v", flt, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("round trip changed meaning:\n%s\ngot  %+v\nwant %+v", flt, got, want)
		}
		// The emulator's parser, written apart from this package, must
		// read the same tree.
		ef, err := pingonetest.ParseFilter(flt.String())
		if err != nil {
			t.Fatalf("emulator parse %s: %v", flt, err)
		}
		if got := fromEmulator(ef); !reflect.DeepEqual(got, want) {
			t.Fatalf("emulator reads %s as\n%+v\nwant %+v", flt, got, want)
		}
	})
}

// fromEmulator converts the emulator's binary filter tree to node,
// flattening chains of one operator.
func fromEmulator(f pingonetest.Filter) node {
	switch f := f.(type) {
	case *pingonetest.Comparison:
		v, _ := f.Value.(string)
		return node{Op: strings.ToLower(f.Op), Attr: f.Attr, Value: v}
	case *pingonetest.Logical:
		op := strings.ToLower(f.Op)
		var kids []node
		for _, side := range []pingonetest.Filter{f.Left, f.Right} {
			n := fromEmulator(side)
			if l, ok := side.(*pingonetest.Logical); ok && strings.ToLower(l.Op) == op {
				kids = append(kids, n.Kids...)
			} else {
				kids = append(kids, n)
			}
		}
		return node{Op: op, Kids: kids}
	}
	return node{Op: fmt.Sprintf("unknown %T", f)}
}
