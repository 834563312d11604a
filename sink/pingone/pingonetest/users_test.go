package pingonetest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestTokenEndpoint(t *testing.T) {
	t.Parallel()
	type tc struct {
		name       string
		authMethod string
		basic      bool   // send Basic credentials
		post       bool   // send form credentials
		secret     string // default: the right one
		clientID   string
		grant      string
		env        string
		ctype      string
		wantStatus int
		wantError  string
	}
	cases := []tc{
		{name: "basic ok", basic: true, wantStatus: 200},
		{name: "post ok", post: true, wantStatus: 200},
		{name: "basic only app, basic", authMethod: authBasic, basic: true, wantStatus: 200},
		{name: "basic only app, post", authMethod: authBasic, post: true, wantStatus: 401, wantError: "invalid_client"},
		{name: "post only app, basic", authMethod: authPost, basic: true, wantStatus: 401, wantError: "invalid_client"},
		{name: "post only app, post", authMethod: authPost, post: true, wantStatus: 200},
		{name: "wrong secret", basic: true, secret: "nope", wantStatus: 401, wantError: "invalid_client"},
		{name: "unknown client", post: true, clientID: "other", wantStatus: 401, wantError: "invalid_client"},
		{name: "no credentials", wantStatus: 401, wantError: "invalid_client"},
		{name: "both styles", basic: true, post: true, wantStatus: 400, wantError: "invalid_request"},
		{name: "wrong grant", basic: true, grant: "password", wantStatus: 400, wantError: "unsupported_grant_type"},
		{name: "missing grant", basic: true, grant: "-", wantStatus: 400, wantError: "invalid_request"},
		{name: "json body", basic: true, ctype: "application/json", wantStatus: 400, wantError: "invalid_request"},
		{name: "unknown environment", basic: true, env: "00000000-0000-0000-0000-000000000000", wantStatus: 404},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			s := NewServer(t, Options{AuthMethod: c.authMethod, TokenTTL: 30 * time.Minute})
			id, secret := s.ClientID(), s.ClientSecret()
			if c.secret != "" {
				secret = c.secret
			}
			if c.clientID != "" {
				id = c.clientID
			}
			form := url.Values{"grant_type": {"client_credentials"}}
			switch c.grant {
			case "":
			case "-":
				form.Del("grant_type")
			default:
				form.Set("grant_type", c.grant)
			}
			if c.post {
				form.Set("client_id", id)
				form.Set("client_secret", secret)
			}
			env := s.EnvironmentID()
			if c.env != "" {
				env = c.env
			}
			req, _ := http.NewRequest(http.MethodPost, s.AuthURL()+"/"+env+"/as/token", strings.NewReader(form.Encode()))
			ct := "application/x-www-form-urlencoded"
			if c.ctype != "" {
				ct = c.ctype
			}
			req.Header.Set("Content-Type", ct)
			if c.basic {
				req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
			}
			resp, err := s.Server.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body map[string]any
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != c.wantStatus {
				t.Fatalf("status %d, want %d: %v", resp.StatusCode, c.wantStatus, body)
			}
			if c.wantError != "" && body["error"] != c.wantError {
				t.Fatalf("error %v, want %s", body["error"], c.wantError)
			}
			if c.wantStatus == 200 {
				if body["token_type"] != "Bearer" || body["expires_in"] != float64(1800) || str(body["access_token"]) == "" {
					t.Fatalf("token response %v", body)
				}
				if _, ok := body["refresh_token"]; ok {
					t.Fatal("client_credentials must not return a refresh token (§2)")
				}
				if parts := strings.Split(body["access_token"].(string), "."); len(parts) != 3 {
					t.Fatalf("token not JWT-shaped: %v", body["access_token"])
				}
			}
		})
	}
}

func TestBearerRequired(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	clock := &now
	s := newLooseServer(t, Options{Now: func() time.Time { return *clock }, TokenTTL: time.Hour})
	c := newClient(t, s)
	if r := c.do(http.MethodGet, "/users", nil); r.status != 200 {
		t.Fatalf("valid token: %d %s", r.status, r.raw)
	}
	good := c.token
	for _, tc := range []struct{ name, token string }{
		{"missing", ""},
		{"garbage", "not-a-token"},
		{"forged JWT shape", "a.b.c"},
	} {
		c.token = tc.token
		r := c.do(http.MethodGet, "/users", nil)
		if r.status != 401 || r.code() != "ACCESS_FAILED" || !slices.Contains(r.detailCodes(), "INVALID_TOKEN:") {
			t.Errorf("%s: %d %s", tc.name, r.status, r.raw)
		}
	}
	// Expiry by the clock.
	c.token = good
	now = now.Add(time.Hour)
	if r := c.do(http.MethodGet, "/users", nil); r.status != 401 || r.code() != "ACCESS_FAILED" {
		t.Fatalf("expired by clock: %d %s", r.status, r.raw)
	}
	// Expiry by ExpireTokens.
	c.token = c.fetchToken()
	if r := c.do(http.MethodGet, "/users", nil); r.status != 200 {
		t.Fatalf("fresh token: %d", r.status)
	}
	s.ExpireTokens()
	if r := c.do(http.MethodGet, "/users", nil); r.status != 401 || !slices.Contains(r.detailCodes(), "INVALID_TOKEN:") {
		t.Fatalf("after ExpireTokens: %d %s", r.status, r.raw)
	}
}

func TestWrongEnvironmentAndUnknownPaths(t *testing.T) {
	t.Parallel()
	s := newLooseServer(t, Options{})
	c := newClient(t, s)
	other := s.APIURL() + "/environments/11111111-2222-3333-4444-555555555555/users"
	if r := c.do(http.MethodGet, other, nil); r.status != 403 || r.code() != "ACCESS_FAILED" {
		t.Fatalf("other env: %d %s", r.status, r.raw)
	}
	if r := c.do(http.MethodGet, "/applications", nil); r.status != 404 || r.code() != "NOT_FOUND" {
		t.Fatalf("unknown path: %d %s", r.status, r.raw)
	}
	if r := c.do(http.MethodDelete, "/users", nil); r.status != 405 {
		t.Fatalf("wrong method: %d %s", r.status, r.raw)
	}
	if r := c.do(http.MethodGet, "/users/no-such-user", nil); r.status != 404 || r.code() != "NOT_FOUND" {
		t.Fatalf("unknown user: %d %s", r.status, r.raw)
	}
}

func TestUserCRUD(t *testing.T) {
	t.Parallel()
	s := newLooseServer(t, Options{Populations: []string{"Default", "Staff"}, CustomAttributes: []string{"costCenter"}})
	c := newClient(t, s)

	// Create: server fields, default population, enabled default true,
	// unknown attributes and read-only ones dropped.
	r := c.do(http.MethodPost, "/users", map[string]any{
		"username": "alice", "email": "alice@example.com",
		"name":       map[string]any{"given": "Alice", "family": "Liddell", "nonsense": "x"},
		"costCenter": "CC-1", "xyzzy": "dropped", "Nickname": "dropped (case-sensitive names)",
	})
	if r.status != 201 {
		t.Fatalf("create: %d %s", r.status, r.raw)
	}
	u := r.body
	id := u["id"].(string)
	want := map[string]any{
		"username": "alice", "email": "alice@example.com", "enabled": true, "mfaEnabled": false,
		"costCenter": "CC-1",
	}
	for k, v := range want {
		if u[k] != v {
			t.Errorf("created %s = %v, want %v", k, u[k], v)
		}
	}
	for _, k := range []string{"xyzzy", "Nickname"} {
		if _, ok := u[k]; ok {
			t.Errorf("unknown attribute %s stored", k)
		}
	}
	if n := u["name"].(map[string]any); n["nonsense"] != nil || n["given"] != "Alice" {
		t.Errorf("name = %v", n)
	}
	if pop := u["population"].(map[string]any)["id"]; pop != s.PopulationID("Default") {
		t.Errorf("population %v, want default %s", pop, s.PopulationID("Default"))
	}
	if u["environment"].(map[string]any)["id"] != s.EnvironmentID() ||
		u["identityProvider"].(map[string]any)["type"] != "PING_ONE" ||
		u["lifecycle"].(map[string]any)["status"] != "ACCOUNT_OK" || str(u["createdAt"]) == "" || str(u["updatedAt"]) == "" {
		t.Errorf("server fields: %s", r.raw)
	}
	self := u["_links"].(map[string]any)["self"].(map[string]any)["href"]
	if self != s.APIURL()+"/environments/"+s.EnvironmentID()+"/users/"+id {
		t.Errorf("self link %v", self)
	}

	// enabled in a body is read-only: ignored on create.
	id2 := c.mustCreate(map[string]any{"username": "bob", "email": "bob@example.com", "population": map[string]any{"id": s.PopulationID("Staff")}})
	if g, _ := s.User(id2); g["population"].(map[string]any)["id"] != s.PopulationID("Staff") {
		t.Errorf("population on create not honoured: %v", g["population"])
	}

	// Read.
	if r := c.do(http.MethodGet, "/users/"+id, nil); r.status != 200 || r.body["username"] != "alice" {
		t.Fatalf("read: %d %s", r.status, r.raw)
	}

	// PATCH merges: title added, name replaced as a whole object, costCenter
	// cleared by null, username untouched.
	r = c.do(http.MethodPatch, "/users/"+id, map[string]any{"title": "Queen", "name": map[string]any{"given": "Alicia"}, "costCenter": nil})
	if r.status != 200 {
		t.Fatalf("patch: %d %s", r.status, r.raw)
	}
	if r.body["title"] != "Queen" || r.body["username"] != "alice" || r.body["costCenter"] != nil {
		t.Errorf("patch result %s", r.raw)
	}
	if n := r.body["name"].(map[string]any); n["given"] != "Alicia" || n["family"] != nil {
		t.Errorf("patch name = %v (objects are replaced whole)", n)
	}

	// PUT replaces: omitted title is cleared.
	r = c.do(http.MethodPut, "/users/"+id, map[string]any{"username": "alice", "email": "alice@new.example", "nickname": "Al"})
	if r.status != 200 {
		t.Fatalf("put: %d %s", r.status, r.raw)
	}
	if r.body["title"] != nil || r.body["name"] != nil || r.body["nickname"] != "Al" || r.body["email"] != "alice@new.example" {
		t.Errorf("put result %s", r.raw)
	}
	if r.body["enabled"] != true {
		t.Errorf("put touched enabled: %s", r.raw)
	}

	// PUT without username/email: REQUIRED_VALUE.
	r = c.do(http.MethodPut, "/users/"+id, map[string]any{"nickname": "x"})
	if r.status != 400 || r.code() != "INVALID_DATA" || !slices.Equal(sorted(r.detailCodes()), []string{"REQUIRED_VALUE:email", "REQUIRED_VALUE:username"}) {
		t.Errorf("put missing required: %d %s", r.status, r.raw)
	}

	// Enabled sub-resource.
	r = c.do(http.MethodPut, "/users/"+id+"/enabled", map[string]any{"enabled": false})
	if r.status != 200 || r.body["enabled"] != false {
		t.Fatalf("disable: %d %s", r.status, r.raw)
	}
	if r := c.do(http.MethodGet, "/users/"+id+"/enabled", nil); r.body["enabled"] != false {
		t.Fatalf("read enabled: %s", r.raw)
	}
	if g, _ := s.User(id); g["enabled"] != false || g["account"].(map[string]any)["canAuthenticate"] != false {
		t.Errorf("disabled user: %v", g)
	}
	if r := c.do(http.MethodPut, "/users/"+id+"/enabled", map[string]any{"enabled": "no"}); r.status != 400 {
		t.Errorf("enabled string: %d", r.status)
	}

	// Population sub-resource.
	staff := s.PopulationID("Staff")
	r = c.do(http.MethodPut, "/users/"+id+"/population", map[string]any{"id": staff})
	if r.status != 200 || r.body["id"] != staff {
		t.Fatalf("move: %d %s", r.status, r.raw)
	}
	if r := c.do(http.MethodGet, "/users/"+id+"/population", nil); r.body["id"] != staff {
		t.Fatalf("read population: %s", r.raw)
	}
	if r := c.do(http.MethodPut, "/users/"+id+"/population", map[string]any{"id": "nope"}); r.status != 400 || !slices.Contains(r.detailCodes(), "INVALID_VALUE:id") {
		t.Errorf("move to unknown: %d %s", r.status, r.raw)
	}

	// Delete.
	if r := c.do(http.MethodDelete, "/users/"+id, nil); r.status != 204 || len(r.raw) != 0 {
		t.Fatalf("delete: %d %s", r.status, r.raw)
	}
	if r := c.do(http.MethodGet, "/users/"+id, nil); r.status != 404 {
		t.Fatalf("read deleted: %d", r.status)
	}
	if r := c.do(http.MethodDelete, "/users/"+id, nil); r.status != 404 {
		t.Fatalf("delete twice: %d", r.status)
	}
	st := s.Stats()
	if st.ByOperation["createUser"] != 2 || st.ByOperation["deleteUser"] != 2 || st.Writes != 7 {
		t.Errorf("stats %+v", st)
	}
}

func sorted(s []string) []string { slices.Sort(s); return s }

func TestCreateMediaTypes(t *testing.T) {
	t.Parallel()
	s := newLooseServer(t, Options{})
	c := newClient(t, s)
	cases := []struct {
		ctype string
		body  map[string]any
		want  int
	}{
		{"application/json", minimalUser("json"), 201},
		{"application/json; charset=utf-8", minimalUser("json-charset"), 201},
		{"application/vnd.pingidentity.user.import+json", map[string]any{"username": "imp", "email": "imp@example.com",
			"password": map[string]any{"value": "{SSHA512}abc", "forceChange": true}, "lifecycle": map[string]any{"status": "VERIFICATION_REQUIRED"}, "emailVerified": true}, 201},
		{"text/plain", minimalUser("text"), 415},
		{"application/x-www-form-urlencoded", minimalUser("form"), 415},
	}
	for _, tc := range cases {
		r := c.do(http.MethodPost, "/users", tc.body, tc.ctype)
		if r.status != tc.want {
			t.Errorf("%s: %d %s, want %d", tc.ctype, r.status, r.raw, tc.want)
		}
		if tc.want == 415 && r.code() != "INVALID_REQUEST" {
			t.Errorf("%s: code %s", tc.ctype, r.code())
		}
	}
	imp := c.do(http.MethodGet, "/users?filter="+url.QueryEscape(`username eq "imp"`), nil)
	u := imp.body["_embedded"].(map[string]any)["users"].([]any)[0].(map[string]any)
	if u["lifecycle"].(map[string]any)["status"] != "VERIFICATION_REQUIRED" || u["emailVerified"] != true {
		t.Errorf("import fields %v", u)
	}
	if _, ok := u["password"]; ok {
		t.Error("password returned")
	}
	// Plain create cannot set emailVerified true (§3 import).
	b := minimalUser("ev")
	b["emailVerified"] = true
	if r := c.do(http.MethodPost, "/users", b); r.status != 400 {
		t.Errorf("emailVerified on plain create: %d", r.status)
	}
	if r := c.do(http.MethodPost, "/users", `{"username": "x",`); r.status != 400 || r.code() != "INVALID_REQUEST" {
		t.Errorf("malformed JSON: %d %s", r.status, r.raw)
	}
	if r := c.do(http.MethodPost, "/users", `["x"]`); r.status != 400 {
		t.Errorf("array body: %d %s", r.status, r.raw)
	}
}

func TestPopulationRules(t *testing.T) {
	t.Parallel()
	s := newLooseServer(t, Options{Populations: []string{"Default", "Staff"}})
	c := newClient(t, s)
	id := c.mustCreate(minimalUser("carol"))
	def := s.PopulationID("Default")

	// Unknown population on create.
	b := minimalUser("dan")
	b["population"] = map[string]any{"id": "00000000-0000-0000-0000-000000000000"}
	if r := c.do(http.MethodPost, "/users", b); r.status != 400 || !slices.Contains(r.detailCodes(), "INVALID_VALUE:population.id") {
		t.Errorf("unknown population: %d %s", r.status, r.raw)
	}
	// population cannot change via PUT/PATCH; the current one is accepted.
	put := minimalUser("carol")
	put["population"] = map[string]any{"id": def}
	if r := c.do(http.MethodPut, "/users/"+id, put); r.status != 200 {
		t.Errorf("put same population: %d %s", r.status, r.raw)
	}
	if r := c.do(http.MethodPatch, "/users/"+id, map[string]any{"population": map[string]any{"id": s.PopulationID("Staff")}}); r.status != 400 ||
		!slices.Contains(r.detailCodes(), "INVALID_VALUE:population.id") {
		t.Errorf("patch population: %d %s", r.status, r.raw)
	}
	// enabled in PATCH body is ignored.
	if r := c.do(http.MethodPatch, "/users/"+id, map[string]any{"enabled": false}); r.status != 200 || r.body["enabled"] != true {
		t.Errorf("patch enabled: %d %s", r.status, r.raw)
	}

	// Populations API.
	r := c.do(http.MethodGet, "/populations", nil)
	pops := r.body["_embedded"].(map[string]any)["populations"].([]any)
	if r.status != 200 || len(pops) != 2 || pops[0].(map[string]any)["default"] != true || pops[0].(map[string]any)["userCount"] != float64(1) {
		t.Fatalf("list populations: %s", r.raw)
	}
	for _, f := range []struct {
		filter string
		want   int
	}{{`name sw "St"`, 1}, {`name eq "default"`, 1}, {`id eq "` + def + `"`, 1}, {`name sw "x"`, 0}} {
		r := c.do(http.MethodGet, "/populations?filter="+url.QueryEscape(f.filter), nil)
		if got := len(r.body["_embedded"].(map[string]any)["populations"].([]any)); r.status != 200 || got != f.want {
			t.Errorf("filter %s: %d items, want %d (%s)", f.filter, got, f.want, r.raw)
		}
	}
	if r := c.do(http.MethodGet, "/populations?filter="+url.QueryEscape(`description eq "x"`), nil); r.status != 400 || !slices.Contains(r.detailCodes(), "INVALID_FILTER:filter") {
		t.Errorf("population filter on description: %d %s", r.status, r.raw)
	}
	r = c.do(http.MethodPost, "/populations", map[string]any{"name": "Contractors", "description": "temps"})
	if r.status != 201 || r.body["name"] != "Contractors" || r.body["default"] != false {
		t.Fatalf("create population: %d %s", r.status, r.raw)
	}
	newID := r.body["id"].(string)
	if r := c.do(http.MethodGet, "/populations/"+newID, nil); r.status != 200 || r.body["description"] != "temps" {
		t.Errorf("read population: %d %s", r.status, r.raw)
	}
	if r := c.do(http.MethodPost, "/populations", map[string]any{"name": "contractors"}); r.status != 400 || !slices.Contains(r.detailCodes(), "UNIQUENESS_VIOLATION:name") {
		t.Errorf("duplicate population: %d %s", r.status, r.raw)
	}
	if r := c.do(http.MethodPost, "/populations", map[string]any{"description": "no name"}); r.status != 400 || !slices.Contains(r.detailCodes(), "REQUIRED_VALUE:name") {
		t.Errorf("population without name: %d %s", r.status, r.raw)
	}
	// Delete guard: default, non-empty; then an empty one works.
	if r := c.do(http.MethodDelete, "/populations/"+def, nil); r.status != 400 {
		t.Errorf("delete default: %d", r.status)
	}
	if _, err := s.AddUser(map[string]any{"username": "inpop", "email": "i@example.com", "population": map[string]any{"id": newID}}); err != nil {
		t.Fatal(err)
	}
	if r := c.do(http.MethodDelete, "/populations/"+newID, nil); r.status != 400 {
		t.Errorf("delete non-empty: %d", r.status)
	}
	staff := s.PopulationID("Staff")
	if r := c.do(http.MethodDelete, "/populations/"+staff, nil); r.status != 204 {
		t.Errorf("delete empty: %d %s", r.status, r.raw)
	}
	if r := c.do(http.MethodGet, "/populations/"+staff, nil); r.status != 404 {
		t.Errorf("read deleted population: %d", r.status)
	}
}

func TestSchemas(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{CustomAttributes: []string{"costCenter", "badge-id"}})
	c := newClient(t, s)
	r := c.do(http.MethodGet, "/schemas", nil)
	schemas := r.body["_embedded"].(map[string]any)["schemas"].([]any)
	if r.status != 200 || len(schemas) != 1 || schemas[0].(map[string]any)["name"] != "User" {
		t.Fatalf("schemas: %s", r.raw)
	}
	sid := schemas[0].(map[string]any)["id"].(string)
	if r := c.do(http.MethodGet, "/schemas/"+sid, nil); r.status != 200 || r.body["name"] != "User" {
		t.Fatalf("schema: %d %s", r.status, r.raw)
	}
	r = c.do(http.MethodGet, "/schemas/"+sid+"/attributes", nil)
	attrs := r.body["_embedded"].(map[string]any)["attributes"].([]any)
	byName := map[string]map[string]any{}
	for _, a := range attrs {
		m := a.(map[string]any)
		byName[m["name"].(string)] = m
	}
	for _, n := range []string{"costCenter", "badge-id"} {
		a := byName[n]
		if a == nil || a["type"] != "STRING" || a["schemaType"] != "CUSTOM" || a["enabled"] != true || a["unique"] != false {
			t.Errorf("custom attribute %s: %v", n, a)
		}
	}
	if byName["username"]["schemaType"] != "CORE" || byName["email"]["schemaType"] != "STANDARD" {
		t.Errorf("core attributes: %v %v", byName["username"], byName["email"])
	}
	aid := byName["costCenter"]["id"].(string)
	if r := c.do(http.MethodGet, "/schemas/"+sid+"/attributes/"+aid, nil); r.status != 200 || r.body["name"] != "costCenter" {
		t.Errorf("attribute: %d %s", r.status, r.raw)
	}
	if r := c.do(http.MethodGet, "/schemas/nope/attributes", nil); r.status != 404 {
		t.Errorf("unknown schema: %d", r.status)
	}
	// Custom attributes only when defined.
	b := minimalUser("x")
	b["costCenter"], b["undefinedAttr"] = "CC", "dropped"
	r = c.do(http.MethodPost, "/users", b)
	if r.body["costCenter"] != "CC" || r.body["undefinedAttr"] != nil {
		t.Errorf("custom attributes: %s", r.raw)
	}
	if err := s.DefineAttribute("CostCenter"); err == nil {
		t.Error("attribute differing only in case accepted")
	}
}

func TestOutOfBand(t *testing.T) {
	t.Parallel()
	s := NewServer(t, Options{Populations: []string{"Default", "Staff"}})
	id, err := s.AddUser(map[string]any{"username": "pre", "email": "pre@example.com", "enabled": false, "externalId": "ext-1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddUser(map[string]any{"username": "PRE", "email": "x@example.com"}); err == nil {
		t.Error("duplicate username (case-insensitive) accepted out of band")
	}
	if _, err := s.AddUser(map[string]any{"username": "bad", "email": "not-an-email"}); err == nil {
		t.Error("bad email accepted out of band")
	}
	u, ok := s.User(id)
	if !ok || u["enabled"] != false || u["externalId"] != "ext-1" {
		t.Fatalf("AddUser: %v", u)
	}
	if err := s.EditUser(id, map[string]any{"title": "Drifted", "population": map[string]any{"id": s.PopulationID("Staff")}}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetEnabled(id, true); err != nil {
		t.Fatal(err)
	}
	u, _ = s.User(id)
	if u["title"] != "Drifted" || u["enabled"] != true || u["population"].(map[string]any)["id"] != s.PopulationID("Staff") {
		t.Errorf("after edits: %v", u)
	}
	if err := s.EditUser("nope", map[string]any{}); err == nil {
		t.Error("edit of unknown user")
	}
	if got := s.Users(); len(got) != 1 || got[0]["id"] != id {
		t.Errorf("Users() = %v", got)
	}
	if s.CreatePopulation("Staff") != s.PopulationID("Staff") {
		t.Error("CreatePopulation of an existing name should return its id")
	}
	if s.CreatePopulation("New") == "" || s.PopulationID("new") == "" {
		t.Error("CreatePopulation")
	}
}

func TestUsersSortedByCreation(t *testing.T) {
	t.Parallel()
	s := NewServer(t, Options{})
	var ids []string
	for i := range 20 {
		id, err := s.AddUser(minimalUser("u" + string(rune('a'+i))))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	for i, u := range s.Users() {
		if u["id"] != ids[i] {
			t.Fatalf("Users()[%d] = %v, want %s", i, u["id"], ids[i])
		}
	}
}

func TestOptionsValidate(t *testing.T) {
	t.Parallel()
	bad := []Options{
		{AuthMethod: "private_key_jwt"}, {RateLimit: -1}, {Burst: -1}, {FaultRate: 1.5}, {LostResponseRate: -0.1},
		{Latency: -time.Second}, {MaxPageSize: 1001}, {TokenTTL: -time.Minute},
		{Populations: []string{"A", "a"}}, {CustomAttributes: []string{"1bad"}}, {CustomAttributes: []string{"username"}},
	}
	for _, o := range bad {
		if _, err := New(o); err == nil {
			t.Errorf("New(%+v) accepted", o)
		}
	}
	e, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if e.ClientID() != "syncd-test-client" || e.ClientSecret() != "syncd-test-secret" || len(e.EnvironmentID()) != 36 ||
		e.DefaultPopulationID() != e.PopulationID("Default") || e.DefaultPopulationID() == "" {
		t.Errorf("defaults: %s %s %s", e.ClientID(), e.ClientSecret(), e.EnvironmentID())
	}
}

func TestMethodOverride(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{})
	c := newClient(t, s)
	id := c.mustCreate(minimalUser("override"))
	req, _ := http.NewRequest(http.MethodPost, c.envPath("/users/"+id), strings.NewReader(`{"title":"Overridden"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("X-HTTP-Method-Override", "PATCH")
	resp, err := s.Server.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if u, _ := s.User(id); resp.StatusCode != 200 || u["title"] != "Overridden" {
		t.Fatalf("override: %d %v", resp.StatusCode, u["title"])
	}
	if st := s.Stats(); st.ByOperation["updateUserPatch"] != 1 {
		t.Errorf("operation not counted as PATCH: %v", st.ByOperation)
	}
}
