package pingonetest

import (
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"
)

// user is a stored user. attrs holds only schema attributes, as JSON values
// (strings, and map[string]any for name/address/photo).
type user struct {
	seq                  uint64
	id, popID            string
	enabled              bool
	createdAt, updatedAt time.Time
	attrs                map[string]any
	lifecycle            string
	mfaEnabled           bool
	emailVerified        bool
	groups               []string
}

// userFilterAttrs: §3b. eq per TF data_source_users.go, sw per the current
// filter-language page, ew on email/name.family/name.given. co is refused:
// its attribute list is unknown [U], so a client relying on it should fail
// here rather than in production. Custom STRING attributes get eq and sw.
var userFilterAttrs = func() map[string]filterAttr {
	eqsw := []string{"accountId", "address.streetAddress", "address.locality", "address.region", "address.postalCode",
		"address.countryCode", "email", "externalId", "locale", "mobilePhone", "name.formatted", "name.given",
		"name.middle", "name.family", "name.honorificPrefix", "name.honorificSuffix", "nickname", "photo.href",
		"preferredLanguage", "primaryPhone", "timezone", "title", "type", "username"}
	m := map[string]filterAttr{}
	for _, a := range eqsw {
		m[a] = filterAttr{ops: opsOf("eq", "sw")}
	}
	for _, a := range []string{"email", "name.family", "name.given"} {
		m[a] = filterAttr{ops: opsOf("eq", "sw", "ew")}
	}
	m["population.id"] = filterAttr{ops: opsOf("eq")}
	m["enabled"] = filterAttr{ops: opsOf("eq"), boolean: true}
	m["memberOfGroups.id"] = filterAttr{ops: opsOf("eq"), valuePath: true}
	return m
}()

func (e *Emulator) userFilterAttrsLocked() map[string]filterAttr {
	m := make(map[string]filterAttr, len(userFilterAttrs)+len(e.custom))
	for k, v := range userFilterAttrs {
		m[k] = v
	}
	for k := range e.custom {
		m[k] = filterAttr{ops: opsOf("eq", "sw")}
	}
	return m
}

// get returns a user attribute for filter evaluation.
func (u *user) get(attr string) (any, bool) {
	switch attr {
	case "enabled":
		return u.enabled, true
	case "population.id":
		return u.popID, true
	case "memberOfGroups":
		return u.groups, true
	case "id":
		return u.id, true
	}
	if obj, sub, ok := strings.Cut(attr, "."); ok {
		m, _ := u.attrs[obj].(map[string]any)
		v, ok := m[sub]
		return v, ok
	}
	v, ok := u.attrs[attr]
	return v, ok
}

// userGetter is u.get for filters, with memberOfGroups holding the
// user's direct and indirect groups: `memberOfGroups[id eq "g"]` lists a
// group's members through nesting too [I] (SPEC L28308 does not say).
func (e *Emulator) userGetter(u *user) func(string) (any, bool) {
	return func(attr string) (any, bool) {
		if attr == "memberOfGroups" {
			return e.effectiveGroupsLocked(u), true
		}
		return u.get(attr)
	}
}

func copyAttrs(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		if sub, ok := v.(map[string]any); ok {
			v = copyAttrs(sub)
		}
		out[k] = v
	}
	return out
}

// renderUserLocked is the User resource as GET returns it (SPEC User).
func (e *Emulator) renderUserLocked(base string, u *user) map[string]any {
	env := e.opts.EnvironmentID
	self := fmt.Sprintf("%s/environments/%s/users/%s", base, env, u.id)
	link := func(h string) map[string]any { return map[string]any{"href": h} }
	m := copyAttrs(u.attrs)
	m["_links"] = map[string]any{
		"self":                         link(self),
		"environment":                  link(base + "/environments/" + env),
		"population":                   link(fmt.Sprintf("%s/environments/%s/populations/%s", base, env, u.popID)),
		"password":                     link(self + "/password"),
		"password.set":                 link(self + "/password"),
		"password.reset":               link(self + "/password"),
		"password.check":               link(self + "/password"),
		"password.recover":             link(self + "/password"),
		"account.sendVerificationCode": link(self),
		"linkedAccounts":               link(self + "/linkedAccounts"),
	}
	m["id"] = u.id
	m["environment"] = map[string]any{"id": env}
	m["population"] = map[string]any{"id": u.popID}
	m["enabled"] = u.enabled
	m["account"] = map[string]any{"canAuthenticate": u.enabled, "status": "OK"}
	m["identityProvider"] = map[string]any{"type": "PING_ONE"}
	m["lifecycle"] = map[string]any{"status": u.lifecycle}
	m["mfaEnabled"] = u.mfaEnabled
	m["emailVerified"] = u.emailVerified
	m["verifyStatus"] = "NOT_INITIATED"
	m["createdAt"] = u.createdAt.UTC().Format(timeFormat)
	m["updatedAt"] = u.updatedAt.UTC().Format(timeFormat)
	return m
}

// usernameKey folds a username for the uniqueness index: §4 says usernames
// are unique per environment (across populations); whether the comparison
// ignores case is [U], and ignoring it is the stricter choice.
func usernameKey(s string) string { return strings.ToLower(strings.ToUpper(s)) }

func (e *Emulator) usernameTakenLocked(name, exceptID string) bool {
	id, ok := e.byName[usernameKey(name)]
	return ok && id != exceptID
}

// storeUserLocked indexes a new user (users are appended in seq order).
func (e *Emulator) storeUserLocked(u *user) {
	e.users[u.id] = u
	e.order = append(e.order, u)
	e.byName[usernameKey(u.attrs["username"].(string))] = u.id
}

// reindexLocked re-indexes u after its attributes changed.
func (e *Emulator) reindexLocked(u *user, oldName string) {
	newName, _ := u.attrs["username"].(string)
	if usernameKey(oldName) != usernameKey(newName) {
		delete(e.byName, usernameKey(oldName))
		e.byName[usernameKey(newName)] = u.id
	}
}

func (e *Emulator) removeUserLocked(u *user) {
	for _, id := range u.groups {
		if g := e.groups[id]; g != nil {
			g.directUsers--
		}
	}
	delete(e.users, u.id)
	delete(e.byName, usernameKey(u.attrs["username"].(string)))
	i := sort.Search(len(e.order), func(i int) bool { return e.order[i].seq >= u.seq })
	if i < len(e.order) && e.order[i] == u {
		e.order = append(e.order[:i], e.order[i+1:]...)
	}
}

func uniqueness() detail {
	return detail{Code: "UNIQUENESS_VIOLATION", Target: "username", Message: "username must be unique within the environment"}
}

// errValidation carries the details of a rejected out-of-band write.
type errValidation struct{ details []detail }

func (e *errValidation) Error() string {
	parts := make([]string, len(e.details))
	for i, d := range e.details {
		parts[i] = d.Code + " " + d.Target + ": " + d.Message
	}
	return "pingonetest: invalid user: " + strings.Join(parts, "; ")
}

// createUserLocked validates and stores a new user.
func (e *Emulator) createUserLocked(body map[string]any, mode writeMode, outOfBand bool) (*user, []detail) {
	in, ds := parseUserInput(body, mode, e.custom, outOfBand)
	ds = requiredMissing(in.set, ds)
	popID := ""
	if in.populationSet {
		if e.populations[in.populationID] == nil {
			ds = append(ds, detail{Code: "INVALID_VALUE", Target: "population.id", Message: "population.id does not reference an existing population"})
		}
		popID = in.populationID
	} else if p := e.defaultPopulationLocked(); p != nil {
		popID = p.id
	} else {
		// §5 [I]: no population and no default population is an error.
		ds = append(ds, detail{Code: "REQUIRED_VALUE", Target: "population.id", Message: "population.id is required: the environment has no default population"})
	}
	if name, ok := in.set["username"].(string); ok && e.usernameTakenLocked(name, "") {
		ds = append(ds, uniqueness())
	}
	if len(ds) == 0 && profileSize(in.set) > maxProfileBytes {
		ds = append(ds, detail{Code: "SIZE_LIMIT_EXCEEDED", Message: "the user profile exceeds 16 KB", InnerError: map[string]any{"maximumValue": maxProfileBytes}})
	}
	if len(ds) > 0 {
		return nil, ds
	}
	e.seq++
	now := e.now()
	u := &user{seq: e.seq, id: uuid.NewString(), popID: popID, enabled: true, createdAt: now, updatedAt: now,
		attrs: in.set, lifecycle: "ACCOUNT_OK"}
	if in.lifecycle != "" {
		u.lifecycle = in.lifecycle
	}
	if in.mfaEnabled != nil {
		u.mfaEnabled = *in.mfaEnabled
	}
	if in.emailVerified != nil {
		u.emailVerified = *in.emailVerified
	}
	if in.enabled != nil {
		u.enabled = *in.enabled
	}
	e.storeUserLocked(u)
	return u, nil
}

// updateUserLocked applies a PUT (replace) or PATCH (merge) body.
//
// PUT replaces every user-settable attribute and clears the omitted ones
// (§3). PATCH merges at the top level: a given attribute replaces the old
// value, null clears it, omitted ones stay (§3). Objects (name, address,
// photo) are replaced as a whole on PATCH too: whether PingOne merges
// nested members is [U], and whole-object replacement is the stricter
// reading (a client sending a partial name object loses the rest here).
// population cannot change here (§3, SPEC population.id): a body naming the
// current population is accepted, any other is 400 INVALID_VALUE
// population.id (the real service's answer is [U]).
func (e *Emulator) updateUserLocked(u *user, body map[string]any, mode writeMode, outOfBand bool) []detail {
	in, ds := parseUserInput(body, mode, e.custom, outOfBand)
	var attrs map[string]any
	if mode == modePut {
		attrs = in.set
	} else {
		attrs = copyAttrs(u.attrs)
		for _, k := range in.clear {
			delete(attrs, k)
		}
		for k, v := range in.set {
			attrs[k] = v
		}
	}
	ds = requiredMissing(attrs, ds)
	if in.populationSet && in.populationID != u.popID {
		if !outOfBand {
			ds = append(ds, detail{Code: "INVALID_VALUE", Target: "population.id",
				Message: "population.id cannot be changed with PUT or PATCH; use PUT /users/{id}/population"})
		} else if e.populations[in.populationID] == nil {
			ds = append(ds, detail{Code: "INVALID_VALUE", Target: "population.id", Message: "population.id does not reference an existing population"})
		}
	}
	if name, ok := attrs["username"].(string); ok && e.usernameTakenLocked(name, u.id) {
		ds = append(ds, uniqueness())
	}
	if len(ds) == 0 && profileSize(attrs) > maxProfileBytes {
		ds = append(ds, detail{Code: "SIZE_LIMIT_EXCEEDED", Message: "the user profile exceeds 16 KB", InnerError: map[string]any{"maximumValue": maxProfileBytes}})
	}
	if len(ds) > 0 {
		return ds
	}
	oldName, _ := u.attrs["username"].(string)
	u.attrs = attrs
	e.reindexLocked(u, oldName)
	if outOfBand {
		if in.populationSet && in.populationID != u.popID {
			// An admin's move couples like the API's (§5a): the user
			// leaves the old population's groups.
			e.dropPopulationGroupsLocked(u, u.popID)
			u.popID = in.populationID
		}
		if in.enabled != nil {
			u.enabled = *in.enabled
		}
	}
	u.updatedAt = e.now()
	return nil
}

func (e *Emulator) userLocked(ar *apiRequest) (*user, *response) {
	u := e.users[ar.params["userID"]]
	if u == nil {
		return nil, notFound()
	}
	return u, nil
}

func (e *Emulator) createUser(ar *apiRequest) *response {
	// §3: both media types create; import allows password/lifecycle/
	// emailVerified. Anything else is 415 INVALID_REQUEST (§6b).
	const importType = "application/vnd.pingidentity.user.import+json"
	if resp := requireJSON(ar.r, importType); resp != nil {
		return resp
	}
	mode := modeCreate
	if mediaType(ar.r) == importType {
		mode = modeImport
	}
	body, resp := decodeObject(ar.body)
	if resp != nil {
		return resp
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	u, ds := e.createUserLocked(body, mode, false)
	if len(ds) > 0 {
		return invalidData(ds...)
	}
	return &response{status: http.StatusCreated, body: e.renderUserLocked(ar.base, u)}
}

func (e *Emulator) readUser(ar *apiRequest) *response {
	include := ar.r.URL.Query()["include"]
	for _, inc := range include {
		if inc != "memberOfGroupIDs" && inc != "memberOfGroupNames" {
			return invalidData(detail{Code: "INVALID_VALUE", Target: "include", Message: "include must be memberOfGroupIDs or memberOfGroupNames",
				InnerError: map[string]any{"allowedValues": []string{"memberOfGroupIDs", "memberOfGroupNames"}}})
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	u, resp := e.userLocked(ar)
	if resp != nil {
		return resp
	}
	m := e.renderUserLocked(ar.base, u)
	for _, inc := range include {
		// Direct and indirect groups (§3: include on a single GET only).
		ids := e.effectiveGroupsLocked(u)
		vals := make([]string, 0, len(ids))
		for _, id := range ids {
			g := e.groups[id]
			switch {
			case inc == "memberOfGroupIDs":
				vals = append(vals, id)
			case g != nil:
				vals = append(vals, g.name)
			}
		}
		m[inc] = vals
	}
	return &response{status: http.StatusOK, body: m}
}

// listUsers pages through the users from the cursor on, so that a page
// costs what it holds, not what the environment holds (a million-user
// listing in the bench). count is every page's on an unfiltered listing;
// a filtered one gives it on its first page only (§3c: count is optional).
func (e *Emulator) listUsers(ar *apiRequest) *response {
	e.mu.Lock()
	defer e.mu.Unlock()
	q, resp := e.pageQueryLocked(ar)
	if resp != nil {
		return resp
	}
	var f Filter
	if q.filter != "" {
		var err error
		f, err = ParseFilter(q.filter)
		if err == nil {
			err = checkFilter(f, e.userFilterAttrsLocked())
		}
		if err != nil {
			return invalidFilter(err)
		}
	}
	us := e.sortedUsersLocked()
	match := func(u *user) bool { return f == nil || f.Match(e.userGetter(u)) }
	var (
		page []map[string]any
		last uint64
		more bool
	)
	for _, u := range us[sort.Search(len(us), func(i int) bool { return us[i].seq > q.after }):] {
		if !match(u) {
			continue
		}
		if len(page) == q.limit {
			more = true
			break
		}
		page, last = append(page, e.renderUserLocked(ar.base, u)), u.seq
	}
	count := len(us)
	switch {
	case f != nil && q.cursor:
		count = -1
	case f != nil:
		count = 0
		for _, u := range us {
			if match(u) {
				count++
			}
		}
	}
	if page == nil {
		page = []map[string]any{}
	}
	return e.pageResponse(ar, "users", q, page, last, more, count)
}

// sortedUsersLocked returns the users in creation order (the list order).
func (e *Emulator) sortedUsersLocked() []*user { return e.order }

func (e *Emulator) updateUser(ar *apiRequest, mode writeMode) *response {
	if resp := requireJSON(ar.r); resp != nil {
		return resp
	}
	body, resp := decodeObject(ar.body)
	if resp != nil {
		return resp
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	u, resp := e.userLocked(ar)
	if resp != nil {
		return resp
	}
	if ds := e.updateUserLocked(u, body, mode, false); len(ds) > 0 {
		return invalidData(ds...)
	}
	return &response{status: http.StatusOK, body: e.renderUserLocked(ar.base, u)}
}

func (e *Emulator) putUser(ar *apiRequest) *response   { return e.updateUser(ar, modePut) }
func (e *Emulator) patchUser(ar *apiRequest) *response { return e.updateUser(ar, modePatch) }

func (e *Emulator) deleteUser(ar *apiRequest) *response {
	e.mu.Lock()
	defer e.mu.Unlock()
	u, resp := e.userLocked(ar)
	if resp != nil {
		return resp
	}
	e.removeUserLocked(u)
	return &response{status: http.StatusNoContent}
}

func (e *Emulator) enabledBody(ar *apiRequest, u *user) map[string]any {
	self := fmt.Sprintf("%s/environments/%s/users/%s/enabled", ar.base, e.opts.EnvironmentID, u.id)
	return map[string]any{
		"_links":  map[string]any{"self": map[string]any{"href": self}, "user": map[string]any{"href": strings.TrimSuffix(self, "/enabled")}},
		"enabled": u.enabled,
	}
}

func (e *Emulator) readUserEnabled(ar *apiRequest) *response {
	e.mu.Lock()
	defer e.mu.Unlock()
	u, resp := e.userLocked(ar)
	if resp != nil {
		return resp
	}
	return &response{status: http.StatusOK, body: e.enabledBody(ar, u)}
}

// updateUserEnabled is PUT .../enabled {"enabled": bool} (§3, SPEC L29568).
func (e *Emulator) updateUserEnabled(ar *apiRequest) *response {
	if resp := requireJSON(ar.r); resp != nil {
		return resp
	}
	body, resp := decodeObject(ar.body)
	if resp != nil {
		return resp
	}
	v, present := body["enabled"]
	b, ok := v.(bool)
	if !present || v == nil {
		return invalidData(detail{Code: "REQUIRED_VALUE", Target: "enabled", Message: "enabled is required"})
	}
	if !ok {
		return invalidData(detail{Code: "INVALID_VALUE", Target: "enabled", Message: "enabled must be a boolean"})
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	u, resp := e.userLocked(ar)
	if resp != nil {
		return resp
	}
	if u.enabled != b {
		u.enabled = b
		u.updatedAt = e.now()
	}
	return &response{status: http.StatusOK, body: e.enabledBody(ar, u)}
}

func (e *Emulator) populationBody(ar *apiRequest, u *user) map[string]any {
	self := fmt.Sprintf("%s/environments/%s/users/%s/population", ar.base, e.opts.EnvironmentID, u.id)
	return map[string]any{
		"_links": map[string]any{"self": map[string]any{"href": self},
			"population": map[string]any{"href": fmt.Sprintf("%s/environments/%s/populations/%s", ar.base, e.opts.EnvironmentID, u.popID)}},
		"id": u.popID,
	}
}

func (e *Emulator) readUserPopulation(ar *apiRequest) *response {
	e.mu.Lock()
	defer e.mu.Unlock()
	u, resp := e.userLocked(ar)
	if resp != nil {
		return resp
	}
	return &response{status: http.StatusOK, body: e.populationBody(ar, u)}
}

// updateUserPopulation is PUT .../population {"id": popId} (§3, SPEC L30058).
func (e *Emulator) updateUserPopulation(ar *apiRequest) *response {
	if resp := requireJSON(ar.r); resp != nil {
		return resp
	}
	body, resp := decodeObject(ar.body)
	if resp != nil {
		return resp
	}
	v, present := body["id"]
	id, ok := v.(string)
	if !present || v == nil || (ok && id == "") {
		return invalidData(detail{Code: "REQUIRED_VALUE", Target: "id", Message: "id is required"})
	}
	if !ok {
		return invalidData(detail{Code: "INVALID_VALUE", Target: "id", Message: "id must be a string"})
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	u, resp := e.userLocked(ar)
	if resp != nil {
		return resp
	}
	if e.populations[id] == nil {
		return invalidData(detail{Code: "INVALID_VALUE", Target: "id", Message: "id does not reference an existing population"})
	}
	if u.popID != id {
		e.dropPopulationGroupsLocked(u, u.popID)
		u.popID = id
		u.updatedAt = e.now()
	}
	return &response{status: http.StatusOK, body: e.populationBody(ar, u)}
}

// Users returns every user as GET would, sorted by creation.
func (e *Emulator) Users() []map[string]any {
	e.mu.Lock()
	defer e.mu.Unlock()
	us := e.sortedUsersLocked()
	out := make([]map[string]any, len(us))
	for i, u := range us {
		out[i] = e.renderUserLocked(e.baseURL, u)
	}
	return out
}

// User returns one user as GET would.
func (e *Emulator) User(id string) (map[string]any, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	u := e.users[id]
	if u == nil {
		return nil, false
	}
	return e.renderUserLocked(e.baseURL, u), true
}

// UserCount returns how many users exist.
func (e *Emulator) UserCount() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.users)
}

// ErrNotFound is returned by out-of-band edits of unknown users.
var ErrNotFound = errors.New("pingonetest: no such user")

// AddUser creates a user out of band (pre-existing users, adoption tests),
// with import semantics and the same validation as POST. Unlike the API it
// honours "enabled" (default true); "population" {"id"} picks the
// population (default: the default population).
func (e *Emulator) AddUser(u map[string]any) (string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	nu, ds := e.createUserLocked(copyAttrs(u), modeImport, true)
	if len(ds) > 0 {
		return "", &errValidation{ds}
	}
	return nu.id, nil
}

// EditUser edits a user out of band with PATCH semantics and validation
// (drift tests). Unlike the API it honours "enabled" and a "population"
// {"id"} move.
func (e *Emulator) EditUser(id string, patch map[string]any) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	u := e.users[id]
	if u == nil {
		return fmt.Errorf("edit user %s: %w", id, ErrNotFound)
	}
	if ds := e.updateUserLocked(u, copyAttrs(patch), modePatch, true); len(ds) > 0 {
		return &errValidation{ds}
	}
	return nil
}

// SetEnabled enables or disables a user out of band.
func (e *Emulator) SetEnabled(id string, enabled bool) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	u := e.users[id]
	if u == nil {
		return fmt.Errorf("set enabled %s: %w", id, ErrNotFound)
	}
	u.enabled = enabled
	u.updatedAt = e.now()
	return nil
}

// DeleteUser removes a user out of band.
func (e *Emulator) DeleteUser(id string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	u := e.users[id]
	if u == nil {
		return fmt.Errorf("delete user %s: %w", id, ErrNotFound)
	}
	e.removeUserLocked(u)
	return nil
}

// SetGroups sets the ids of the groups a user belongs to (for
// memberOfGroups[id eq "..."] filters; groups are otherwise not modelled).
func (e *Emulator) SetGroups(id string, groupIDs ...string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	u := e.users[id]
	if u == nil {
		return fmt.Errorf("set groups %s: %w", id, ErrNotFound)
	}
	u.groups = append([]string(nil), groupIDs...)
	return nil
}
