package pingone

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"go.uber.org/zap"
)

// Groups and memberships (API-NOTES §5a; SPEC `Group` L3915-3976, groups
// paths L16927-17267, memberships L29229-29440, nesting L17268-17520).
// There is no bulk membership call: each (user, group) pair is one request.

// groupsPageSize is the limit asked for on group listings (1..1000, SPEC).
const groupsPageSize = 200

// Group is a PingOne group as syncd sees it.
type Group struct {
	ID          string
	Name        string
	Description string
	// ExternalID is the group's anchor when syncd created it (§5a: the
	// property meant for synchronising with an external system).
	ExternalID string
	// PopulationID is "" for an environment-level group. Set at create
	// only: PingOne cannot move a group (§5a).
	PopulationID string
	// DirectMembers is directMemberCounts.users as PingOne reported it.
	DirectMembers int
}

type groupJSON struct {
	ID          string         `json:"id,omitempty"`
	Name        string         `json:"name"`
	Description string         `json:"description,omitempty"`
	ExternalID  string         `json:"externalId,omitempty"`
	Population  *idRef         `json:"population,omitempty"`
	CustomData  map[string]any `json:"customData,omitempty"`
	UserFilter  string         `json:"userFilter,omitempty"`
	Counts      *struct {
		Users int `json:"users"`
	} `json:"directMemberCounts,omitempty"`
}

type idRef struct {
	ID string `json:"id"`
}

func decodeGroup(raw []byte) (Group, groupJSON, error) {
	var g groupJSON
	if err := json.Unmarshal(raw, &g); err != nil {
		return Group{}, g, fmt.Errorf("decode group: %w", err)
	}
	if g.ID == "" {
		return Group{}, g, errors.New("decode group: no id")
	}
	out := Group{ID: g.ID, Name: g.Name, Description: g.Description, ExternalID: g.ExternalID}
	if g.Population != nil {
		out.PopulationID = g.Population.ID
	}
	if g.Counts != nil {
		out.DirectMembers = g.Counts.Users
	}
	return out, g, nil
}

func (c *Client) groupURL(id string) string {
	return c.envBase + "/groups/" + url.PathEscape(id)
}

// CreateGroup creates g (name, description, externalId, population). With
// an externalId, a lost response is resolved by finding the group by it
// rather than creating a second one (DESIGN invariant 3, for groups).
func (c *Client) CreateGroup(ctx context.Context, g Group) (Group, error) {
	if g.Name == "" {
		return Group{}, errors.New("pingone create group: empty name")
	}
	body := groupJSON{Name: g.Name, Description: g.Description, ExternalID: g.ExternalID}
	if g.PopulationID != "" {
		body.Population = &idRef{ID: g.PopulationID}
	}
	raw, err := json.Marshal(body)
	if err != nil {
		return Group{}, fmt.Errorf("pingone create group %q: %w", g.Name, err)
	}
	var found *Group
	cl := call{op: "create_group", method: http.MethodPost, url: c.envBase + "/groups", body: raw}
	if g.ExternalID != "" {
		cl.recover = func(ctx context.Context) (bool, error) {
			f, ok, err := c.GroupByExternalID(ctx, g.ExternalID)
			if ok {
				found = &f
			}
			return ok, err
		}
	}
	resp, err := c.do(ctx, cl)
	if err != nil {
		return Group{}, fmt.Errorf("pingone create group %q: %w", g.Name, err)
	}
	if found != nil {
		c.logger.Info("group create recovered by externalId", zap.String("group_id", found.ID), zap.String("run_id", TransactionID(ctx)))
		return *found, nil
	}
	out, _, err := decodeGroup(resp)
	if err != nil {
		return Group{}, fmt.Errorf("pingone create group %q: %w", g.Name, err)
	}
	return out, nil
}

// UpdateGroup sets the group's name, description and externalId. PingOne
// updates a group only with PUT, which clears what it is not sent (§3's
// PUT semantics), so the group is read first and its customData and
// userFilter — which syncd does not manage — are sent back unchanged: one
// GET and one PUT.
func (c *Client) UpdateGroup(ctx context.Context, id string, g Group) (Group, error) {
	if id == "" || g.Name == "" {
		return Group{}, errors.New("pingone update group: empty id or name")
	}
	cur, err := c.do(ctx, call{op: "get_group", method: http.MethodGet, url: c.groupURL(id)})
	if err != nil {
		return Group{}, fmt.Errorf("pingone update group %s: read: %w", id, err)
	}
	_, have, err := decodeGroup(cur)
	if err != nil {
		return Group{}, fmt.Errorf("pingone update group %s: %w", id, err)
	}
	body := groupJSON{Name: g.Name, Description: g.Description, ExternalID: g.ExternalID,
		CustomData: have.CustomData, UserFilter: have.UserFilter, Population: have.Population}
	raw, err := json.Marshal(body)
	if err != nil {
		return Group{}, fmt.Errorf("pingone update group %s: %w", id, err)
	}
	resp, err := c.do(ctx, call{op: "update_group", method: http.MethodPut, url: c.groupURL(id), body: raw})
	if err != nil {
		return Group{}, fmt.Errorf("pingone update group %s: %w", id, err)
	}
	out, _, err := decodeGroup(resp)
	if err != nil {
		return Group{}, fmt.Errorf("pingone update group %s: %w", id, err)
	}
	return out, nil
}

// DeleteGroup deletes a group; one already gone counts as deleted.
func (c *Client) DeleteGroup(ctx context.Context, id string) error {
	if id == "" {
		return errors.New("pingone delete group: empty id")
	}
	if _, err := c.do(ctx, call{op: "delete_group", method: http.MethodDelete, url: c.groupURL(id)}); err != nil && !IsNotFound(err) {
		return fmt.Errorf("pingone delete group %s: %w", id, err)
	}
	return nil
}

// FindGroups calls fn for every group matching filter (every group for the
// zero Filter), one page at a time.
func (c *Client) FindGroups(ctx context.Context, filter Filter, fn func(Group) error) error {
	if err := filter.Err(); err != nil {
		return fmt.Errorf("pingone find groups: %w", err)
	}
	q := "limit=" + strconv.Itoa(groupsPageSize)
	if s := filter.String(); s != "" {
		q = "filter=" + queryEscape(s) + "&" + q
	}
	return each(ctx, c, "find_groups", c.envBase+"/groups?"+q, "groups", "pingone find groups",
		func(raw json.RawMessage) (Group, bool, error) {
			g, _, err := decodeGroup(raw)
			return g, err == nil, err
		}, fn)
}

// GroupByExternalID finds the group carrying externalID; two is an error.
func (c *Client) GroupByExternalID(ctx context.Context, externalID string) (Group, bool, error) {
	var found []Group
	err := c.FindGroups(ctx, Eq("externalId", externalID), func(g Group) error {
		if g.ExternalID == externalID {
			found = append(found, g)
		}
		return nil
	})
	if err != nil {
		return Group{}, false, err
	}
	switch len(found) {
	case 0:
		return Group{}, false, nil
	case 1:
		return found[0], true, nil
	}
	return Group{}, false, fmt.Errorf("pingone find group externalId=%s: %d groups carry it", externalID, len(found))
}

// GroupsByName returns the groups called name (any level; PingOne's name
// rules let a name repeat across populations, §5a).
func (c *Client) GroupsByName(ctx context.Context, name string) ([]Group, error) {
	var out []Group
	err := c.FindGroups(ctx, Eq("name", name), func(g Group) error {
		if strings.EqualFold(g.Name, name) {
			out = append(out, g)
		}
		return nil
	})
	return out, err
}

// MemberOf is the user filter memberOfGroups[id eq "<groupID>"] (§3b, SPEC
// L28308): a group's members, listed through the users endpoint (the spec
// has no /groups/{id}/members).
func MemberOf(groupID string) Filter {
	f := Eq("id", groupID)
	if f.err != nil {
		return f
	}
	return Filter{expr: "memberOfGroups[" + f.expr + "]"}
}

// AddUserToGroup makes a user a direct member of a group: POST
// /users/{userID}/memberOfGroups {"id": groupID}, one call (§5a). A user
// who already is a direct member counts as done (already = true): PingOne
// answers 400 UNIQUENESS_VIOLATION [unconfirmed], and because the same
// code also refuses a second group of the same name, the membership is
// then read back (one GET, only in that case) to tell the two apart.
func (c *Client) AddUserToGroup(ctx context.Context, userID, groupID string) (already bool, err error) {
	if userID == "" || groupID == "" {
		return false, errors.New("pingone add user to group: empty user or group id")
	}
	raw, _ := json.Marshal(idRef{ID: groupID})
	u := c.userURL(userID) + "/memberOfGroups"
	_, err = c.do(ctx, call{op: "add_member", method: http.MethodPost, url: u, body: raw})
	if err == nil {
		return false, nil
	}
	if IsUniquenessViolation(err) {
		if direct, rerr := c.DirectMember(ctx, userID, groupID); rerr == nil && direct {
			return true, nil
		}
	}
	return false, fmt.Errorf("pingone add user %s to group %s: %w", userID, groupID, err)
}

// DirectMember reports whether the user is a DIRECT member of the group
// (GET /users/{userID}/memberOfGroups/{groupID}, whose type is DIRECT or
// INDIRECT, §5a); a user who is no member at all (404) is not one.
func (c *Client) DirectMember(ctx context.Context, userID, groupID string) (bool, error) {
	resp, err := c.do(ctx, call{op: "get_member", method: http.MethodGet, url: c.userURL(userID) + "/memberOfGroups/" + url.PathEscape(groupID)})
	if IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	var m struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(resp, &m); err != nil {
		return false, err
	}
	return m.Type == "DIRECT", nil
}

// UserGroups calls fn with every group the user is a member of and
// whether the membership is DIRECT (otherwise INDIRECT, through a nested
// group): one paged listing, GET /users/{userID}/memberOfGroups (§5a,
// SPEC L802; read-all-group-memberships-for-user). One call answers for
// all of the user's groups, where DirectMember costs one per group.
func (c *Client) UserGroups(ctx context.Context, userID string, fn func(groupID string, direct bool) error) error {
	if userID == "" {
		return errors.New("pingone user groups: empty user id")
	}
	first := c.userURL(userID) + "/memberOfGroups?limit=" + strconv.Itoa(groupsPageSize)
	return each(ctx, c, "list_user_groups", first, "groupMemberships", "pingone list the groups of user "+userID,
		decodeMembership, func(m membership) error { return fn(m.ID, strings.EqualFold(m.Type, "DIRECT")) })
}

// membership is one item of a memberOfGroups listing: a GroupMembership
// of a user or a GroupNesting of a group (SPEC L4001: id, type).
type membership struct {
	ID   string `json:"id"`
	Type string `json:"type"`
}

// decodeMembership decodes a memberOfGroups item; one without an id is
// skipped.
func decodeMembership(raw json.RawMessage) (membership, bool, error) {
	var m membership
	if err := json.Unmarshal(raw, &m); err != nil {
		return m, false, fmt.Errorf("decode group membership: %w", err)
	}
	return m, m.ID != "", nil
}

// RemoveUserFromGroup removes a direct membership: DELETE
// /users/{userID}/memberOfGroups/{groupID}, one call (§5a). A membership
// already gone (404) counts as done (gone = true).
func (c *Client) RemoveUserFromGroup(ctx context.Context, userID, groupID string) (gone bool, err error) {
	if userID == "" || groupID == "" {
		return false, errors.New("pingone remove user from group: empty user or group id")
	}
	u := c.userURL(userID) + "/memberOfGroups/" + url.PathEscape(groupID)
	_, err = c.do(ctx, call{op: "remove_member", method: http.MethodDelete, url: u})
	if IsNotFound(err) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("pingone remove user %s from group %s: %w", userID, groupID, err)
	}
	return false, nil
}

// NestGroup nests child in parent: POST /groups/{child}/memberOfGroups
// {"id": parent} makes the child's members members of the parent (§5a).
// A link that already exists counts as done.
func (c *Client) NestGroup(ctx context.Context, childID, parentID string) (already bool, err error) {
	if childID == "" || parentID == "" {
		return false, errors.New("pingone nest group: empty group id")
	}
	raw, _ := json.Marshal(idRef{ID: parentID})
	_, err = c.do(ctx, call{op: "nest_group", method: http.MethodPost, url: c.groupURL(childID) + "/memberOfGroups", body: raw})
	if err == nil {
		return false, nil
	}
	if IsUniquenessViolation(err) {
		_, gerr := c.do(ctx, call{op: "get_nesting", method: http.MethodGet, url: c.groupURL(childID) + "/memberOfGroups/" + url.PathEscape(parentID)})
		if gerr == nil {
			return true, nil
		}
	}
	return false, fmt.Errorf("pingone nest group %s in %s: %w", childID, parentID, err)
}

// NestedIn reports whether child is nested directly in parent: GET
// /groups/{child}/memberOfGroups/{parent} (§5a); 404 means it is not.
func (c *Client) NestedIn(ctx context.Context, childID, parentID string) (bool, error) {
	if childID == "" || parentID == "" {
		return false, errors.New("pingone read nesting: empty group id")
	}
	_, err := c.do(ctx, call{op: "get_nesting", method: http.MethodGet, url: c.groupURL(childID) + "/memberOfGroups/" + url.PathEscape(parentID)})
	switch {
	case IsNotFound(err):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("pingone read nesting of group %s in %s: %w", childID, parentID, err)
	}
	return true, nil
}

// GroupParents calls fn with the id of every group the group is nested in
// directly: one paged listing, GET /groups/{groupID}/memberOfGroups
// (§5a, read-group-member-of: "the IDs for any groups that contain the
// target group"). Each item is a GroupNesting (SPEC L4001: id, type);
// an item whose type says other than DIRECT is skipped, should PingOne
// also list the groups that contain it through nesting. A group that does
// not exist is a not-found error (IsNotFound).
func (c *Client) GroupParents(ctx context.Context, groupID string, fn func(parentID string) error) error {
	if groupID == "" {
		return errors.New("pingone group parents: empty group id")
	}
	first := c.groupURL(groupID) + "/memberOfGroups?limit=" + strconv.Itoa(groupsPageSize)
	// SPEC's EntityArray has no key of its own for nestings: they come
	// under groupMemberships, the key of the other memberOfGroups listing.
	return each(ctx, c, "list_nesting", first, "groupMemberships", "pingone list the groups group "+groupID+" is nested in",
		decodeMembership, func(n membership) error {
			if n.Type != "" && !strings.EqualFold(n.Type, "DIRECT") {
				return nil
			}
			return fn(n.ID)
		})
}

// UnnestGroup removes the link nesting child in parent; a link already
// gone counts as done.
func (c *Client) UnnestGroup(ctx context.Context, childID, parentID string) (gone bool, err error) {
	if childID == "" || parentID == "" {
		return false, errors.New("pingone unnest group: empty group id")
	}
	_, err = c.do(ctx, call{op: "unnest_group", method: http.MethodDelete, url: c.groupURL(childID) + "/memberOfGroups/" + url.PathEscape(parentID)})
	if IsNotFound(err) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("pingone unnest group %s from %s: %w", childID, parentID, err)
	}
	return false, nil
}

// GroupMembers calls fn with the id of every user who is a member of the
// group (directly or through nesting), one paged listing:
// GET /users?filter=memberOfGroups[id eq "…"] (§5a).
func (c *Client) GroupMembers(ctx context.Context, groupID string, fn func(User) error) error {
	if groupID == "" {
		return errors.New("pingone group members: empty group id")
	}
	if err := c.FindUsers(ctx, MemberOf(groupID), fn); err != nil {
		return fmt.Errorf("group %s: %w", groupID, err)
	}
	return nil
}
