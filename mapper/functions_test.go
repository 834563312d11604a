package mapper

import (
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/syncd/syncd/sources"
)

// evalExpr compiles src as a one-off expression expecting kind and
// evaluates it against rec, the way Map does.
func evalExpr(t *testing.T, src string, kind reflect.Kind, rec sources.Record) (any, error) {
	t.Helper()
	c := newCompiler(&regexCache{})
	p, err := c.compile(src, kind)
	if err != nil {
		t.Fatalf("compile %q: %v", src, err)
	}
	m := &Mapper{}
	r := &runner{}
	r.env.rec = recordView{anchor: rec.Anchor, dn: rec.DN, attrs: rec.Attrs}
	if kind == reflect.Bool {
		return m.evalBool(r, p, rec, "test", nil)
	}
	return m.evalString(r, p, rec, "test", nil)
}

var testRec = sources.Record{
	Anchor: "5f0c1a2b-0000-4000-8000-000000000001",
	DN:     `cn=Jane Doe\, Jr.,ou=Engineering,ou=People,dc=example,dc=com`,
	Attrs: map[string][]string{
		"uid":                {"JDoe"},
		"mail":               {"  Jane.Doe@Example.COM "},
		"givenname":          {"Jane"},
		"sn":                 {"Doe"},
		"cn":                 {"Jane Doe, Jr."},
		"x-foo":              {"hyphenated"},
		"member":             {"cn=a", "cn=b", "cn=c"},
		"empty":              {""},
		"useraccountcontrol": {"514"},
		"enabledaccount":     {"512"},
		"phone":              {"+33 (0)1.23-45 67 89"},
		"frphone":            {"01 23 45 67 89"},
		"itphone":            {"06 1234 5678"},
		"usphone":            {"(555) 010-9999"},
		"accented":           {"Zoë Ångström-Lefèvre"},
		"decomposed":         {"Zoe\u0308"},
		"multi":              {"first", "second"},
		"type":               {"Employee"},
		"len":                {"L"},
		"first name":         {"First"},
	},
}

func TestFunctions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		expr string
		want string
	}{
		// attribute access
		{`uid`, "JDoe"},
		{`UID`, "JDoe"}, // case-insensitive
		{`givenName`, "Jane"},
		{`nosuch`, ""},
		{`attr("x-foo")`, "hyphenated"},
		{`attr("X-FOO")`, "hyphenated"},
		{`attr("x-" + "foo")`, "hyphenated"}, // computed name
		{`attr("nosuch")`, ""},
		{`multi`, "first"},
		{`join(values("multi"), "|")`, "first|second"},
		{`join(values("nosuch"), "|")`, ""},
		{`string(len(values("member")))`, "3"},
		{`anchor`, "5f0c1a2b-0000-4000-8000-000000000001"},
		{`dn`, `cn=Jane Doe\, Jr.,ou=Engineering,ou=People,dc=example,dc=com`},
		{`let x = uid; lower(x)`, "jdoe"},
		{`uid | lower()`, "jdoe"},
		{`"constant"`, "constant"},
		{`type`, "Employee"},               // a builtin's name, not in call position, is an attribute
		{`len + "/" + type`, "L/Employee"}, // ditto
		{`string(len(type))`, "8"},         // and in call position, the builtin
		{`attr("first name")`, "First"},
		{`empty == "" ? "none" : empty`, "none"},
		{`mail != "" ? nil : "x"`, ""}, // nil is empty
		// expr builtins reused
		{`lower(uid)`, "jdoe"},
		{`upper(uid)`, "JDOE"},
		{`trim(mail)`, "Jane.Doe@Example.COM"},
		{`trim("xxhixx", "x")`, "hi"},
		{`join(split("a,b,c", ","), ";")`, "a;b;c"},
		{`replace(cn, ",", "")`, "Jane Doe Jr."},
		{`first(values("member"))`, "cn=a"},
		{`join(map(values("multi"), upper(#)), ",")`, "FIRST,SECOND"},
		// coalesce / default
		{`coalesce(empty, nosuch, uid)`, "JDoe"},
		{`coalesce(empty, nosuch)`, ""},
		{`coalesce(uid)`, "JDoe"},
		{`default(nosuch, "fallback")`, "fallback"},
		{`default(uid, "fallback")`, "JDoe"},
		// substring (runes, clamped)
		{`substring(givenName, 0, 1)`, "J"},
		{`substring(accented, 2, 1)`, "ë"},
		{`substring(accented, 0, 3)`, "Zoë"},
		{`substring("😀😀😀", 1, 1)`, "😀"},
		{`substring(uid, 2, 100)`, "oe"},
		{`substring(uid, 100, 1)`, ""},
		{`substring(uid, -3, 2)`, "JD"},
		{`substring(uid, 0, -1)`, ""},
		{`substring("", 0, 5)`, ""},
		// regexReplace
		{`regexReplace(uid, "^J", "j")`, "jDoe"},
		{`regexReplace(mail, "@.*$", "")`, "  Jane.Doe"},
		{`regexReplace("a1b22c333", "[0-9]+", "#")`, "a#b#c#"},
		{`regexReplace("john.smith", "^(\\w)\\w*\\.(\\w+)$", "$1$2")`, "jsmith"},
		{`regexReplace(uid, "(?i)^" + "j", "")`, "Doe"}, // computed pattern
		// removeDiacritics
		{`removeDiacritics(accented)`, "Zoe Angstrom-Lefevre"},
		{`removeDiacritics(decomposed)`, "Zoe"},
		{`removeDiacritics("Łódź Øre Straße")`, "Łodz Øre Straße"},
		{`removeDiacritics("plain")`, "plain"},
		{`removeDiacritics("")`, ""},
		{`removeDiacritics("Việt Nam")`, "Viet Nam"},
		// phones
		{`normalizePhone(phone)`, "+330123456789"},
		{`normalizePhone(usphone)`, "5550109999"},
		{`normalizePhone("030/123 456")`, "030123456"},
		{`normalizePhone("")`, ""},
		{`e164(frphone, "33")`, "+33123456789"},
		{`e164(frphone, "+33")`, "+33123456789"},
		{`e164(usphone, "1")`, "+15550109999"},
		{`e164(itphone, "39")`, "+390612345678"}, // Italy keeps the 0
		{`e164("0044 20 7946 0018", "33")`, "+442079460018"},
		{`e164("+44 20 7946 0018", "33")`, "+442079460018"},
		{`e164("", "33")`, ""},
		// email
		{`normalizeEmail(mail)`, "Jane.Doe@example.com"},
		{`normalizeEmail("NoAt")`, "NoAt"},
		{`normalizeEmail("A@B@Example.ORG")`, "A@B@example.org"},
		// DN helpers
		{`dnValue(dn, "ou")`, "Engineering"},
		{`dnValue(dn, "OU")`, "Engineering"},
		{`dnValue(dn, "cn")`, "Jane Doe, Jr."},
		{`dnValue(dn, "l")`, ""},
		{`join(dnValues(dn, "ou"), "/")`, "Engineering/People"},
		{`join(dnValues(dn, "dc"), ".")`, "example.com"},
		{`rdnValue(dn)`, "Jane Doe, Jr."},
		{`parentDN(dn)`, "ou=Engineering,ou=People,dc=example,dc=com"},
		{`parentDN("dc=com")`, ""},
		{`dnValue("", "ou")`, ""},
		{`rdnValue("")`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			got, err := evalExpr(t, tt.expr, reflect.String, testRec)
			if err != nil {
				t.Fatalf("eval %s: %v", tt.expr, err)
			}
			if got != tt.want {
				t.Errorf("%s = %q, want %q", tt.expr, got, tt.want)
			}
		})
	}
}

func TestBoolFunctions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		expr string
		want bool
	}{
		{`adDisabled(userAccountControl)`, true},
		{`adEnabled(userAccountControl)`, false},
		{`adDisabled(enabledAccount)`, false},
		{`adEnabled(enabledAccount)`, true},
		{`adEnabled("66048")`, true},  // 0x10200: normal, don't expire
		{`adDisabled("66050")`, true}, // 0x10202
		{`adDisabled(" 2 ")`, true},
		{`adDisabled("-2147483646")`, true}, // high bit set, as AD may send it signed
		{`mail != ""`, true},
		{`nosuch == ""`, true},
		{`"cn=b" in values("member")`, true},
		{`"cn=z" in values("member")`, false},
		{`"cn=z" not in values("member")`, true},
		{`not ("cn=a" in values("MEMBER"))`, false},
		{`uid in values("uid")`, true},
		{`lower(uid) in values("uid")`, false},
		{`"x" in values("nosuch")`, false},
		{`"cn=b" in values("mem" + "ber")`, true},
		{`"JDoe" in [uid, "other"]`, true},
		{`dnValue(dn, "ou") in ["Engineering", "Sales"]`, true},
		{`uid matches "^J"`, true},
		{`hasSuffix(lower(trim(mail)), "@example.com")`, true},
		{`true`, true},
		{`false`, false},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			got, err := evalExpr(t, tt.expr, reflect.Bool, testRec)
			if err != nil {
				t.Fatalf("eval %s: %v", tt.expr, err)
			}
			if got != tt.want {
				t.Errorf("%s = %v, want %v", tt.expr, got, tt.want)
			}
		})
	}
}

// TestRuntimeErrors: expressions that compile but fail for a record say
// which expression failed and why.
func TestRuntimeErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		expr string
		kind reflect.Kind
		want string
	}{
		{`e164("12", "33")`, reflect.String, "can be written in E.164"},
		{`e164("0123456789", "")`, reflect.String, "no country code"},
		{`e164("0123456789", "abcd")`, reflect.String, "no country code"},
		{`e164("+12abc45678", "1")`, reflect.String, "can be written in E.164"},
		{`dnValue("not a dn", "ou")`, reflect.String, "cannot parse DN"},
		{`rdnValue("=broken")`, reflect.String, "cannot parse DN"},
		{`parentDN("nope")`, reflect.String, "cannot parse DN"},
		{`regexReplace(uid, "(" + "", "")`, reflect.String, "invalid pattern"},
		{`adDisabled(nosuch)`, reflect.Bool, `userAccountControl "" is not a number`},
		{`adEnabled("0x2")`, reflect.Bool, "is not a number"},
		{`values("member")[7]`, reflect.String, "expression"},
		{`fromJSON(uid)`, reflect.String, "failed"},
		{`fromJSON("1")`, reflect.String, "want a string"},
		{`fromJSON(uid) == 1`, reflect.Bool, "failed"},
		{`fromJSON("1")`, reflect.Bool, "failed"},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			_, err := evalExpr(t, tt.expr, tt.kind, testRec)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("%s: error %v, want it to contain %q", tt.expr, err, tt.want)
			}
			if !strings.Contains(err.Error(), quoteValue(tt.expr)) {
				t.Errorf("error %q does not name the expression", err)
			}
		})
	}
}

func TestSubstringRunes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		s             string
		start, length int
		want          string
	}{
		{"abcdef", 0, 3, "abc"},
		{"abcdef", 4, 10, "ef"},
		{"abcdef", 6, 1, ""},
		{"abcdef", -1, 2, "ab"},
		{"abcdef", 1, 0, ""},
		{"e\u0301e", 0, 1, "e"}, // runes, not grapheme clusters
		{"日本語", 1, 1, "本"},
		{"\xff\xfeab", 1, 2, "\xfea"}, // invalid UTF-8 is stepped over byte by byte
	}
	for _, tt := range tests {
		if got := substringRunes(tt.s, tt.start, tt.length); got != tt.want {
			t.Errorf("substringRunes(%q, %d, %d) = %q, want %q", tt.s, tt.start, tt.length, got, tt.want)
		}
	}
}

func TestRegexCacheCompilesOnce(t *testing.T) {
	t.Parallel()
	var rc regexCache
	a, err := rc.get("^a+$")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := rc.get("^a+$")
	if a != b {
		t.Error("the same pattern was compiled twice")
	}
	if _, err := rc.get("("); err == nil {
		t.Error("invalid pattern accepted")
	}
}

// TestFastPathsAgree: expressions the mapper evaluates without the VM give
// exactly what the VM gives.
func TestFastPathsAgree(t *testing.T) {
	t.Parallel()
	exprs := []struct {
		src  string
		fast fastKind
	}{
		{`uid`, fastAttr},
		{`nosuch`, fastAttr},
		{`attr("X-Foo")`, fastAttr},
		{`anchor`, fastAnchor},
		{`dn`, fastDN},
		{`"const"`, fastString},
		{`lower(uid)`, fastFunc1},
		{`upper(accented)`, fastFunc1},
		{`trim(mail)`, fastFunc1},
		{`normalizeEmail(mail)`, fastFunc1},
		{`normalizePhone(phone)`, fastFunc1},
		{`removeDiacritics(accented)`, fastFunc1},
		{`lower(nosuch)`, fastFunc1},
		{`coalesce(empty, nosuch, uid)`, fastCoalesce},
		{`coalesce(empty, "fallback", uid)`, fastCoalesce},
		{`coalesce(empty, nosuch)`, fastCoalesce},
		{`default(mail, "x")`, fastCoalesce},
		{`default(nosuch, "x")`, fastCoalesce},
		{`lower(trim(mail))`, fastNone},
	}
	rc := &regexCache{}
	c := newCompiler(rc)
	m := &Mapper{}
	for _, tt := range exprs {
		t.Run(tt.src, func(t *testing.T) {
			p, err := c.compile(tt.src, reflect.String)
			if err != nil {
				t.Fatal(err)
			}
			if p.fast != tt.fast {
				t.Fatalf("fast = %v, want %v", p.fast, tt.fast)
			}
			r := &runner{}
			r.env.rec = recordView{anchor: testRec.Anchor, dn: testRec.DN, attrs: testRec.Attrs}
			fast, err := m.evalString(r, p, testRec, "", nil)
			if err != nil {
				t.Fatal(err)
			}
			slow := *p
			slow.fast = fastNone
			viaVM, err := m.evalString(r, &slow, testRec, "", nil)
			if err != nil {
				t.Fatal(err)
			}
			if fast != viaVM {
				t.Errorf("fast path %q, VM %q", fast, viaVM)
			}
		})
	}
}

// TestFunctionsDocumented keeps the function reference in doc.go complete.
func TestFunctionsDocumented(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range functions(&regexCache{}) {
		if strings.HasPrefix(f.name, "__") {
			continue
		}
		if !strings.Contains(string(doc), "//\t"+f.name+"(") {
			t.Errorf("doc.go does not list %s", f.name)
		}
		if f.doc == "" {
			t.Errorf("%s has no doc line", f.name)
		}
	}
}
