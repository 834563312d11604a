package mapper

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/expr-lang/expr"
	"github.com/go-ldap/ldap/v3"
	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

// evalEnv is what an expression runs against. Expressions never see it
// directly: the compiler rewrites attribute names, anchor and dn into calls
// of the hidden functions below with $env as first argument, so one
// *evalEnv per evaluation is all the VM needs (no map per record).
type evalEnv struct {
	rec recordView
	// today is the evaluation's calendar date (dates.go), set only when
	// the mapping reads the clock.
	today time.Time
}

// recordView is the part of sources.Record expressions read.
type recordView struct {
	anchor string
	dn     string
	attrs  map[string][]string
}

// Hidden functions (the rewrite targets). Their names cannot be typed by
// users: the rewrite rejects identifiers starting with "__".
const (
	fnAttr   = "__attr"
	fnValues = "__values"
	fnAnchor = "__anchor"
	fnDN     = "__dn"
	// __contains($env, name, v): v is one of the values of attribute name.
	fnContains = "__contains"
)

// regexCache compiles each regexReplace pattern once per Mapper. Patterns
// given as literals are compiled (and checked) at Compile time; computed
// patterns are compiled on first use and cached up to maxCachedRegexps, so
// a pattern computed from record data cannot grow memory without bound.
type regexCache struct {
	m sync.Map // pattern -> *regexp.Regexp
	n atomic.Int64
}

const maxCachedRegexps = 1024

func (c *regexCache) get(pattern string) (*regexp.Regexp, error) {
	if re, ok := c.m.Load(pattern); ok {
		return re.(*regexp.Regexp), nil
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, fmt.Errorf("regexReplace: invalid pattern %q: %w", pattern, err)
	}
	if c.n.Add(1) <= maxCachedRegexps {
		c.m.Store(pattern, re)
	}
	return re, nil
}

// strArg returns argument i as a string: nil counts as "".
func strArg(fn string, args []any, i int) (string, error) {
	switch v := args[i].(type) {
	case string:
		return v, nil
	case nil:
		return "", nil
	default:
		return "", fmt.Errorf("%s: argument %d is %T, want a string", fn, i+1, v)
	}
}

func intArg(fn string, args []any, i int) (int, error) {
	switch v := args[i].(type) {
	case int:
		return v, nil
	case int64:
		return int(v), nil
	case float64:
		return int(v), nil
	default:
		return 0, fmt.Errorf("%s: argument %d is %T, want a number", fn, i+1, v)
	}
}

func envArg(args []any) (*evalEnv, error) {
	if len(args) > 0 {
		if e, ok := args[0].(*evalEnv); ok {
			return e, nil
		}
	}
	return nil, fmt.Errorf("internal: expression evaluated without its record")
}

// function is one function available to expressions.
type function struct {
	name  string
	fn    func(args ...any) (any, error)
	types []any
	doc   string // one line for the reference in doc.go (TestFunctionsDocumented)
}

// functions returns the functions of one Mapper (the regex cache is its
// own). Shadowed expr builtins: values (expr's map values) is replaced by
// the attribute function of the same name.
func functions(rc *regexCache) []function {
	return append(baseFunctions(rc), clockFunctions()...)
}

func baseFunctions(rc *regexCache) []function {
	return []function{
		// hidden: the rewrite targets.
		{name: fnAttr, types: []any{new(func(any, string) string)}, fn: func(args ...any) (any, error) {
			e, err := envArg(args)
			if err != nil {
				return nil, err
			}
			name, _ := args[1].(string)
			if v := e.rec.attrs[name]; len(v) > 0 {
				return v[0], nil
			}
			if v, ok := e.rec.attrs[strings.ToLower(name)]; ok && len(v) > 0 {
				return v[0], nil
			}
			return "", nil
		}},
		{name: fnValues, types: []any{new(func(any, string) []string)}, fn: func(args ...any) (any, error) {
			e, err := envArg(args)
			if err != nil {
				return nil, err
			}
			name, _ := args[1].(string)
			v, ok := e.rec.attrs[name]
			if !ok {
				v = e.rec.attrs[strings.ToLower(name)]
			}
			if v == nil {
				v = []string{}
			}
			return v, nil
		}},
		{name: fnContains, types: []any{new(func(any, string, string) bool)}, fn: func(args ...any) (any, error) {
			e, err := envArg(args)
			if err != nil {
				return nil, err
			}
			name, _ := args[1].(string)
			v, err := strArg("in", args, 2)
			if err != nil {
				return nil, err
			}
			return containsValue(e.rec.attrs[name], v), nil
		}},
		{name: fnAnchor, types: []any{new(func(any) string)}, fn: func(args ...any) (any, error) {
			e, err := envArg(args)
			if err != nil {
				return nil, err
			}
			return e.rec.anchor, nil
		}},
		{name: fnDN, types: []any{new(func(any) string)}, fn: func(args ...any) (any, error) {
			e, err := envArg(args)
			if err != nil {
				return nil, err
			}
			return e.rec.dn, nil
		}},
		// user-facing attr/values: only declared so the parser and checker
		// know them; the rewrite turns every call into __attr/__values.
		{name: "attr", types: []any{new(func(string) string)}, fn: notRewritten("attr"),
			doc: `attr(name): first value of the source attribute name (any case), "" when absent; for names that are not identifiers, e.g. attr("x-foo")`},
		{name: "values", types: []any{new(func(string) []string)}, fn: notRewritten("values"),
			doc: `values(name): all values of the source attribute name, [] when absent`},

		{name: "coalesce", types: []any{new(func(...string) string)}, fn: coalesce,
			doc: `coalesce(a, b, ...): the first non-empty argument, "" when all are empty`},
		{name: "default", types: []any{new(func(string, string) string)}, fn: func(args ...any) (any, error) {
			return coalesce(args...)
		}, doc: `default(v, fallback): v unless it is empty, else fallback`},
		{name: "substring", types: []any{new(func(string, int, int) string)}, fn: substring,
			doc: `substring(s, start, length): length characters (runes) of s from start (0-based); out-of-range bounds are clamped`},
		{name: "regexReplace", types: []any{new(func(string, string, string) string)}, fn: func(args ...any) (any, error) {
			s, err := strArg("regexReplace", args, 0)
			if err != nil {
				return nil, err
			}
			pat, err := strArg("regexReplace", args, 1)
			if err != nil {
				return nil, err
			}
			repl, err := strArg("regexReplace", args, 2)
			if err != nil {
				return nil, err
			}
			re, err := rc.get(pat)
			if err != nil {
				return nil, err
			}
			return re.ReplaceAllString(s, repl), nil
		}, doc: `regexReplace(s, pattern, repl): Go RE2 replace-all; repl may use $1, ${name}`},
		{name: "removeDiacritics", types: []any{new(func(string) string)}, fn: str1("removeDiacritics", removeDiacritics),
			doc: `removeDiacritics(s): strips combining marks ("Zoë Ångström" -> "Zoe Angstrom"); letters such as ø, ß, ł are kept`},
		{name: "normalizePhone", types: []any{new(func(string) string)}, fn: str1("normalizePhone", normalizePhone),
			doc: `normalizePhone(s): removes spaces, dots, hyphens, slashes and parentheses, keeping a leading +`},
		{name: "e164", types: []any{new(func(string, string) string)}, fn: e164Fn,
			doc: `e164(s, countryCode): +<country code><number>: keeps +..., turns 00... into +..., drops a national trunk 0 (kept for Italy, 39); "" for ""; fails on a number that cannot be E.164`},
		{name: "normalizeEmail", types: []any{new(func(string) string)}, fn: str1("normalizeEmail", normalizeEmail),
			doc: `normalizeEmail(s): trims spaces and lower-cases the domain (the local part keeps its case)`},
		{name: "dnValue", types: []any{new(func(string, string) string)}, fn: dnValueFn,
			doc: `dnValue(dn, type): value of the first (leftmost) RDN attribute of that type, e.g. dnValue(dn, "ou"); "" when none`},
		{name: "dnValues", types: []any{new(func(string, string) []string)}, fn: dnValuesFn,
			doc: `dnValues(dn, type): all values of that attribute type in the DN, leftmost first`},
		{name: "rdnValue", types: []any{new(func(string) string)}, fn: rdnValueFn,
			doc: `rdnValue(dn): value of the entry's own RDN, e.g. "Jane Doe" for cn=Jane Doe,ou=People,...`},
		{name: "parentDN", types: []any{new(func(string) string)}, fn: parentDNFn,
			doc: `parentDN(dn): the DN without its first RDN`},
		{name: "adDisabled", types: []any{new(func(string) bool)}, fn: uacFn("adDisabled", true),
			doc: `adDisabled(userAccountControl): true when the ACCOUNTDISABLE bit (0x2) is set; fails when the value is not a number`},
		{name: "adEnabled", types: []any{new(func(string) bool)}, fn: uacFn("adEnabled", false),
			doc: `adEnabled(userAccountControl): not adDisabled(...)`},
	}
}

func containsValue(vals []string, v string) bool {
	for _, x := range vals {
		if x == v {
			return true
		}
	}
	return false
}

func notRewritten(name string) func(args ...any) (any, error) {
	return func(args ...any) (any, error) {
		return nil, fmt.Errorf("internal: %s call was not rewritten", name)
	}
}

func str1(name string, f func(string) string) func(args ...any) (any, error) {
	return func(args ...any) (any, error) {
		s, err := strArg(name, args, 0)
		if err != nil {
			return nil, err
		}
		return f(s), nil
	}
}

func coalesce(args ...any) (any, error) {
	for i := range args {
		s, err := strArg("coalesce", args, i)
		if err != nil {
			return nil, err
		}
		if s != "" {
			return s, nil
		}
	}
	return "", nil
}

func substring(args ...any) (any, error) {
	s, err := strArg("substring", args, 0)
	if err != nil {
		return nil, err
	}
	start, err := intArg("substring", args, 1)
	if err != nil {
		return nil, err
	}
	length, err := intArg("substring", args, 2)
	if err != nil {
		return nil, err
	}
	return substringRunes(s, start, length), nil
}

// substringRunes returns length runes of s from rune index start, clamping
// bounds: a negative start counts as 0, a negative length gives "".
func substringRunes(s string, start, length int) string {
	if start < 0 {
		start = 0
	}
	if length <= 0 {
		return ""
	}
	i, n := 0, 0
	for n < start && i < len(s) {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
		n++
	}
	j := i
	for n = 0; n < length && j < len(s); n++ {
		_, size := utf8.DecodeRuneInString(s[j:])
		j += size
	}
	return s[i:j]
}

// removeDiacritics decomposes s (NFD), drops nonspacing marks and
// recomposes (NFC).
func removeDiacritics(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return s
	}
	t := transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)
	out, _, err := transform.String(t, s)
	if err != nil {
		return s
	}
	return out
}

// normalizePhone removes the separators people type in phone numbers
// (white space, dots, hyphens, slashes, parentheses), keeping a leading +.
func normalizePhone(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range strings.TrimSpace(s) {
		switch {
		case unicode.IsSpace(r), r == '.', r == '-', r == '/', r == '(', r == ')', r == '\u2010', r == '\u2011', r == '\u2013':
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func e164Fn(args ...any) (any, error) {
	s, err := strArg("e164", args, 0)
	if err != nil {
		return nil, err
	}
	cc, err := strArg("e164", args, 1)
	if err != nil {
		return nil, err
	}
	return e164(s, cc)
}

// e164 formats a phone number as +<digits> (E.164): 7 to 15 digits.
func e164(s, countryCode string) (string, error) {
	n := normalizePhone(s)
	if n == "" {
		return "", nil
	}
	cc := strings.TrimPrefix(strings.TrimSpace(countryCode), "+")
	var digits string
	switch {
	case strings.HasPrefix(n, "+"):
		digits = n[1:]
	case strings.HasPrefix(n, "00"):
		digits = n[2:]
	default:
		if cc == "" || !isDigits(cc) || len(cc) > 3 {
			return "", fmt.Errorf("e164: %q has no country code and the default country code %q is not 1 to 3 digits", s, countryCode)
		}
		national := n
		if cc != "39" { // Italy keeps the leading 0 after the country code
			national = strings.TrimPrefix(n, "0")
		}
		digits = cc + national
	}
	if len(digits) < 7 || len(digits) > 15 || !isDigits(digits) || digits[0] == '0' {
		return "", fmt.Errorf("e164: %q is not a phone number that can be written in E.164 (+ and 7 to 15 digits)", s)
	}
	return "+" + digits, nil
}

// normalizeEmail trims s and lower-cases its domain.
func normalizeEmail(s string) string {
	s = strings.TrimSpace(s)
	at := strings.LastIndexByte(s, '@')
	if at < 0 {
		return s
	}
	return s[:at+1] + strings.ToLower(s[at+1:])
}

func parseDN(fn, dn string) (*ldap.DN, error) {
	d, err := ldap.ParseDN(dn)
	if err != nil {
		return nil, fmt.Errorf("%s: cannot parse DN %q: %w", fn, dn, err)
	}
	return d, nil
}

func dnValuesOf(fn string, args []any, firstOnly bool) ([]string, error) {
	dn, err := strArg(fn, args, 0)
	if err != nil {
		return nil, err
	}
	typ, err := strArg(fn, args, 1)
	if err != nil {
		return nil, err
	}
	if dn == "" {
		return nil, nil
	}
	d, err := parseDN(fn, dn)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, rdn := range d.RDNs {
		for _, a := range rdn.Attributes {
			if strings.EqualFold(a.Type, typ) {
				out = append(out, a.Value)
				if firstOnly {
					return out, nil
				}
			}
		}
	}
	return out, nil
}

func dnValueFn(args ...any) (any, error) {
	v, err := dnValuesOf("dnValue", args, true)
	if err != nil || len(v) == 0 {
		return "", err
	}
	return v[0], nil
}

func dnValuesFn(args ...any) (any, error) {
	v, err := dnValuesOf("dnValues", args, false)
	if v == nil {
		v = []string{}
	}
	return v, err
}

func rdnValueFn(args ...any) (any, error) {
	dn, err := strArg("rdnValue", args, 0)
	if err != nil || dn == "" {
		return "", err
	}
	d, err := parseDN("rdnValue", dn)
	if err != nil {
		return nil, err
	}
	if len(d.RDNs) == 0 || len(d.RDNs[0].Attributes) == 0 {
		return "", nil
	}
	return d.RDNs[0].Attributes[0].Value, nil
}

func parentDNFn(args ...any) (any, error) {
	dn, err := strArg("parentDN", args, 0)
	if err != nil || dn == "" {
		return "", err
	}
	d, err := parseDN("parentDN", dn)
	if err != nil {
		return nil, err
	}
	if len(d.RDNs) <= 1 {
		return "", nil
	}
	parent := &ldap.DN{RDNs: d.RDNs[1:]}
	return parent.String(), nil
}

// uacFn returns adDisabled (disabled=true) or adEnabled.
func uacFn(name string, disabled bool) func(args ...any) (any, error) {
	return func(args ...any) (any, error) {
		s, err := strArg(name, args, 0)
		if err != nil {
			return nil, err
		}
		uac, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%s: userAccountControl %q is not a number (is the attribute read?)", name, s)
		}
		isDisabled := uac&0x2 != 0
		return isDisabled == disabled, nil
	}
}

// exprOptions turns fns into expr options.
func exprOptions(fns []function) []expr.Option {
	opts := make([]expr.Option, 0, len(fns)+1)
	opts = append(opts, expr.DisableBuiltin("values"))
	for _, f := range fns {
		opts = append(opts, expr.Function(f.name, f.fn, f.types...))
	}
	return opts
}
