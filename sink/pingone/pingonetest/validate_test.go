package pingonetest

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
)

func TestCheckEmail(t *testing.T) {
	t.Parallel()
	good := []string{
		"a@b", "alice@example.com", "first.last+tag@sub.example.co.uk", `"quoted local"@example.com`,
		`"a\"b"@example.com`, "user@[192.0.2.1]", "o'brien@example.ie", "!#$%&'*+-/=?^_`{|}~@example.com",
		"用户@例子.广告", "x@localhost",
	}
	bad := []string{
		"", "plain", "@example.com", "a@", "a@@b", "a..b@example.com", ".a@example.com", "a.@example.com",
		"a b@example.com", "a@exa mple.com", "a@example..com", "Alice <a@example.com>", `"unterminated@example.com`,
		"a@[1.2.3.4", "a\x00@example.com",
	}
	for _, s := range good {
		if msg := checkEmail(s); msg != "" {
			t.Errorf("checkEmail(%q) rejected: %s", s, msg)
		}
	}
	for _, s := range bad {
		if checkEmail(s) == "" {
			t.Errorf("checkEmail(%q) accepted", s)
		}
	}
}

func TestUserValidation(t *testing.T) {
	t.Parallel()
	s := newLooseServer(t, Options{CustomAttributes: []string{"costCenter"}})
	c := newClient(t, s)
	c.mustCreate(minimalUser("taken"))

	n := 0
	with := func(kv ...any) map[string]any {
		n++
		u := minimalUser(fmt.Sprintf("valid%d", n))
		for i := 0; i < len(kv); i += 2 {
			u[kv[i].(string)] = kv[i+1]
		}
		return u
	}
	long := func(n int) string { return strings.Repeat("x", n) }
	cases := []struct {
		name string
		body map[string]any
		want []string // detail code:target; nil = 201
	}{
		{"minimal", minimalUser("ok1"), nil},
		{"missing username", map[string]any{"email": "a@example.com"}, []string{"REQUIRED_VALUE:username"}},
		{"missing email", map[string]any{"username": "noemail"}, []string{"REQUIRED_VALUE:email"}},
		{"missing both", map[string]any{"title": "x"}, []string{"REQUIRED_VALUE:email", "REQUIRED_VALUE:username"}},
		{"null username", map[string]any{"username": nil, "email": "a@example.com"}, []string{"REQUIRED_VALUE:username"}},
		{"username 128", map[string]any{"username": long(128), "email": "a@example.com"}, nil},
		{"username 129", map[string]any{"username": long(129), "email": "a@example.com"}, []string{"INVALID_VALUE:username"}},
		{"username empty", map[string]any{"username": "", "email": "a@example.com"}, []string{"INVALID_VALUE:username"}},
		{"username control char", map[string]any{"username": "a\tb", "email": "a@example.com"}, []string{"INVALID_VALUE:username"}},
		{"username email-like", map[string]any{"username": "x.y@example.com", "email": "a@example.com"}, nil},
		{"username unicode", map[string]any{"username": "Zoë Ørsted €", "email": "a@example.com"}, nil},
		{"username taken", map[string]any{"username": "taken", "email": "a@example.com"}, []string{"UNIQUENESS_VIOLATION:username"}},
		{"username taken other case", map[string]any{"username": "TAKEN", "email": "a@example.com"}, []string{"UNIQUENESS_VIOLATION:username"}},
		{"username number", map[string]any{"username": 5, "email": "a@example.com"}, []string{"INVALID_VALUE:username"}},
		{"email invalid", with("email", "not-an-email"), []string{"INVALID_VALUE:email"}},
		{"email display name", with("email", "Al <al@example.com>"), []string{"INVALID_VALUE:email"}},
		{"name ok", with("name", map[string]any{"given": "Ann-Marie", "family": "O'Neil-Smith Jr.", "formatted": "Ann O'Neil", "middle": "B.", "honorificPrefix": "Dr.", "honorificSuffix": "III"}), nil},
		{"name.family symbol", with("name", map[string]any{"family": "Smith!"}), []string{"INVALID_VALUE:name.family"}},
		{"name.formatted comma", with("name", map[string]any{"formatted": "Jensen, Barbara"}), []string{"INVALID_VALUE:name.formatted"}},
		{"name.given symbol ok", with("name", map[string]any{"given": "Bob (the 2nd) ♥"}), nil},
		{"name.given 257", with("name", map[string]any{"given": long(257)}), []string{"INVALID_VALUE:name.given"}},
		{"name.given empty", with("name", map[string]any{"given": ""}), []string{"INVALID_VALUE:name.given"}},
		{"name not object", with("name", "Bob"), []string{"INVALID_VALUE:name"}},
		{"name.given number", with("name", map[string]any{"given": 1}), []string{"INVALID_VALUE:name.given"}},
		{"countryCode ok", with("address", map[string]any{"countryCode": "US"}), nil},
		{"countryCode lower", with("address", map[string]any{"countryCode": "us"}), []string{"INVALID_VALUE:address.countryCode"}},
		{"countryCode three", with("address", map[string]any{"countryCode": "USA"}), []string{"INVALID_VALUE:address.countryCode"}},
		{"streetAddress newline", with("address", map[string]any{"streetAddress": "1 Main St\nApt 2", "postalCode": "98701", "locality": "Springfield", "region": "WA"}), nil},
		{"streetAddress symbol", with("address", map[string]any{"streetAddress": "1 Main St ★"}), []string{"INVALID_VALUE:address.streetAddress"}},
		{"postalCode 41", with("address", map[string]any{"postalCode": long(41)}), []string{"INVALID_VALUE:address.postalCode"}},
		{"timezone ok", with("timezone", "America/Los_Angeles"), nil},
		{"timezone UTC", with("timezone", "UTC"), []string{"INVALID_VALUE:timezone"}},
		{"timezone three parts", with("timezone", "America/Argentina/Buenos_Aires"), []string{"INVALID_VALUE:timezone"}},
		{"primaryPhone ok", with("primaryPhone", "+1.2225554444"), nil},
		{"primaryPhone no digit", with("primaryPhone", "call me"), []string{"INVALID_VALUE:primaryPhone"}},
		{"primaryPhone 33", with("primaryPhone", strings.Repeat("1", 33)), []string{"INVALID_VALUE:primaryPhone"}},
		{"mobilePhone empty", with("mobilePhone", ""), []string{"INVALID_VALUE:mobilePhone"}},
		{"externalId 1024", with("externalId", long(1024)), nil},
		{"externalId 1025", with("externalId", long(1025)), []string{"INVALID_VALUE:externalId"}},
		{"externalId empty", with("externalId", ""), []string{"INVALID_VALUE:externalId"}},
		{"title 257", with("title", long(257)), []string{"INVALID_VALUE:title"}},
		{"nickname ok", with("nickname", "Putty"), nil},
		{"locale ok", with("locale", "es-419"), nil},
		{"preferredLanguage ok", with("preferredLanguage", "en-gb;q=0.8, en;q=0.7"), nil},
		{"preferredLanguage bad", with("preferredLanguage", "en_GB"), []string{"INVALID_VALUE:preferredLanguage"}},
		{"photo ok", with("photo", map[string]any{"href": "https://example.com/a.png"}), nil},
		{"photo ftp", with("photo", map[string]any{"href": "ftp://example.com/a.png"}), []string{"INVALID_VALUE:photo.href"}},
		{"photo without href", with("photo", map[string]any{}), []string{"REQUIRED_VALUE:photo.href"}},
		{"type ok", with("type", "Contractor"), nil},
		{"accountId ok", with("accountId", "5"), nil},
		{"custom number", with("costCenter", 12), []string{"INVALID_VALUE:costCenter"}},
		{"mfaEnabled string", with("mfaEnabled", "yes"), []string{"INVALID_VALUE:mfaEnabled"}},
		{"password value number", with("password", map[string]any{"value": 1}), []string{"INVALID_VALUE:password.value"}},
		{"several at once", with("email", "x", "title", long(300), "address", map[string]any{"countryCode": "u"}),
			[]string{"INVALID_VALUE:address.countryCode", "INVALID_VALUE:email", "INVALID_VALUE:title"}},
		{"profile over 16KB", with("costCenter", long(maxProfileBytes)), []string{"SIZE_LIMIT_EXCEEDED:"}},
	}
	for _, tc := range cases {
		r := c.do(http.MethodPost, "/users", tc.body)
		if tc.want == nil {
			if r.status != 201 {
				t.Errorf("%s: %d %s, want 201", tc.name, r.status, r.raw)
			}
			continue
		}
		if r.status != 400 || r.code() != "INVALID_DATA" || !slices.Equal(sorted(r.detailCodes()), tc.want) {
			t.Errorf("%s: %d %s, want 400 INVALID_DATA %v", tc.name, r.status, r.raw, tc.want)
		}
	}
	// innerError carries the range and the pattern (§6a).
	r := c.do(http.MethodPost, "/users", map[string]any{"username": long(129), "email": "a@example.com"})
	d := r.body["details"].([]any)[0].(map[string]any)
	inner, _ := d["innerError"].(map[string]any)
	if inner["rangeMinimumValue"] != float64(1) || inner["rangeMaximumValue"] != float64(128) {
		t.Errorf("innerError %v", d)
	}
	r = c.do(http.MethodPost, "/users", with("name", map[string]any{"family": "X!"}))
	d = r.body["details"].([]any)[0].(map[string]any)
	if inner, _ := d["innerError"].(map[string]any); inner["allowedPattern"] != patN {
		t.Errorf("innerError %v", d)
	}
	if s.UserCount() != 1+countNil(cases) {
		t.Errorf("%d users stored; failed creates must store nothing", s.UserCount())
	}
}

func countNil(cases []struct {
	name string
	body map[string]any
	want []string
}) int {
	n := 0
	for _, c := range cases {
		if c.want == nil {
			n++
		}
	}
	return n
}

func TestUpdateValidation(t *testing.T) {
	t.Parallel()
	s := newLooseServer(t, Options{})
	c := newClient(t, s)
	id := c.mustCreate(minimalUser("upd"))
	c.mustCreate(minimalUser("other"))
	cases := []struct {
		method string
		body   map[string]any
		want   []string
	}{
		{http.MethodPatch, map[string]any{"username": nil}, []string{"REQUIRED_VALUE:username"}},
		{http.MethodPatch, map[string]any{"email": nil}, []string{"REQUIRED_VALUE:email"}},
		{http.MethodPatch, map[string]any{"username": "OTHER"}, []string{"UNIQUENESS_VIOLATION:username"}},
		{http.MethodPatch, map[string]any{"title": ""}, []string{"INVALID_VALUE:title"}},
		{http.MethodPatch, map[string]any{"username": "upd"}, nil},  // renaming to itself is fine
		{http.MethodPatch, map[string]any{"mfaEnabled": true}, nil}, // ignored on update
		{http.MethodPut, map[string]any{"username": "other", "email": "e@example.com"}, []string{"UNIQUENESS_VIOLATION:username"}},
		{http.MethodPut, map[string]any{"username": "upd", "email": "bad"}, []string{"INVALID_VALUE:email"}},
		{http.MethodPut, map[string]any{"username": "renamed", "email": "e@example.com"}, nil},
	}
	for _, tc := range cases {
		r := c.do(tc.method, "/users/"+id, tc.body)
		if tc.want == nil {
			if r.status != 200 {
				t.Errorf("%s %v: %d %s", tc.method, tc.body, r.status, r.raw)
			}
			if tc.body["mfaEnabled"] != nil && r.body["mfaEnabled"] != false {
				t.Errorf("mfaEnabled changed by PATCH: %s", r.raw)
			}
			continue
		}
		if r.status != 400 || !slices.Equal(sorted(r.detailCodes()), tc.want) {
			t.Errorf("%s %v: %d %s, want %v", tc.method, tc.body, r.status, r.raw, tc.want)
		}
	}
	if u, _ := s.User(id); u["username"] != "renamed" {
		t.Errorf("final user %v", u)
	}
	if r := c.do(http.MethodPatch, "/users/"+id, map[string]any{"title": "x"}, "text/plain"); r.status != 415 {
		t.Errorf("PATCH text/plain: %d", r.status)
	}
}
