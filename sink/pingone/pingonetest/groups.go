package pingonetest

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Groups, memberships and nesting, as API-NOTES §5a describes them (SPEC
// `Group` L3915-3976, groups paths L16927-17267, `GroupMembership` L3978,
// memberships L29229-29440, `GroupNesting` L4001, nesting paths
// L17268-17520).

// Limits from §5a (platform limits page).
const (
	maxGroupsPerEnv    = 100_000
	maxGroupsPerUser   = 10_000
	maxNestedPerGroup  = 250
	maxGroupNameLength = 256 // [U]: no documented bound; a generous one
)

// group is a stored group. parents are the groups it is nested in
// (POST /groups/{this}/memberOfGroups {"id": parent}).
type group struct {
	seq                  uint64
	id, name, desc, ext  string
	popID                string // "" = environment-level group
	customData           map[string]any
	parents              []string
	directUsers          int
	createdAt, updatedAt time.Time
}

func (e *Emulator) groupLocked(id string) (*group, *response) {
	g := e.groups[id]
	if g == nil {
		return nil, notFound()
	}
	return g, nil
}

func (e *Emulator) renderGroupLocked(base string, g *group) map[string]any {
	env := e.opts.EnvironmentID
	self := fmt.Sprintf("%s/environments/%s/groups/%s", base, env, g.id)
	m := map[string]any{
		"_links":             map[string]any{"self": map[string]any{"href": self}, "environment": map[string]any{"href": base + "/environments/" + env}},
		"id":                 g.id,
		"environment":        map[string]any{"id": env},
		"name":               g.name,
		"displayName":        g.name, // SPEC: identical to name for groups created on PingOne
		"directMemberCounts": map[string]any{"users": g.directUsers},
	}
	if g.desc != "" {
		m["description"] = g.desc
	}
	if g.ext != "" {
		m["externalId"] = g.ext
	}
	if g.popID != "" {
		m["population"] = map[string]any{"id": g.popID}
	}
	if g.customData != nil {
		m["customData"] = copyAttrs(g.customData)
	}
	return m
}

// groupInput is a parsed Group body (create or PUT).
type groupInput struct {
	name, desc, ext string
	popID           string
	customData      map[string]any
}

func parseGroupInput(body map[string]any) (groupInput, []detail) {
	var in groupInput
	var ds []detail
	str := func(key string) string {
		v, ok := body[key]
		if !ok || v == nil {
			return ""
		}
		s, ok := v.(string)
		if !ok {
			ds = append(ds, detail{Code: "INVALID_VALUE", Target: key, Message: key + " must be a string"})
		}
		return s
	}
	if body["name"] == nil {
		ds = append(ds, detail{Code: "REQUIRED_VALUE", Target: "name", Message: "name is required"})
	} else {
		in.name = str("name")
		if strings.TrimSpace(in.name) == "" {
			ds = append(ds, detail{Code: "INVALID_VALUE", Target: "name", Message: "name must not be empty"})
		} else if len([]rune(in.name)) > maxGroupNameLength {
			ds = append(ds, detail{Code: "INVALID_VALUE", Target: "name", Message: "name is too long",
				InnerError: map[string]any{"rangeMinimumValue": 1, "rangeMaximumValue": maxGroupNameLength}})
		}
	}
	in.desc = str("description")
	in.ext = str("externalId")
	if len(in.ext) > 1024 {
		ds = append(ds, detail{Code: "INVALID_VALUE", Target: "externalId", Message: "externalId is too long"})
	}
	if v, ok := body["population"]; ok && v != nil {
		p, ok := v.(map[string]any)
		id, _ := p["id"].(string)
		if !ok || id == "" {
			ds = append(ds, detail{Code: "INVALID_VALUE", Target: "population.id", Message: "population must be an object with an id"})
		}
		in.popID = id
	}
	if v, ok := body["customData"]; ok && v != nil {
		cd, ok := v.(map[string]any)
		if !ok {
			ds = append(ds, detail{Code: "INVALID_VALUE", Target: "customData", Message: "customData must be an object"})
		}
		in.customData = cd
	}
	if v, ok := body["userFilter"]; ok && v != nil {
		// Dynamic membership is not emulated: refuse rather than ignore.
		ds = append(ds, detail{Code: "INVALID_VALUE", Target: "userFilter", Message: "userFilter is not supported by this emulator"})
	}
	return in, ds
}

// nameTakenLocked applies §5a's name rules: a name may repeat across
// populations, but not within one population, not within the environment
// level, and a population group may not share its name with an
// environment group (SPEC L3941). Case-insensitive [U], the stricter way.
func (e *Emulator) nameTakenLocked(name, popID, exceptID string) bool {
	for _, g := range e.groupOrder {
		if g.id == exceptID || !strings.EqualFold(g.name, name) {
			continue
		}
		if g.popID == popID || g.popID == "" || popID == "" {
			return true
		}
	}
	return false
}

func (e *Emulator) createGroup(ar *apiRequest) *response {
	if resp := requireJSON(ar.r); resp != nil {
		return resp
	}
	body, resp := decodeObject(ar.body)
	if resp != nil {
		return resp
	}
	in, ds := parseGroupInput(body)
	if len(ds) > 0 {
		return invalidData(ds...)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	g, ds := e.createGroupLocked(in)
	if len(ds) > 0 {
		return invalidData(ds...)
	}
	return &response{status: http.StatusCreated, body: e.renderGroupLocked(ar.base, g)}
}

func (e *Emulator) createGroupLocked(in groupInput) (*group, []detail) {
	if in.popID != "" && e.populations[in.popID] == nil {
		return nil, []detail{{Code: "INVALID_VALUE", Target: "population.id", Message: "population.id does not reference an existing population"}}
	}
	if e.nameTakenLocked(in.name, in.popID, "") {
		return nil, []detail{uniquenessOf("name", "a group with this name already exists at this level (or clashes with an environment group)")}
	}
	if len(e.groups) >= maxGroupsPerEnv {
		// §5a: 100,000 groups per environment. The error code is [U].
		return nil, []detail{{Code: "SIZE_LIMIT_EXCEEDED", Target: "name", Message: "the environment holds the maximum number of groups",
			InnerError: map[string]any{"maximumValue": maxGroupsPerEnv}}}
	}
	e.seq++
	now := e.now()
	g := &group{seq: e.seq, id: uuid.NewString(), name: in.name, desc: in.desc, ext: in.ext, popID: in.popID,
		customData: in.customData, createdAt: now, updatedAt: now}
	e.groups[g.id] = g
	e.groupOrder = append(e.groupOrder, g)
	return g, nil
}

func uniquenessOf(target, msg string) detail {
	return detail{Code: "UNIQUENESS_VIOLATION", Target: target, Message: msg}
}

func (e *Emulator) readGroup(ar *apiRequest) *response {
	e.mu.Lock()
	defer e.mu.Unlock()
	g, resp := e.groupLocked(ar.params["groupID"])
	if resp != nil {
		return resp
	}
	m := e.renderGroupLocked(ar.base, g)
	if ar.r.URL.Query().Get("include") == "totalMemberCounts" {
		m["totalMemberCounts"] = map[string]any{"users": e.totalMembersLocked(g)}
	}
	return &response{status: http.StatusOK, body: m}
}

// updateGroup is PUT: name required, omitted mutable members cleared; the
// population is immutable (§5a).
func (e *Emulator) updateGroup(ar *apiRequest) *response {
	if resp := requireJSON(ar.r); resp != nil {
		return resp
	}
	body, resp := decodeObject(ar.body)
	if resp != nil {
		return resp
	}
	in, ds := parseGroupInput(body)
	if len(ds) > 0 {
		return invalidData(ds...)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	g, resp := e.groupLocked(ar.params["groupID"])
	if resp != nil {
		return resp
	}
	if _, given := body["population"]; given && in.popID != g.popID {
		return invalidData(detail{Code: "INVALID_VALUE", Target: "population.id", Message: "a group cannot move between populations or levels"})
	}
	if e.nameTakenLocked(in.name, g.popID, g.id) {
		return invalidData(uniquenessOf("name", "a group with this name already exists at this level"))
	}
	g.name, g.desc, g.ext, g.customData = in.name, in.desc, in.ext, in.customData
	g.updatedAt = e.now()
	return &response{status: http.StatusOK, body: e.renderGroupLocked(ar.base, g)}
}

func (e *Emulator) deleteGroup(ar *apiRequest) *response {
	e.mu.Lock()
	defer e.mu.Unlock()
	g, resp := e.groupLocked(ar.params["groupID"])
	if resp != nil {
		return resp
	}
	e.deleteGroupLocked(g)
	return &response{status: http.StatusNoContent}
}

func (e *Emulator) deleteGroupLocked(g *group) {
	delete(e.groups, g.id)
	for i, o := range e.groupOrder {
		if o == g {
			e.groupOrder = append(e.groupOrder[:i], e.groupOrder[i+1:]...)
			break
		}
	}
	for _, o := range e.groupOrder {
		o.parents = without(o.parents, g.id)
	}
	for _, u := range e.order {
		u.groups = without(u.groups, g.id)
	}
}

func without(ids []string, id string) []string {
	for i, x := range ids {
		if x == id {
			return append(ids[:i:i], ids[i+1:]...)
		}
	}
	return ids
}

// groupFilterAttrs: SPEC readAllGroups shows `name eq "Training"`; the
// Group descriptions name id and externalId as searchable. sw on name [I].
var groupFilterAttrs = map[string]filterAttr{
	"id":            {ops: opsOf("eq")},
	"name":          {ops: opsOf("eq", "sw")},
	"externalId":    {ops: opsOf("eq")},
	"population.id": {ops: opsOf("eq")},
}

func (e *Emulator) listGroups(ar *apiRequest) *response {
	var f Filter
	if s := ar.r.URL.Query().Get("filter"); s != "" {
		var err error
		f, err = ParseFilter(s)
		if err == nil {
			err = checkFilter(f, groupFilterAttrs)
		}
		if err != nil {
			return invalidFilter(err)
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	var items []listItem
	for _, g := range e.groupOrder {
		if f != nil && !f.Match(func(attr string) (any, bool) {
			switch attr {
			case "id":
				return g.id, true
			case "name":
				return g.name, true
			case "externalId":
				return g.ext, g.ext != ""
			case "population.id":
				return g.popID, g.popID != ""
			}
			return nil, false
		}) {
			continue
		}
		items = append(items, listItem{seq: g.seq, render: func() map[string]any { return e.renderGroupLocked(ar.base, g) }})
	}
	return e.pageLocked(ar, "groups", items)
}

// ancestorsLocked returns every group that contains g directly or through
// nesting (cycle-safe: circular nesting is allowed, §5a), without g itself
// unless a cycle leads back to it.
func (e *Emulator) ancestorsLocked(ids []string) map[string]bool {
	seen := map[string]bool{}
	stack := append([]string(nil), ids...)
	for len(stack) > 0 {
		id := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		g := e.groups[id]
		if g == nil {
			continue
		}
		for _, p := range g.parents {
			if !seen[p] {
				seen[p] = true
				stack = append(stack, p)
			}
		}
	}
	return seen
}

// descendantsLocked returns the groups nested in g, at any depth.
func (e *Emulator) descendantsLocked(id string) map[string]bool {
	children := map[string][]string{}
	for _, o := range e.groupOrder {
		for _, p := range o.parents {
			children[p] = append(children[p], o.id)
		}
	}
	seen := map[string]bool{}
	stack := []string{id}
	for len(stack) > 0 {
		x := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, c := range children[x] {
			if !seen[c] && c != id {
				seen[c] = true
				stack = append(stack, c)
			}
		}
	}
	return seen
}

// effectiveGroupsLocked is u's direct groups plus the groups they are
// nested in (INDIRECT memberships).
func (e *Emulator) effectiveGroupsLocked(u *user) []string {
	if len(u.groups) == 0 {
		return nil
	}
	out := append([]string(nil), u.groups...)
	direct := map[string]bool{}
	for _, g := range u.groups {
		direct[g] = true
	}
	for id := range e.ancestorsLocked(u.groups) {
		if !direct[id] {
			out = append(out, id)
		}
	}
	return out
}

func (e *Emulator) totalMembersLocked(g *group) int {
	in := e.descendantsLocked(g.id)
	in[g.id] = true
	n := 0
	for _, u := range e.order {
		for _, id := range u.groups {
			if in[id] {
				n++
				break
			}
		}
	}
	return n
}

// --- user memberships: /users/{userID}/memberOfGroups ---

func (e *Emulator) membershipBody(base string, u *user, g *group, typ string, expand bool) map[string]any {
	env := e.opts.EnvironmentID
	m := map[string]any{
		"_links": map[string]any{
			"self":  map[string]any{"href": fmt.Sprintf("%s/environments/%s/users/%s/memberOfGroups/%s", base, env, u.id, g.id)},
			"user":  map[string]any{"href": fmt.Sprintf("%s/environments/%s/users/%s", base, env, u.id)},
			"group": map[string]any{"href": fmt.Sprintf("%s/environments/%s/groups/%s", base, env, g.id)},
		},
		"id":          g.id,
		"environment": map[string]any{"id": env},
		"name":        g.name,
		"type":        typ,
	}
	if expand {
		m["_embedded"] = map[string]any{"group": e.renderGroupLocked(base, g)}
	}
	return m
}

// addUserToGroup is POST /users/{userID}/memberOfGroups {"id": groupID}
// (§5a, add-user-to-group). A user already a direct member gets 400
// UNIQUENESS_VIOLATION (the issue's [unconfirmed] answer).
func (e *Emulator) addUserToGroup(ar *apiRequest) *response {
	if resp := requireJSON(ar.r); resp != nil {
		return resp
	}
	body, resp := decodeObject(ar.body)
	if resp != nil {
		return resp
	}
	gid, ok := body["id"].(string)
	if body["id"] == nil {
		return invalidData(detail{Code: "REQUIRED_VALUE", Target: "id", Message: "id is required"})
	}
	if !ok || gid == "" {
		return invalidData(detail{Code: "INVALID_VALUE", Target: "id", Message: "id must be a group id"})
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	u, resp := e.userLocked(ar)
	if resp != nil {
		return resp
	}
	g := e.groups[gid]
	if g == nil {
		return invalidData(detail{Code: "INVALID_VALUE", Target: "id", Message: "id does not reference an existing group"})
	}
	for _, have := range u.groups {
		if have == gid {
			return invalidData(uniquenessOf("id", "the user is already a member of this group"))
		}
	}
	if g.popID != "" && g.popID != u.popID {
		// A population's group holds that population's users: PingOne
		// removes a user from them when the user moves (§5a). The error
		// for adding an outsider is [U].
		return invalidData(detail{Code: "INVALID_VALUE", Target: "id", Message: "the group belongs to another population than the user"})
	}
	for _, have := range e.effectiveGroupsLocked(u) {
		if o := e.groups[have]; o != nil && have != gid && strings.EqualFold(o.name, g.name) {
			// SPEC L3941: one user cannot belong to two groups of one name.
			// The group itself, which the user may already belong to
			// through a nested group (INDIRECT), is not a second group of
			// that name: the user becomes a DIRECT member as well.
			return invalidData(uniquenessOf("id", "the user already belongs to a group with this name"))
		}
	}
	if len(u.groups) >= maxGroupsPerUser {
		return invalidData(detail{Code: "SIZE_LIMIT_EXCEEDED", Target: "id", Message: "the user belongs to the maximum number of groups",
			InnerError: map[string]any{"maximumValue": maxGroupsPerUser}})
	}
	u.groups = append(u.groups, gid)
	g.directUsers++
	return &response{status: http.StatusCreated, body: e.membershipBody(ar.base, u, g, "DIRECT", false)}
}

// removeUserFromGroup is DELETE /users/{userID}/memberOfGroups/{groupID}:
// direct members only; 404 when the user is not one (§5a).
func (e *Emulator) removeUserFromGroup(ar *apiRequest) *response {
	e.mu.Lock()
	defer e.mu.Unlock()
	u, resp := e.userLocked(ar)
	if resp != nil {
		return resp
	}
	gid := ar.params["groupID"]
	for _, have := range u.groups {
		if have == gid {
			u.groups = without(u.groups, gid)
			if g := e.groups[gid]; g != nil {
				g.directUsers--
			}
			return &response{status: http.StatusNoContent}
		}
	}
	return notFound()
}

func (e *Emulator) listUserGroups(ar *apiRequest) *response {
	e.mu.Lock()
	defer e.mu.Unlock()
	u, resp := e.userLocked(ar)
	if resp != nil {
		return resp
	}
	expand := ar.r.URL.Query().Get("expand") == "group"
	direct := map[string]bool{}
	for _, id := range u.groups {
		direct[id] = true
	}
	var items []listItem
	for _, g := range e.groupOrder {
		eff := direct[g.id]
		typ := "DIRECT"
		if !eff {
			if e.ancestorsLocked(u.groups)[g.id] {
				eff, typ = true, "INDIRECT"
			}
		}
		if !eff {
			continue
		}
		items = append(items, listItem{seq: g.seq, render: func() map[string]any { return e.membershipBody(ar.base, u, g, typ, expand) }})
	}
	return e.pageLocked(ar, "groupMemberships", items)
}

func (e *Emulator) readUserGroup(ar *apiRequest) *response {
	e.mu.Lock()
	defer e.mu.Unlock()
	u, resp := e.userLocked(ar)
	if resp != nil {
		return resp
	}
	g, resp := e.groupLocked(ar.params["groupID"])
	if resp != nil {
		return resp
	}
	for _, id := range u.groups {
		if id == g.id {
			return &response{status: http.StatusOK, body: e.membershipBody(ar.base, u, g, "DIRECT", false)}
		}
	}
	if e.ancestorsLocked(u.groups)[g.id] {
		return &response{status: http.StatusOK, body: e.membershipBody(ar.base, u, g, "INDIRECT", false)}
	}
	return notFound()
}

// --- nesting: /groups/{groupID}/memberOfGroups ---

func (e *Emulator) nestingBody(base string, child, parent *group) map[string]any {
	env := e.opts.EnvironmentID
	return map[string]any{
		"_links": map[string]any{
			"self":  map[string]any{"href": fmt.Sprintf("%s/environments/%s/groups/%s/memberOfGroups/%s", base, env, child.id, parent.id)},
			"group": map[string]any{"href": fmt.Sprintf("%s/environments/%s/groups/%s", base, env, parent.id)},
		},
		"id":   parent.id,
		"type": "DIRECT",
	}
}

// createGroupNesting is POST /groups/{child}/memberOfGroups {"id": parent}:
// the child's members become members of the parent (§5a). Circular nesting
// is allowed; an environment group cannot be nested in a population group;
// at most 250 nested groups per group, counting every level.
func (e *Emulator) createGroupNesting(ar *apiRequest) *response {
	if resp := requireJSON(ar.r); resp != nil {
		return resp
	}
	body, resp := decodeObject(ar.body)
	if resp != nil {
		return resp
	}
	pid, ok := body["id"].(string)
	if body["id"] == nil {
		return invalidData(detail{Code: "REQUIRED_VALUE", Target: "id", Message: "id is required"})
	}
	if !ok || pid == "" {
		return invalidData(detail{Code: "INVALID_VALUE", Target: "id", Message: "id must be a group id"})
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	child, resp := e.groupLocked(ar.params["groupID"])
	if resp != nil {
		return resp
	}
	parent := e.groups[pid]
	if parent == nil {
		return invalidData(detail{Code: "INVALID_VALUE", Target: "id", Message: "id does not reference an existing group"})
	}
	if parent.id == child.id {
		return invalidData(detail{Code: "INVALID_VALUE", Target: "id", Message: "a group cannot be nested in itself"})
	}
	for _, p := range child.parents {
		if p == pid {
			return invalidData(uniquenessOf("id", "the group is already nested in this group"))
		}
	}
	if child.popID == "" && parent.popID != "" {
		return invalidData(detail{Code: "INVALID_VALUE", Target: "id", Message: "an environment group cannot be nested in a population group"})
	}
	child.parents = append(child.parents, pid)
	// The limit counts, for the parent and every group above it, the
	// groups nested below at any level.
	over := ""
	for id := range e.ancestorsLocked([]string{pid}) {
		if len(e.descendantsLocked(id)) > maxNestedPerGroup {
			over = id
		}
	}
	if len(e.descendantsLocked(pid)) > maxNestedPerGroup {
		over = pid
	}
	if over != "" {
		child.parents = without(child.parents, pid)
		return invalidData(detail{Code: "SIZE_LIMIT_EXCEEDED", Target: "id", Message: "a group may hold at most 250 nested groups",
			InnerError: map[string]any{"maximumValue": maxNestedPerGroup}})
	}
	child.updatedAt = e.now()
	return &response{status: http.StatusCreated, body: e.nestingBody(ar.base, child, parent)}
}

func (e *Emulator) listGroupNesting(ar *apiRequest) *response {
	e.mu.Lock()
	defer e.mu.Unlock()
	child, resp := e.groupLocked(ar.params["groupID"])
	if resp != nil {
		return resp
	}
	var items []listItem
	for _, g := range e.groupOrder {
		for _, p := range child.parents {
			if p == g.id {
				items = append(items, listItem{seq: g.seq, render: func() map[string]any { return e.nestingBody(ar.base, child, g) }})
			}
		}
	}
	return e.pageLocked(ar, "groupMemberships", items)
}

func (e *Emulator) readGroupNesting(ar *apiRequest) *response {
	e.mu.Lock()
	defer e.mu.Unlock()
	child, resp := e.groupLocked(ar.params["groupID"])
	if resp != nil {
		return resp
	}
	for _, p := range child.parents {
		if p == ar.params["nestedGroupID"] {
			return &response{status: http.StatusOK, body: e.nestingBody(ar.base, child, e.groups[p])}
		}
	}
	return notFound()
}

func (e *Emulator) deleteGroupNesting(ar *apiRequest) *response {
	e.mu.Lock()
	defer e.mu.Unlock()
	child, resp := e.groupLocked(ar.params["groupID"])
	if resp != nil {
		return resp
	}
	pid := ar.params["nestedGroupID"]
	for _, p := range child.parents {
		if p == pid {
			child.parents = without(child.parents, pid)
			return &response{status: http.StatusNoContent}
		}
	}
	return notFound()
}

// dropPopulationGroupsLocked is §5a's population coupling: a user whose
// population changes leaves every group of the old population.
func (e *Emulator) dropPopulationGroupsLocked(u *user, oldPop string) {
	kept := u.groups[:0]
	for _, id := range u.groups {
		if g := e.groups[id]; g != nil && g.popID == oldPop {
			g.directUsers--
			continue
		}
		kept = append(kept, id)
	}
	u.groups = kept
}

// --- out-of-band access for tests ---

// GroupInfo is a group as a test sees it.
type GroupInfo struct {
	ID, Name, Description, ExternalID, PopulationID string
	// Parents are the groups this one is nested in.
	Parents []string
}

// Groups returns every group, in creation order.
func (e *Emulator) Groups() []GroupInfo {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]GroupInfo, 0, len(e.groupOrder))
	for _, g := range e.groupOrder {
		out = append(out, GroupInfo{ID: g.id, Name: g.name, Description: g.desc, ExternalID: g.ext, PopulationID: g.popID,
			Parents: append([]string(nil), g.parents...)})
	}
	return out
}

// AddGroup creates a group out of band (an admin's group, adoption tests);
// popID "" makes an environment-level group.
func (e *Emulator) AddGroup(name, externalID, popID string) (string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	g, ds := e.createGroupLocked(groupInput{name: name, ext: externalID, popID: popID})
	if len(ds) > 0 {
		return "", &errValidation{ds}
	}
	return g.id, nil
}

// AddMember makes a user a direct member out of band (a member added by
// hand), with no checks.
func (e *Emulator) AddMember(groupID, userID string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	u, g := e.users[userID], e.groups[groupID]
	if u == nil || g == nil {
		return fmt.Errorf("add member %s to %s: %w", userID, groupID, ErrNotFound)
	}
	for _, have := range u.groups {
		if have == groupID {
			return nil
		}
	}
	u.groups = append(u.groups, groupID)
	g.directUsers++
	return nil
}

// DeleteGroup deletes a group out of band (an admin deleting it by hand),
// with its memberships and nesting links.
func (e *Emulator) DeleteGroup(id string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	g := e.groups[id]
	if g == nil {
		return fmt.Errorf("delete group %s: %w", id, ErrNotFound)
	}
	e.deleteGroupLocked(g)
	return nil
}

// RemoveMember removes a user's direct membership out of band (an admin
// removing it by hand); one that is not there is no error.
func (e *Emulator) RemoveMember(groupID, userID string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	u, g := e.users[userID], e.groups[groupID]
	if u == nil || g == nil {
		return fmt.Errorf("remove member %s from %s: %w", userID, groupID, ErrNotFound)
	}
	for _, have := range u.groups {
		if have == groupID {
			u.groups = without(u.groups, groupID)
			g.directUsers--
			return nil
		}
	}
	return nil
}

// DirectMembers returns the ids of the group's direct user members, in
// user creation order.
func (e *Emulator) DirectMembers(groupID string) []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for _, u := range e.order {
		for _, id := range u.groups {
			if id == groupID {
				out = append(out, u.id)
				break
			}
		}
	}
	return out
}

// EffectiveMembers returns the ids of the users who are members of the
// group directly or through nesting.
func (e *Emulator) EffectiveMembers(groupID string) []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	in := e.descendantsLocked(groupID)
	in[groupID] = true
	var out []string
	for _, u := range e.order {
		for _, id := range u.groups {
			if in[id] {
				out = append(out, u.id)
				break
			}
		}
	}
	return out
}

// AddNesting nests child in parent out of band (an admin nesting a group
// by hand), with no checks; a link already there is no error.
func (e *Emulator) AddNesting(childID, parentID string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	child, parent := e.groups[childID], e.groups[parentID]
	if child == nil || parent == nil {
		return fmt.Errorf("nest group %s in %s: %w", childID, parentID, ErrNotFound)
	}
	for _, p := range child.parents {
		if p == parentID {
			return nil
		}
	}
	child.parents = append(child.parents, parentID)
	return nil
}

// RemoveNesting removes the link nesting child in parent out of band (an
// admin removing it by hand); one that is not there is no error.
func (e *Emulator) RemoveNesting(childID, parentID string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	child := e.groups[childID]
	if child == nil || e.groups[parentID] == nil {
		return fmt.Errorf("unnest group %s from %s: %w", childID, parentID, ErrNotFound)
	}
	child.parents = without(child.parents, parentID)
	return nil
}
