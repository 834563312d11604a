package pingonetest

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

// TestScimPatchChangesOnlyTheNamedMembers: one PATCH in the SCIM form
// changes name.given and keeps the members it does not name.
func TestScimPatchChangesOnlyTheNamedMembers(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{CustomAttributes: []string{"costCenter"}})
	c := newClient(t, s)
	id := c.mustCreate(map[string]any{"username": "ada", "email": "ada@example.com", "title": "Countess", "costCenter": "CC-1",
		"name":    map[string]any{"given": "Ada", "middle": "Augusta", "family": "Lovelace"},
		"address": map[string]any{"locality": "London", "countryCode": "GB"}})
	r := c.do(http.MethodPatch, "/users/"+id, map[string]any{
		"schemas": []string{scimPatchSchema},
		"Operations": []map[string]any{
			{"op": "replace", "path": "name.given", "value": "Augusta Ada"},
			{"op": "Remove", "path": "address.countryCode"},
			{"op": "add", "path": "address.postalCode", "value": "W1"},
			{"op": "remove", "path": "costCenter"},
			{"op": "replace", "value": map[string]any{"title": "Analyst", "name": map[string]any{"family": "King"}}},
		},
	}, ScimPatchMediaType)
	if r.status != 200 {
		t.Fatalf("scim patch: %d %s", r.status, r.raw)
	}
	u, _ := s.User(id)
	name := u["name"].(map[string]any)
	if name["given"] != "Augusta Ada" || name["middle"] != "Augusta" || name["family"] != "King" {
		t.Errorf("name = %v, want given changed, middle kept, family merged", name)
	}
	addr := u["address"].(map[string]any)
	if addr["locality"] != "London" || addr["postalCode"] != "W1" || addr["countryCode"] != nil {
		t.Errorf("address = %v", addr)
	}
	if u["title"] != "Analyst" || u["costCenter"] != nil || u["username"] != "ada" {
		t.Errorf("user = %v", u)
	}
	// Removing the last member removes the object.
	c.do(http.MethodPatch, "/users/"+id, map[string]any{"Operations": []map[string]any{
		{"op": "remove", "path": "address.locality"}, {"op": "remove", "path": "address.postalCode"}}}, ScimPatchMediaType)
	if u, _ := s.User(id); u["address"] != nil {
		t.Errorf("address = %v after removing every member", u["address"])
	}
}

// TestScimPatchValidation: the SCIM form refuses what RFC 7644 §3.5.2
// refuses, and what the JSON PATCH refuses (the same attribute checks).
func TestScimPatchValidation(t *testing.T) {
	t.Parallel()
	s := newLooseServer(t, Options{})
	c := newClient(t, s)
	id := c.mustCreate(map[string]any{"username": "ada", "email": "ada@example.com", "name": map[string]any{"given": "Ada"}})
	c.mustCreate(map[string]any{"username": "bob", "email": "bob@example.com"})
	ops := func(o ...map[string]any) map[string]any { return map[string]any{"Operations": o} }
	cases := []struct {
		name   string
		body   any
		status int
		target string // a detail target expected ("" = any)
	}{
		{"no operations", map[string]any{"Operations": []any{}}, 400, "Operations"},
		{"plain JSON body", map[string]any{"title": "x"}, 400, "title"},
		{"unknown op", ops(map[string]any{"op": "move", "path": "title", "value": "x"}), 400, "Operations[0].op"},
		{"remove without path", ops(map[string]any{"op": "remove"}), 400, "Operations[0].path"},
		{"replace without value", ops(map[string]any{"op": "replace", "path": "title"}), 400, "Operations[0].value"},
		{"value filter", ops(map[string]any{"op": "replace", "path": `emails[type eq "work"].value`, "value": "x"}), 400, "Operations[0].path"},
		{"member of a simple attribute", ops(map[string]any{"op": "replace", "path": "username.x", "value": "x"}), 400, "Operations[0].path"},
		{"bad family name (pattern)", ops(map[string]any{"op": "replace", "path": "name.family", "value": "<script>"}), 400, ""},
		{"email not an address", ops(map[string]any{"op": "replace", "path": "email", "value": "nope"}), 400, ""},
		{"username taken", ops(map[string]any{"op": "replace", "path": "username", "value": "bob"}), 400, ""},
		{"required email removed", ops(map[string]any{"op": "remove", "path": "email"}), 400, ""},
		{"not JSON", `{"Operations": [`, 400, ""},
	}
	for _, tc := range cases {
		r := c.do(http.MethodPatch, "/users/"+id, tc.body, ScimPatchMediaType)
		if r.status != tc.status {
			t.Errorf("%s: %d %s, want %d", tc.name, r.status, r.raw, tc.status)
			continue
		}
		if tc.target != "" && !slices.ContainsFunc(r.detailCodes(), func(d string) bool { return strings.HasSuffix(d, ":"+tc.target) }) {
			t.Errorf("%s: details %v, want one for %s", tc.name, r.detailCodes(), tc.target)
		}
	}
	if u, _ := s.User(id); u["username"] != "ada" || u["email"] != "ada@example.com" || u["name"].(map[string]any)["given"] != "Ada" {
		t.Errorf("a refused patch changed the user: %v", u)
	}
	// The spec check flags the malformed ones too, and only those.
	var flagged int
	for _, v := range s.SpecViolations() {
		if strings.Contains(v, ScimPatchMediaType) {
			flagged++
		}
	}
	if flagged == 0 {
		t.Error("no malformed SCIM PATCH was flagged against the spec")
	}
	if r := c.do(http.MethodPatch, "/users/"+id, "{}", "application/vnd.pingidentity.user.other+json"); r.status != 415 {
		t.Errorf("unknown media type: %d", r.status)
	}
}
