package pingonetest

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"testing"
)

func (c *client) mustGroup(body map[string]any) string {
	c.t.Helper()
	r := c.do(http.MethodPost, "/groups", body)
	if r.status != http.StatusCreated {
		c.t.Fatalf("create group %v: %d %s", body, r.status, r.raw)
	}
	return r.body["id"].(string)
}

func (c *client) members(groupID string) []string {
	c.t.Helper()
	q := url.Values{"filter": {fmt.Sprintf(`memberOfGroups[id eq "%s"]`, groupID)}}
	r := c.do(http.MethodGet, "/users?"+q.Encode(), nil)
	if r.status != 200 {
		c.t.Fatalf("members of %s: %d %s", groupID, r.status, r.raw)
	}
	var ids []string
	for _, u := range r.body["_embedded"].(map[string]any)["users"].([]any) {
		ids = append(ids, u.(map[string]any)["id"].(string))
	}
	return ids
}

func TestGroupCRUDWithExternalID(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{Populations: []string{"Default", "Staff"}})
	c := newClient(t, s)
	id := c.mustGroup(map[string]any{"name": "Engineering", "description": "eng", "externalId": "cn=eng"})

	r := c.do(http.MethodGet, "/groups?"+url.Values{"filter": {`externalId eq "cn=eng"`}}.Encode(), nil)
	gs := r.body["_embedded"].(map[string]any)["groups"].([]any)
	if r.status != 200 || len(gs) != 1 || gs[0].(map[string]any)["id"] != id {
		t.Fatalf("find by externalId: %d %s", r.status, r.raw)
	}
	// PUT replaces: the description omitted is cleared.
	r = c.do(http.MethodPut, "/groups/"+id, map[string]any{"name": "Engineers", "externalId": "cn=eng"})
	if r.status != 200 || r.body["name"] != "Engineers" || r.body["description"] != nil {
		t.Fatalf("put: %d %s", r.status, r.raw)
	}
	// The population is set at create only.
	if r := c.do(http.MethodPut, "/groups/"+id, map[string]any{"name": "Engineers", "population": map[string]any{"id": s.PopulationID("Staff")}}); r.status != 400 {
		t.Errorf("move group to a population: %d %s", r.status, r.raw)
	}
	if r := c.do(http.MethodDelete, "/groups/"+id, nil); r.status != 204 {
		t.Errorf("delete: %d %s", r.status, r.raw)
	}
	if r := c.do(http.MethodGet, "/groups/"+id, nil); r.status != 404 {
		t.Errorf("read deleted: %d", r.status)
	}
}

func TestGroupNameRules(t *testing.T) {
	t.Parallel()
	s := newLooseServer(t, Options{Populations: []string{"Default", "Staff", "Contractors"}})
	c := newClient(t, s)
	staff, contractors := s.PopulationID("Staff"), s.PopulationID("Contractors")
	c.mustGroup(map[string]any{"name": "VPN", "population": map[string]any{"id": staff}})
	// The same name in another population is fine.
	c.mustGroup(map[string]any{"name": "VPN", "population": map[string]any{"id": contractors}})
	for _, tc := range []struct {
		name string
		body map[string]any
		want string
	}{
		{"same population", map[string]any{"name": "vpn", "population": map[string]any{"id": staff}}, "UNIQUENESS_VIOLATION:name"},
		{"env group vs population group", map[string]any{"name": "VPN"}, "UNIQUENESS_VIOLATION:name"},
		{"no name", map[string]any{"description": "x"}, "REQUIRED_VALUE:name"},
		{"empty name", map[string]any{"name": " "}, "INVALID_VALUE:name"},
		{"unknown population", map[string]any{"name": "X", "population": map[string]any{"id": "00000000-0000-0000-0000-000000000000"}}, "INVALID_VALUE:population.id"},
	} {
		if r := c.do(http.MethodPost, "/groups", tc.body); r.status != 400 || !slices.Contains(r.detailCodes(), tc.want) {
			t.Errorf("%s: %d %s, want %s", tc.name, r.status, r.raw, tc.want)
		}
	}
	c.mustGroup(map[string]any{"name": "All"})
	if r := c.do(http.MethodPost, "/groups", map[string]any{"name": "ALL", "population": map[string]any{"id": staff}}); r.status != 400 {
		t.Errorf("population group named like an env group: %d", r.status)
	}
}

func TestMembershipsDirectIndirectAndIdempotence(t *testing.T) {
	t.Parallel()
	s := newLooseServer(t, Options{})
	c := newClient(t, s)
	ada := c.mustCreate(minimalUser("ada"))
	bob := c.mustCreate(minimalUser("bob"))
	eng := c.mustGroup(map[string]any{"name": "Engineering"})
	plat := c.mustGroup(map[string]any{"name": "Platform"})

	if r := c.do(http.MethodPost, "/users/"+ada+"/memberOfGroups", map[string]any{"id": plat}); r.status != 201 || r.body["type"] != "DIRECT" {
		t.Fatalf("add: %d %s", r.status, r.raw)
	}
	// Adding again: 400 UNIQUENESS_VIOLATION.
	if r := c.do(http.MethodPost, "/users/"+ada+"/memberOfGroups", map[string]any{"id": plat}); r.status != 400 || !slices.Contains(r.detailCodes(), "UNIQUENESS_VIOLATION:id") {
		t.Errorf("add twice: %d %s", r.status, r.raw)
	}
	c.do(http.MethodPost, "/users/"+bob+"/memberOfGroups", map[string]any{"id": eng})
	// Nest Platform in Engineering: Platform's members become INDIRECT
	// members of Engineering.
	if r := c.do(http.MethodPost, "/groups/"+plat+"/memberOfGroups", map[string]any{"id": eng}); r.status != 201 {
		t.Fatalf("nest: %d %s", r.status, r.raw)
	}
	if got := c.members(eng); !slices.Equal(sorted(got), sorted([]string{ada, bob})) {
		t.Errorf("members of Engineering = %v, want ada and bob", got)
	}
	if got := c.members(plat); !slices.Equal(got, []string{ada}) {
		t.Errorf("members of Platform = %v", got)
	}
	// An indirect member may also be made a direct one: the group itself
	// is not a second group of its name (a directory often lists a user
	// both in a group and in a group nested in it).
	carl := c.mustCreate(minimalUser("carl"))
	c.do(http.MethodPost, "/users/"+carl+"/memberOfGroups", map[string]any{"id": plat})
	if r := c.do(http.MethodPost, "/users/"+carl+"/memberOfGroups", map[string]any{"id": eng}); r.status != 201 || r.body["type"] != "DIRECT" {
		t.Errorf("indirect member added directly: %d %s", r.status, r.raw)
	}
	for _, g := range []string{eng, plat} {
		if r := c.do(http.MethodDelete, "/users/"+carl+"/memberOfGroups/"+g, nil); r.status != 204 {
			t.Fatalf("remove carl: %d %s", r.status, r.raw)
		}
	}
	r := c.do(http.MethodGet, "/users/"+ada+"/memberOfGroups?expand=group", nil)
	types := map[string]string{}
	for _, m := range r.body["_embedded"].(map[string]any)["groupMemberships"].([]any) {
		mm := m.(map[string]any)
		types[mm["id"].(string)] = mm["type"].(string)
	}
	if types[plat] != "DIRECT" || types[eng] != "INDIRECT" {
		t.Errorf("membership types = %v", types)
	}
	// An indirect member of Engineering may also become a direct one:
	// the group itself is not "a second group of the same name" (SPEC
	// L3941 is about two groups).
	if r := c.do(http.MethodPost, "/users/"+ada+"/memberOfGroups", map[string]any{"id": eng}); r.status != 201 || r.body["type"] != "DIRECT" {
		t.Errorf("direct on top of indirect: %d %s", r.status, r.raw)
	}
	if r := c.do(http.MethodDelete, "/users/"+ada+"/memberOfGroups/"+eng, nil); r.status != 204 {
		t.Errorf("remove that direct membership: %d %s", r.status, r.raw)
	}
	// Only direct memberships can be removed; a second removal is 404.
	if r := c.do(http.MethodDelete, "/users/"+ada+"/memberOfGroups/"+eng, nil); r.status != 404 {
		t.Errorf("remove indirect: %d", r.status)
	}
	if r := c.do(http.MethodDelete, "/users/"+ada+"/memberOfGroups/"+plat, nil); r.status != 204 {
		t.Errorf("remove: %d %s", r.status, r.raw)
	}
	if r := c.do(http.MethodDelete, "/users/"+ada+"/memberOfGroups/"+plat, nil); r.status != 404 {
		t.Errorf("remove twice: %d", r.status)
	}
	// Circular nesting is allowed; nesting twice is not; self-nesting is not.
	if r := c.do(http.MethodPost, "/groups/"+eng+"/memberOfGroups", map[string]any{"id": plat}); r.status != 201 {
		t.Errorf("circular nesting: %d %s", r.status, r.raw)
	}
	if r := c.do(http.MethodPost, "/groups/"+eng+"/memberOfGroups", map[string]any{"id": plat}); r.status != 400 {
		t.Errorf("nest twice: %d", r.status)
	}
	if r := c.do(http.MethodPost, "/groups/"+eng+"/memberOfGroups", map[string]any{"id": eng}); r.status != 400 {
		t.Errorf("self nesting: %d", r.status)
	}
	if got := c.members(plat); !slices.Equal(got, []string{bob}) {
		t.Errorf("members of Platform through the cycle = %v, want bob", got)
	}
	if r := c.do(http.MethodDelete, "/groups/"+eng+"/memberOfGroups/"+plat, nil); r.status != 204 {
		t.Errorf("unnest: %d %s", r.status, r.raw)
	}
	// A user in two groups of one name is refused.
	pop := s.CreatePopulation("Staff")
	c.mustGroup(map[string]any{"name": "Ops", "population": map[string]any{"id": pop}})
	ops2 := c.mustGroup(map[string]any{"name": "Ops", "population": map[string]any{"id": s.CreatePopulation("Other")}})
	if r := c.do(http.MethodPost, "/users/"+ada+"/memberOfGroups", map[string]any{"id": ops2}); r.status != 400 {
		t.Errorf("add to another population's group: %d %s", r.status, r.raw)
	}
}

func TestPopulationCouplingAndNestingRules(t *testing.T) {
	t.Parallel()
	s := newLooseServer(t, Options{Populations: []string{"Default", "Staff"}})
	c := newClient(t, s)
	def, staff := s.PopulationID("Default"), s.PopulationID("Staff")
	ada := c.mustCreate(minimalUser("ada"))
	popGroup := c.mustGroup(map[string]any{"name": "Default-VPN", "population": map[string]any{"id": def}})
	envGroup := c.mustGroup(map[string]any{"name": "Everyone"})
	for _, g := range []string{popGroup, envGroup} {
		if r := c.do(http.MethodPost, "/users/"+ada+"/memberOfGroups", map[string]any{"id": g}); r.status != 201 {
			t.Fatalf("add: %d %s", r.status, r.raw)
		}
	}
	// §5a: moving the user drops the old population's groups only.
	if r := c.do(http.MethodPut, "/users/"+ada+"/population", map[string]any{"id": staff}); r.status != 200 {
		t.Fatalf("move: %d %s", r.status, r.raw)
	}
	if got := s.DirectMembers(popGroup); len(got) != 0 {
		t.Errorf("population group kept the moved user: %v", got)
	}
	if got := s.DirectMembers(envGroup); !slices.Equal(got, []string{ada}) {
		t.Errorf("environment group lost the moved user: %v", got)
	}
	// An environment group cannot be nested in a population group.
	if r := c.do(http.MethodPost, "/groups/"+envGroup+"/memberOfGroups", map[string]any{"id": popGroup}); r.status != 400 {
		t.Errorf("env group in population group: %d", r.status)
	}
	// At most 250 nested groups per group.
	parent := c.mustGroup(map[string]any{"name": "Parent"})
	for i := 0; i < 250; i++ {
		id, err := s.AddGroup(fmt.Sprintf("child-%d", i), "", "")
		if err != nil {
			t.Fatal(err)
		}
		if r := c.do(http.MethodPost, "/groups/"+id+"/memberOfGroups", map[string]any{"id": parent}); r.status != 201 {
			t.Fatalf("nest %d: %d %s", i, r.status, r.raw)
		}
	}
	extra := c.mustGroup(map[string]any{"name": "one-too-many"})
	if r := c.do(http.MethodPost, "/groups/"+extra+"/memberOfGroups", map[string]any{"id": parent}); r.status != 400 || !slices.Contains(r.detailCodes(), "SIZE_LIMIT_EXCEEDED:id") {
		t.Errorf("251st nested group: %d %s", r.status, r.raw)
	}
}
