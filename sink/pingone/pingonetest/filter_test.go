package pingonetest

import (
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestParseFilter(t *testing.T) {
	t.Parallel()
	valid := []struct{ in, canon string }{
		{`username eq "alice"`, `username eq "alice"`},
		{`username EQ "alice"`, `username eq "alice"`},
		{`name.family eq "Smith" and name.given sw "W"`, `name.family eq "Smith" and name.given sw "W"`},
		{`(name.family eq "Smith") AND (name.given sw "W")`, `name.family eq "Smith" and name.given sw "W"`},
		{`a eq "1" or b eq "2" and c eq "3"`, `a eq "1" or b eq "2" and c eq "3"`},
		{`(a eq "1" or b eq "2") and c eq "3"`, `(a eq "1" or b eq "2") and c eq "3"`},
		{`((email eq "a") OR (email eq "b")) AND ((population.id eq "p"))`, `(email eq "a" or email eq "b") and population.id eq "p"`},
		{`memberOfGroups[id eq "g1"] and name.family eq "demo"`, `memberOfGroups[id eq "g1"] and name.family eq "demo"`},
		{`enabled eq true`, `enabled eq true`},
		{`enabled eq FALSE`, `enabled eq false`},
		{`title eq "say \"hi\" \\ bye"`, `title eq "say \"hi\" \\ bye"`},
		{`customAttribute-101 sw "x"`, `customAttribute-101 sw "x"`},
		{`title pr`, `title pr`},
		{`a eq "1" and (b eq "2" and c eq "3")`, `a eq "1" and (b eq "2" and c eq "3")`},
		{`a eq "1" and b eq "2" and c eq "3"`, `a eq "1" and b eq "2" and c eq "3"`},
		{"title eq \"caf\u00e9\"", "title eq \"caf\u00e9\""},
	}
	for _, tc := range valid {
		f, err := ParseFilter(tc.in)
		if err != nil {
			t.Errorf("ParseFilter(%q): %v", tc.in, err)
			continue
		}
		if got := f.String(); got != tc.canon {
			t.Errorf("ParseFilter(%q).String() = %q, want %q", tc.in, got, tc.canon)
		}
	}
	invalid := []string{
		``, `username`, `username eq`, `username eq alice`, `username eq "alice`, `username eq "a" and`,
		`(username eq "a"`, `username eq "a")`, `and eq "a"`, `not (username eq "a")`, `username foo "a"`,
		`username eq "a" username eq "b"`, `memberOfGroups[id eq "x"`, `username eq "\q"`, `1abc eq "x"`,
		`a..b eq "x"`, `username eq null`, `username eq 5`, "username eq \"\xff\"", `username = "a"`,
		strings.Repeat("(", 40) + `a eq "b"` + strings.Repeat(")", 40),
	}
	for _, in := range invalid {
		if f, err := ParseFilter(in); err == nil {
			t.Errorf("ParseFilter(%q) = %v, want error", in, f)
		}
	}
}

func TestCheckFilter(t *testing.T) {
	t.Parallel()
	attrs := map[string]filterAttr{}
	for k, v := range userFilterAttrs {
		attrs[k] = v
	}
	attrs["costCenter"] = filterAttr{ops: opsOf("eq", "sw")}
	ok := []string{
		`username eq "a"`, `email ew "@example.com"`, `name.given ew "x"`, `externalId eq "1"`, `population.id eq "p"`,
		`enabled eq false`, `costCenter sw "C"`, `memberOfGroups[id eq "g"]`, `accountId sw "5"`, `address.countryCode eq "US"`,
	}
	for _, s := range ok {
		f, err := ParseFilter(s)
		if err == nil {
			err = checkFilter(f, attrs)
		}
		if err != nil {
			t.Errorf("%s: %v", s, err)
		}
	}
	bad := []string{
		`username ew "a"`, `username co "a"`, `username ne "a"`, `username gt "a"`, `title pr`,
		`population.id sw "p"`, `enabled eq "true"`, `username eq true`, `id eq "x"`, `identityProvider.type eq "PING_ONE"`,
		`Username eq "a"`, `memberOfGroups eq "g"`, `memberOfGroups[name eq "g"]`, `name[given eq "x"]`,
		`enabled sw true`, `createdAt eq "x"`, `costCenter ew "x"`, `undefinedCustom eq "x"`,
	}
	for _, s := range bad {
		f, err := ParseFilter(s)
		if err != nil {
			t.Errorf("%s: parse error %v, want a check error", s, err)
			continue
		}
		if err := checkFilter(f, attrs); err == nil {
			t.Errorf("%s: accepted, want INVALID_FILTER", s)
		}
	}
}

func TestListFilterOverHTTP(t *testing.T) {
	t.Parallel()
	s := newLooseServer(t, Options{Populations: []string{"Default", "Staff"}, CustomAttributes: []string{"costCenter"}})
	c := newClient(t, s)
	staff := s.PopulationID("Staff")
	mk := func(u map[string]any) string {
		id, err := s.AddUser(u)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	alice := mk(map[string]any{"username": "Alice", "email": "alice@corp.example", "name": map[string]any{"given": "Alice", "family": "Smith"}, "externalId": "E1", "costCenter": "CC-10"})
	bob := mk(map[string]any{"username": "bob", "email": "bob@other.example", "name": map[string]any{"given": "Bob", "family": "Smithers"}, "enabled": false, "population": map[string]any{"id": staff}})
	carol := mk(map[string]any{"username": "carol", "email": "carol@corp.example", "title": `say "hi"`, "costCenter": "CC-20"})
	if err := s.SetGroups(carol, "g1", "g2"); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		filter string
		want   []string
	}{
		{`username eq "alice"`, []string{alice}}, // case-insensitive values
		{`username eq "ALICE" or username eq "bob"`, []string{alice, bob}},
		{`email ew "@corp.example"`, []string{alice, carol}},
		{`name.family sw "smith"`, []string{alice, bob}},
		{`name.family eq "Smith" and name.given sw "A"`, []string{alice}},
		{`enabled eq false`, []string{bob}},
		{`enabled eq true and email ew "corp.example"`, []string{alice, carol}},
		{`population.id eq "` + staff + `"`, []string{bob}},
		{`externalId eq "E1"`, []string{alice}},
		{`costCenter sw "CC-"`, []string{alice, carol}},
		{`memberOfGroups[id eq "g2"]`, []string{carol}},
		{`memberOfGroups[id eq "g3"]`, nil},
		{`title eq "say \"hi\""`, []string{carol}},
		{`(username eq "bob" or username eq "carol") and email ew "corp.example"`, []string{carol}},
	}
	for _, tc := range cases {
		r := c.do(http.MethodGet, "/users?filter="+url.QueryEscape(tc.filter), nil)
		if r.status != 200 {
			t.Errorf("%s: %d %s", tc.filter, r.status, r.raw)
			continue
		}
		var got []string
		for _, u := range r.body["_embedded"].(map[string]any)["users"].([]any) {
			got = append(got, u.(map[string]any)["id"].(string))
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.filter, got, tc.want)
		}
		if r.body["count"] != float64(len(tc.want)) {
			t.Errorf("%s: count %v", tc.filter, r.body["count"])
		}
	}
	for _, f := range []string{`username co "a"`, `nickname eq`, `foo eq "x"`, `username eq "a" and`} {
		r := c.do(http.MethodGet, "/users?filter="+url.QueryEscape(f), nil)
		if r.status != 400 || r.code() != "INVALID_DATA" || !slices.Contains(r.detailCodes(), "INVALID_FILTER:filter") {
			t.Errorf("%s: %d %s", f, r.status, r.raw)
		}
	}
}

func TestPaging(t *testing.T) {
	t.Parallel()
	s := newLooseServer(t, Options{MaxPageSize: 7})
	c := newClient(t, s)
	var want []string
	for i := range 23 {
		id, err := s.AddUser(minimalUser(fmt.Sprintf("user%02d", i)))
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, id)
	}
	walk := func(first string) (ids []string, sizes []int) {
		next := first
		for next != "" {
			r := c.do(http.MethodGet, next, nil)
			if r.status != 200 {
				t.Fatalf("GET %s: %d %s", next, r.status, r.raw)
			}
			users := r.body["_embedded"].(map[string]any)["users"].([]any)
			for _, u := range users {
				ids = append(ids, u.(map[string]any)["id"].(string))
			}
			sizes = append(sizes, int(r.body["size"].(float64)))
			if r.body["count"] != float64(23) && !strings.Contains(next, "filter") {
				t.Errorf("count %v", r.body["count"])
			}
			links := r.body["_links"].(map[string]any)
			if self := links["self"].(map[string]any)["href"].(string); !strings.HasPrefix(self, s.APIURL()+"/environments/") {
				t.Errorf("self link not absolute: %s", self)
			}
			next = ""
			if n, ok := links["next"].(map[string]any); ok {
				next = n["href"].(string)
				if !strings.HasPrefix(next, s.APIURL()+"/environments/"+s.EnvironmentID()+"/users?") {
					t.Fatalf("next link not absolute: %s", next)
				}
			}
		}
		return ids, sizes
	}
	// limit above MaxPageSize: pages of 7 (§3c "use the page size in the response").
	ids, sizes := walk(c.envPath("/users?limit=100"))
	if !slices.Equal(ids, want) || !slices.Equal(sizes, []int{7, 7, 7, 2}) {
		t.Fatalf("limit=100: sizes %v, %d ids (want %d in creation order)", sizes, len(ids), len(want))
	}
	ids, sizes = walk(c.envPath("/users?limit=5"))
	if !slices.Equal(ids, want) || !slices.Equal(sizes, []int{5, 5, 5, 5, 3}) {
		t.Fatalf("limit=5: sizes %v", sizes)
	}
	ids, _ = walk(c.envPath("/users"))
	if !slices.Equal(ids, want) {
		t.Fatal("no limit: wrong ids")
	}
	// A filter is carried through next links.
	fids, _ := walk(c.envPath("/users?limit=2&filter=" + url.QueryEscape(`username sw "user1"`)))
	if len(fids) != 10 || fids[0] != want[10] {
		t.Fatalf("filtered paging: %d ids", len(fids))
	}
	// A delete between pages neither repeats nor skips survivors (keyset cursor).
	r := c.do(http.MethodGet, "/users?limit=5", nil)
	next := r.body["_links"].(map[string]any)["next"].(map[string]any)["href"].(string)
	if err := s.DeleteUser(want[5]); err != nil {
		t.Fatal(err)
	}
	r = c.do(http.MethodGet, next, nil)
	if first := r.body["_embedded"].(map[string]any)["users"].([]any)[0].(map[string]any)["id"]; first != want[6] {
		t.Errorf("after delete, next page starts at %v, want %s", first, want[6])
	}

	// limit validation and cursor tampering.
	for _, q := range []string{"limit=0", "limit=1001", "limit=abc", "limit=-1"} {
		if r := c.do(http.MethodGet, "/users?"+q, nil); r.status != 400 || !slices.Contains(r.detailCodes(), "INVALID_VALUE:limit") {
			t.Errorf("%s: %d %s", q, r.status, r.raw)
		}
	}
	u, _ := url.Parse(next)
	cur := u.Query().Get("cursor")
	flip := func(i int) string {
		b := []byte(cur)
		if b[i] == 'B' {
			b[i] = 'C'
		} else {
			b[i] = 'B'
		}
		return string(b)
	}
	tampered := []string{flip(len(cur) - 1), flip(7), flip(9), "not base64!", "MTIz", cur + "AA"}
	for _, tc := range tampered {
		q := u.Query()
		q.Set("cursor", tc)
		if r := c.do(http.MethodGet, c.envPath("/users?"+q.Encode()), nil); r.status != 400 {
			t.Errorf("tampered cursor %q: %d", tc, r.status)
		}
	}
	// A cursor is bound to its filter.
	q := u.Query()
	q.Set("filter", `username sw "user"`)
	if r := c.do(http.MethodGet, c.envPath("/users?"+q.Encode()), nil); r.status != 400 {
		t.Errorf("cursor with another filter: %d", r.status)
	}
}

// FuzzParseFilter: no panics; a parsed filter's canonical form parses to
// an equal filter and is a fixed point of String.
func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{
		`username eq "alice"`, `name.family eq "Smith" and name.given sw "W"`,
		`((email eq "a") OR (email eq "b")) AND ((population.id eq "p"))`,
		`memberOfGroups[id eq "g1"] and name.family eq "demo"`, `enabled eq true`,
		`title eq "say \"hi\" \\ bye \u00e9\n"`, `a pr or (b eq "x")`, `(`, `"`, `a eq "\`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParseFilter(s)
		if err != nil {
			return
		}
		canon := p.String()
		q, err := ParseFilter(canon)
		if err != nil {
			t.Fatalf("canonical form %q of %q does not parse: %v", canon, s, err)
		}
		if !reflect.DeepEqual(p, q) {
			t.Fatalf("round trip changed the filter: %q -> %q", s, canon)
		}
		if q.String() != canon {
			t.Fatalf("String not a fixed point: %q vs %q", q.String(), canon)
		}
		_ = p.Match(func(string) (any, bool) { return "x", true })
		_ = checkFilter(p, userFilterAttrs)
	})
}
