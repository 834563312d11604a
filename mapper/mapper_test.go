package mapper

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/syncd/syncd/internal/fielderr"
	"github.com/syncd/syncd/sources"
	"go.yaml.in/yaml/v3"
)

func baseConfig() Config {
	return Config{
		Mapping: map[string]string{
			"username":    "uid",
			"email":       "mail",
			"name.given":  "givenName",
			"name.family": "sn",
		},
		Population: Population{Name: "Employees"},
	}
}

func mustCompile(t testing.TB, cfg Config) *Mapper {
	t.Helper()
	m, err := Compile(cfg)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return m
}

func rec(anchor string, attrs ...string) sources.Record {
	r := sources.Record{Anchor: anchor, Pos: "line " + anchor, Attrs: map[string][]string{}}
	for i := 0; i+1 < len(attrs); i += 2 {
		r.Attrs[attrs[i]] = append(r.Attrs[attrs[i]], attrs[i+1])
	}
	return r
}

// TestCompileErrors: every problem is reported at once, each at its path.
func TestCompileErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		edit func(*Config)
		path string
		want string
	}{
		{"unknown attribute", func(c *Config) { c.Mapping["name.giv"] = "x" }, "mapping.name.giv", "unknown PingOne attribute (known: accountId"},
		{"wrong case", func(c *Config) { c.Mapping["name.Given"] = "x" }, "mapping.name.Given", "did you mean name.given?"},
		{"undeclared custom", func(c *Config) { c.Mapping["costCenter"] = "x" }, "mapping.costCenter", "list it under custom_attributes"},
		{"enabled", func(c *Config) { c.Mapping["enabled"] = "true" }, "mapping.enabled", "`enabled` expression"},
		{"population", func(c *Config) { c.Mapping["population.id"] = "x" }, "mapping.population.id", "`population` key"},
		{"id", func(c *Config) { c.Mapping["id"] = "x" }, "mapping.id", "read-only"},
		{"password", func(c *Config) { c.Mapping["password"] = "x" }, "mapping.password", "does not manage passwords"},
		{"object", func(c *Config) { c.Mapping["name"] = "x" }, "mapping.name", "map its members"},
		{"no username", func(c *Config) { delete(c.Mapping, "username") }, "mapping.username", "required"},
		{"no email", func(c *Config) { delete(c.Mapping, "email") }, "mapping.email", "PingOne requires an email"},
		{"syntax", func(c *Config) { c.Mapping["title"] = "upper(title" }, "mapping.title", `in "upper(title"`},
		{"unknown function", func(c *Config) { c.Mapping["title"] = "uper(title)" }, "mapping.title", "unknown function uper (known: "},
		{"wrong result type", func(c *Config) { c.Mapping["title"] = `len(title)` }, "mapping.title", "expected string"},
		{"wrong argument type", func(c *Config) { c.Mapping["title"] = `substring(title, "1", 2)` }, "mapping.title", "cannot use string as argument"},
		{"attr arity", func(c *Config) { c.Mapping["title"] = `attr("a", "b")` }, "mapping.title", "attr takes one argument"},
		{"bad regex literal", func(c *Config) { c.Mapping["title"] = `regexReplace(title, "([a-z", "")` }, "mapping.title", "invalid pattern"},
		{"$env", func(c *Config) { c.Mapping["title"] = `$env["title"]` }, "mapping.title", "$env is not available"},
		{"hidden function", func(c *Config) { c.Mapping["title"] = `__attr(1, "x")` }, "mapping.title", "unknown function __attr"},
		{"empty expression", func(c *Config) { c.Mapping["title"] = "  " }, "mapping.title", "empty expression"},
		{"scope not bool", func(c *Config) { c.Scope = "mail" }, "scope", "expected bool"},
		{"scope syntax", func(c *Config) { c.Scope = "mail ==" }, "scope", "unexpected token"},
		{"enabled not bool", func(c *Config) { c.Enabled = `"yes"` }, "enabled", "expected bool"},
		{"no population", func(c *Config) { c.Population = Population{} }, "population", "required"},
		{"empty rules", func(c *Config) { c.Population = Population{Rules: []PopulationRule{}} }, "population", "empty list"},
		{"rule when not bool", func(c *Config) {
			c.Population = Population{Rules: []PopulationRule{{When: "true", Population: "A"}, {When: "ou", Population: "B"}, {Population: "C"}}}
		}, "population[1].when", "expected bool"},
		{"rule without when not last", func(c *Config) {
			c.Population = Population{Rules: []PopulationRule{{Population: "A"}, {Population: "B"}}}
		}, "population[0].when", "only the last rule may omit when"},
		{"rule without population", func(c *Config) {
			c.Population = Population{Rules: []PopulationRule{{When: "true"}}}
		}, "population[0].population", "required"},
		{"invalid custom name", func(c *Config) { c.CustomAttributes = []string{"cost_center"} }, "custom_attributes[0]", "not a valid PingOne attribute name"},
		{"custom shadows standard", func(c *Config) { c.CustomAttributes = []string{"Email"} }, "custom_attributes[0]", "standard attribute"},
		{"custom duplicate", func(c *Config) { c.CustomAttributes = []string{"a", "a"} }, "custom_attributes[1]", "listed twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := baseConfig()
			tt.edit(&cfg)
			_, err := Compile(cfg)
			if err == nil {
				t.Fatal("Compile succeeded")
			}
			var found bool
			for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
				var fe *fielderr.FieldError
				if !errors.As(e, &fe) {
					t.Fatalf("error %v is not a FieldError", e)
				}
				if fe.Path == tt.path && strings.Contains(fe.Err.Error(), tt.want) {
					found = true
				}
			}
			if !found {
				t.Errorf("errors:\n%v\nwant one at %s containing %q", err, tt.path, tt.want)
			}
		})
	}
}

func TestCompileReportsEverything(t *testing.T) {
	t.Parallel()
	cfg := Config{
		Mapping: map[string]string{"name.giv": "x", "title": "upper(", "enabled": "true"},
		Scope:   "1",
		Population: Population{Rules: []PopulationRule{
			{When: "nosuch(x)", Population: "A"}, {Population: ""},
		}},
	}
	_, err := Compile(cfg)
	if err == nil {
		t.Fatal("Compile succeeded")
	}
	var paths []string
	for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
		paths = append(paths, e.(*fielderr.FieldError).Path)
	}
	want := []string{"mapping.enabled", "mapping.name.giv", "mapping.title", "mapping.username", "mapping.email", "scope", "population[0].when", "population[1].population"}
	if !reflect.DeepEqual(paths, want) {
		t.Errorf("paths = %v\nwant %v", paths, want)
	}
}

func TestSourceAttributes(t *testing.T) {
	t.Parallel()
	cfg := baseConfig()
	cfg.Mapping["title"] = `coalesce(title, attr("X-Title"))`
	cfg.Mapping["type"] = `join(values("employeeType"), ",")`
	cfg.Mapping["nickname"] = `let givenName = cn; givenName` // a let variable is not an attribute
	cfg.Scope = `not adDisabled(userAccountControl)`
	cfg.Enabled = `dn != "" && anchor != ""`
	cfg.Population = Population{Rules: []PopulationRule{{When: `department == "Sales"`, Population: "Sales"}, {Population: "Staff"}}}
	m := mustCompile(t, cfg)
	want := []string{"cn", "department", "employeetype", "givenname", "mail", "sn", "title", "uid", "useraccountcontrol", "x-title"}
	if got := m.SourceAttributes(); !reflect.DeepEqual(got, want) {
		t.Errorf("SourceAttributes() = %v, want %v", got, want)
	}

	cfg.Mapping["title"] = `attr("x-" + lower(uid))`
	if got := mustCompile(t, cfg).SourceAttributes(); got != nil {
		t.Errorf("computed attribute names: SourceAttributes() = %v, want nil", got)
	}
}

func TestManagedAttributes(t *testing.T) {
	t.Parallel()
	m := mustCompile(t, baseConfig())
	want := []string{"email", "externalId", "name.family", "name.given", "username"}
	if got := m.ManagedAttributes(); !reflect.DeepEqual(got, want) {
		t.Errorf("ManagedAttributes() = %v, want %v", got, want)
	}
}

func TestMap(t *testing.T) {
	t.Parallel()
	cfg := baseConfig()
	cfg.CustomAttributes = []string{"costCenter"}
	cfg.Mapping["costCenter"] = "departmentNumber"
	cfg.Mapping["address.countryCode"] = "upper(c)"
	cfg.Scope = `objectClass != "computer"`
	cfg.Enabled = `adEnabled(userAccountControl)`
	cfg.Population = Population{Rules: []PopulationRule{
		{When: `dnValue(dn, "ou") == "Contractors"`, Population: "Contractors"},
		{When: `employeeType == "staff"`, Population: "Staff"},
	}}
	m := mustCompile(t, cfg)

	good := func() sources.Record {
		r := rec("a1", "uid", "jdoe", "mail", "jdoe@example.com", "givenname", "Jane", "sn", "Doe",
			"departmentnumber", "42", "c", "fr", "useraccountcontrol", "512", "employeetype", "staff")
		r.DN = "cn=Jane,ou=People,dc=example,dc=com"
		return r
	}
	tests := []struct {
		name    string
		rec     func() sources.Record
		outcome Outcome
		check   func(t *testing.T, res Result)
	}{
		{"mapped", good, Mapped, func(t *testing.T, res Result) {
			want := map[string]string{"username": "jdoe", "email": "jdoe@example.com", "name.given": "Jane", "name.family": "Doe",
				"costCenter": "42", "address.countryCode": "FR", "externalId": "a1"}
			if !reflect.DeepEqual(res.Desired.Attributes, want) {
				t.Errorf("attributes = %v, want %v", res.Desired.Attributes, want)
			}
			if res.Desired.Population != "Staff" || !res.Desired.Enabled || res.Desired.Anchor != "a1" || res.Desired.Pos != "line a1" {
				t.Errorf("desired = %+v", res.Desired)
			}
			if res.Desired.Hash != HashDesired(want, "Staff", true) {
				t.Errorf("hash %s != HashDesired %s", res.Desired.Hash, HashDesired(want, "Staff", true))
			}
		}},
		{"empty optional dropped", func() sources.Record { r := good(); delete(r.Attrs, "sn"); return r }, Mapped, func(t *testing.T, res Result) {
			if _, ok := res.Desired.Attributes["name.family"]; ok {
				t.Error("empty name.family is present")
			}
		}},
		{"disabled", func() sources.Record { r := good(); r.Attrs["useraccountcontrol"] = []string{"514"}; return r }, Mapped, func(t *testing.T, res Result) {
			if res.Desired.Enabled {
				t.Error("enabled")
			}
		}},
		{"population first match", func() sources.Record { r := good(); r.DN = "cn=J,ou=Contractors,dc=example,dc=com"; return r }, Mapped, func(t *testing.T, res Result) {
			if res.Desired.Population != "Contractors" {
				t.Errorf("population %q", res.Desired.Population)
			}
		}},
		{"NFC", func() sources.Record { r := good(); r.Attrs["givenname"] = []string{"Zoe\u0308"}; return r }, Mapped, func(t *testing.T, res Result) {
			if got := res.Desired.Attributes["name.given"]; got != "Zoë" {
				t.Errorf("name.given = %q, want NFC Zoë", got)
			}
		}},
		{"out of scope", func() sources.Record { r := good(); r.Attrs["objectclass"] = []string{"computer"}; return r }, OutOfScope, func(t *testing.T, res Result) {
			if res.Desired.Anchor != "a1" {
				t.Errorf("out of scope result lacks anchor: %+v", res)
			}
		}},
		{"no population rule", func() sources.Record { r := good(); r.Attrs["employeetype"] = nil; return r }, Rejected, func(t *testing.T, res Result) {
			wantReject(t, res, "population", "no population rule matched")
		}},
		{"missing email", func() sources.Record { r := good(); delete(r.Attrs, "mail"); return r }, Rejected, func(t *testing.T, res Result) {
			wantReject(t, res, "email", `PingOne requires an email address to create a user; the expression "mail" produced an empty value (source attribute mail is absent or empty)`)
		}},
		{"missing username", func() sources.Record { r := good(); r.Attrs["uid"] = []string{""}; return r }, Rejected, func(t *testing.T, res Result) {
			wantReject(t, res, "username", "required")
		}},
		{"invalid email", func() sources.Record { r := good(); r.Attrs["mail"] = []string{"jdoe@"}; return r }, Rejected, func(t *testing.T, res Result) {
			wantReject(t, res, "email", `"jdoe@" is not a valid email address`)
		}},
		{"several problems", func() sources.Record {
			r := good()
			r.Attrs["mail"] = []string{"x"}
			r.Attrs["c"] = []string{"FRA"}
			return r
		}, Rejected, func(t *testing.T, res Result) {
			wantReject(t, res, "address.countryCode", `"FRA" is not an ISO 3166-1`)
			if !strings.Contains(res.Reject.Reason, `email: "x" is not a valid email`) {
				t.Errorf("second problem missing: %s", res.Reject.Reason)
			}
		}},
		{"invalid UTF-8", func() sources.Record { r := good(); r.Attrs["givenname"] = []string{"J\xffne"}; return r }, Rejected, func(t *testing.T, res Result) {
			wantReject(t, res, "name.given", "not valid UTF-8")
		}},
		{"enabled fails", func() sources.Record { r := good(); delete(r.Attrs, "useraccountcontrol"); return r }, Rejected, func(t *testing.T, res Result) {
			wantReject(t, res, "enabled", `expression "adEnabled(userAccountControl)" failed`)
		}},
		{"source reject", func() sources.Record { r := good(); r.Reject = "wrong field count"; return r }, Rejected, func(t *testing.T, res Result) {
			wantReject(t, res, "", "source: wrong field count")
		}},
		{"deleted", func() sources.Record { r := good(); r.Deleted = true; return r }, Rejected, func(t *testing.T, res Result) {
			wantReject(t, res, "", "deletion")
		}},
		{"no anchor", func() sources.Record { r := good(); r.Anchor = ""; return r }, Rejected, func(t *testing.T, res Result) {
			wantReject(t, res, "", "no anchor")
		}},
		{"anchor too long for externalId", func() sources.Record { r := good(); r.Anchor = strings.Repeat("a", 1025); return r }, Rejected, func(t *testing.T, res Result) {
			wantReject(t, res, "externalId", "cannot be the externalId")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res := m.Map(tt.rec())
			if res.Outcome != tt.outcome {
				t.Fatalf("outcome = %v, want %v (%+v)", res.Outcome, tt.outcome, res)
			}
			tt.check(t, res)
		})
	}
}

func wantReject(t *testing.T, res Result, attr, reason string) {
	t.Helper()
	if res.Outcome != Rejected {
		t.Fatalf("outcome = %v, want rejected", res.Outcome)
	}
	if res.Reject.Attribute != attr || !strings.Contains(res.Reject.Reason, reason) {
		t.Errorf("reject = %q: %q\nwant %q containing %q", res.Reject.Attribute, res.Reject.Reason, attr, reason)
	}
	if res.Reject.Anchor == "" && attr != "" {
		t.Errorf("reject lacks the anchor")
	}
}

func TestMapExternalIDMapped(t *testing.T) {
	t.Parallel()
	cfg := baseConfig()
	cfg.Mapping["externalId"] = "employeeNumber"
	m := mustCompile(t, cfg)
	res := m.Map(rec("a1", "uid", "u", "mail", "u@x.org", "employeenumber", "E42"))
	if got := res.Desired.Attributes["externalId"]; got != "E42" {
		t.Errorf("externalId = %q, want E42", got)
	}
	res = m.Map(rec("a1", "uid", "u", "mail", "u@x.org"))
	wantReject(t, res, "externalId", "required")
}

func TestRequiredEmptyNamesSources(t *testing.T) {
	t.Parallel()
	cfg := baseConfig()
	cfg.Mapping["email"] = "coalesce(mail, userPrincipalName)"
	res := mustCompile(t, cfg).Map(rec("a1", "uid", "u"))
	wantReject(t, res, "email", "(source attributes mail, userprincipalname are absent or empty)")
}

func TestMapDoesNotModifyRecord(t *testing.T) {
	t.Parallel()
	m := mustCompile(t, baseConfig())
	r := rec("a1", "uid", "u", "mail", "u@x.org", "givenname", "Zoe\u0308")
	m.Map(r)
	if r.Attrs["givenname"][0] != "Zoe\u0308" {
		t.Error("Map changed the record")
	}
}

func TestHashStable(t *testing.T) {
	t.Parallel()
	a := map[string]string{"username": "u", "email": "u@x.org", "name.given": "Zoë"}
	b := map[string]string{"name.given": "Zoe\u0308", "email": "u@x.org", "username": "u"}
	if HashDesired(a, "P", true) != HashDesired(b, "P", true) {
		t.Error("hash depends on order or normalisation")
	}
	distinct := map[string]bool{}
	for _, h := range []string{
		HashDesired(a, "P", true),
		HashDesired(a, "P", false),
		HashDesired(a, "Q", true),
		HashDesired(map[string]string{"username": "u", "email": "u@x.org"}, "P", true),
		HashDesired(map[string]string{"username": "ue", "mail": "@x.org"}, "P", true),
		HashDesired(map[string]string{"username": "u", "email": "u@x.orgP"}, "", true),
	} {
		if distinct[h] {
			t.Errorf("hash collision: %s", h)
		}
		distinct[h] = true
	}
	if got := HashDesired(a, "P", true); len(got) != 43 {
		t.Errorf("hash %q is %d characters, want 43", got, len(got))
	}
	// Mapped values and HashDesired agree whatever the map's iteration order.
	m := mustCompile(t, baseConfig())
	res := m.Map(rec("a1", "uid", "u", "mail", "u@x.org", "givenname", "Zoë"))
	if res.Desired.Hash != HashDesired(res.Desired.Attributes, res.Desired.Population, res.Desired.Enabled) {
		t.Error("Map's hash differs from HashDesired")
	}
}

func TestCheckConflicts(t *testing.T) {
	t.Parallel()
	d := func(anchor, username string) Desired {
		return Desired{Anchor: anchor, Pos: "line " + anchor, Attributes: map[string]string{"username": username}}
	}
	ds := []Desired{d("1", "alice"), d("2", "Bob"), d("3", "bob"), d("4", "carol"), d("4", "dave"), d("5", "erin"), d("6", "BOB")}
	kept, rejects := CheckConflicts(ds)
	var keptAnchors []string
	for _, k := range kept {
		keptAnchors = append(keptAnchors, k.Anchor)
	}
	if want := []string{"1", "5"}; !reflect.DeepEqual(keptAnchors, want) {
		t.Errorf("kept %v, want %v", keptAnchors, want)
	}
	if len(rejects) != 5 {
		t.Fatalf("rejects = %v, want 5", rejects)
	}
	if r := rejects[0]; r.Anchor != "2" || r.Attribute != "username" ||
		!strings.Contains(r.Reason, `username "Bob" is also claimed by anchor=3 (line 3), anchor=6 (line 6)`) {
		t.Errorf("reject[0] = %+v", r)
	}
	if r := rejects[2]; r.Anchor != "4" || !strings.Contains(r.Reason, `duplicate anchor "4": it appears 2 times in the source (also at line 4)`) {
		t.Errorf("reject[2] = %+v", r)
	}
	var many []Desired
	for i := 0; i < 9; i++ {
		many = append(many, d(string(rune('a'+i)), "same"))
	}
	if _, r := CheckConflicts(many); len(r) != 9 || !strings.Contains(r[0].Reason, "anchor=f (line f), and 3 more;") {
		t.Errorf("9 claimants: %v", r[0].Reason)
	}
	if k, r := CheckConflicts(nil); len(k) != 0 || len(r) != 0 {
		t.Error("empty input")
	}
}

func TestPopulationYAML(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		yaml string
		want Population
		err  string
	}{
		{"scalar", `population: Employees`, Population{Name: "Employees"}, ""},
		{"uuid", `population: 6e4b1c47-6a52-4b0a-9b1e-2b4e3b7f9d11`, Population{Name: "6e4b1c47-6a52-4b0a-9b1e-2b4e3b7f9d11"}, ""},
		{"rules", "population:\n  - when: 'ou == \"x\"'\n    population: X\n  - population: Rest\n",
			Population{Rules: []PopulationRule{{When: `ou == "x"`, Population: "X"}, {Population: "Rest"}}}, ""},
		{"unknown key", "population:\n  - whne: x\n    population: X\n", Population{}, `unknown key "whne"`},
		{"map", "population:\n  name: X\n", Population{}, "want a population name or id"},
		{"nested", "population:\n  - when: [1]\n    population: X\n", Population{}, "want a string"},
		{"absent", `scope: x`, Population{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var cfg Config
			err := yaml.Unmarshal([]byte(tt.yaml), &cfg)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(cfg.Population, tt.want) {
				t.Errorf("population = %+v, want %+v", cfg.Population, tt.want)
			}
			out, err := yaml.Marshal(cfg.Population)
			if err != nil {
				t.Fatal(err)
			}
			var back Population
			if err := yaml.Unmarshal(out, &back); err != nil || !reflect.DeepEqual(back, tt.want) && !tt.want.isZero() {
				t.Errorf("round trip: %q -> %+v, %v", out, back, err)
			}
		})
	}
}

func TestPopulationJSON(t *testing.T) {
	t.Parallel()
	for _, p := range []Population{{Name: "Employees"}, {Rules: []PopulationRule{{When: "x", Population: "A"}, {Population: "B"}}}} {
		b, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		var back Population
		if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back, p) {
			t.Errorf("round trip of %+v via %s: %+v, %v", p, b, back, err)
		}
	}
	var p Population
	if err := json.Unmarshal([]byte(`[{"whne":"x","population":"A"}]`), &p); err == nil {
		t.Error("unknown rule key accepted")
	}
}

func TestExplain(t *testing.T) {
	t.Parallel()
	cfg := baseConfig()
	cfg.Mapping["name.family"] = `upper(attr("sn"))`
	cfg.Scope = `mail != ""`
	m := mustCompile(t, cfg)
	res, ex := m.Explain(rec("a1", "uid", "u", "mail", "bad", "sn", "Doe"))
	if res.Outcome != Rejected {
		t.Fatalf("outcome %v", res.Outcome)
	}
	byPath := map[string]Explanation{}
	for _, e := range ex {
		byPath[e.Path] = e
	}
	if e := byPath["name.family"]; e.Value != "DOE" || !reflect.DeepEqual(e.Inputs, map[string][]string{"sn": {"Doe"}}) || e.Expression != `upper(attr("sn"))` {
		t.Errorf("name.family explanation = %+v", e)
	}
	if e := byPath["email"]; !strings.Contains(e.Error, "not a valid email") {
		t.Errorf("email explanation lacks the problem: %+v", e)
	}
	if e := byPath["scope"]; e.Value != true {
		t.Errorf("scope explanation = %+v", e)
	}
	if e := byPath["name.given"]; !reflect.DeepEqual(e.Inputs, map[string][]string{"givenname": {}}) {
		t.Errorf("absent input not shown as empty: %+v", e)
	}
	if _, err := json.Marshal(ex); err != nil {
		t.Fatal(err)
	}
}

func TestResultJSON(t *testing.T) {
	t.Parallel()
	m := mustCompile(t, baseConfig())
	b, err := json.Marshal(m.Map(rec("a1", "uid", "u", "mail", "u@x.org")))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"outcome":"mapped"`, `"anchor":"a1"`, `"attributes":{`, `"population":"Employees"`, `"enabled":true`, `"hash":"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("%s lacks %s", b, want)
		}
	}
}

// TestConcurrentMap: one Mapper serves several goroutines (run with -race).
func TestConcurrentMap(t *testing.T) {
	t.Parallel()
	cfg := baseConfig()
	cfg.Mapping["title"] = `upper(coalesce(title, "none"))`
	m := mustCompile(t, cfg)
	done := make(chan string)
	for g := 0; g < 4; g++ {
		go func(g int) {
			for i := 0; i < 200; i++ {
				u := string(rune('a'+g)) + strings.Repeat("x", i%5)
				res := m.Map(rec("a", "uid", u, "mail", u+"@x.org"))
				if res.Desired.Attributes["username"] != u || res.Desired.Attributes["title"] != "NONE" {
					done <- "wrong result: " + res.Desired.Attributes["username"]
					return
				}
			}
			done <- ""
		}(g)
	}
	for g := 0; g < 4; g++ {
		if msg := <-done; msg != "" {
			t.Error(msg)
		}
	}
}
