package pingone

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"go.uber.org/zap"
)

// usersPageSize is the limit asked for on the first page of a user list.
// PingOne may return fewer (API-NOTES §3c); the client follows next links.
const usersPageSize = 200

// reservedAttrs are user members the client manages itself or PingOne
// does not let a client write through the user resource.
var reservedAttrs = map[string]bool{
	"id": true, "enabled": true, "population": true, "environment": true,
	"_links": true, "_embedded": true, "createdAt": true, "updatedAt": true,
}

// CreateUser creates an enabled user in populationID (PingOne's default
// population when empty) with attrs, whose keys are attribute paths
// ("username", "name.given", custom names). attrs["externalId"] is
// required: it is the user's anchor, and if the response to the create is
// lost the client finds the user by it instead of creating a second one.
func (c *Client) CreateUser(ctx context.Context, populationID string, attrs map[string]string) (User, error) {
	ext := attrs["externalId"]
	if ext == "" {
		return User{}, errors.New("pingone create user: externalId is required")
	}
	body, err := nest(attrs, nil)
	if err != nil {
		return User{}, fmt.Errorf("pingone create user externalId=%s: %w", ext, err)
	}
	if populationID != "" {
		body["population"] = map[string]any{"id": populationID}
	}
	raw, err := json.Marshal(body)
	if err != nil {
		return User{}, fmt.Errorf("pingone create user externalId=%s: %w", ext, err)
	}
	var found *User
	resp, err := c.do(ctx, call{
		op:     "create_user",
		method: http.MethodPost,
		url:    c.envBase + "/users",
		body:   raw,
		recover: func(ctx context.Context) (bool, error) {
			u, ok, err := c.UserByExternalID(ctx, ext)
			if ok {
				found = &u
			}
			return ok, err
		},
	})
	if err != nil {
		return User{}, fmt.Errorf("pingone create user externalId=%s: %w", ext, err)
	}
	if found != nil {
		c.st.update(func(s *Stats) { s.LostCreates++ })
		c.logger.Info("user create recovered by externalId",
			zap.String("user_id", found.ID), zap.String("run_id", TransactionID(ctx)))
		return *found, nil
	}
	u, err := decodeUser(resp)
	if err != nil {
		return User{}, fmt.Errorf("pingone create user externalId=%s: %w", ext, err)
	}
	return u, nil
}

// GetUser reads one user by ID.
func (c *Client) GetUser(ctx context.Context, id string) (User, error) {
	if id == "" {
		return User{}, errors.New("pingone get user: empty id")
	}
	resp, err := c.do(ctx, call{op: "get_user", method: http.MethodGet, url: c.userURL(id)})
	if err != nil {
		return User{}, fmt.Errorf("pingone get user %s: %w", id, err)
	}
	u, err := decodeUser(resp)
	if err != nil {
		return User{}, fmt.Errorf("pingone get user %s: %w", id, err)
	}
	return u, nil
}

// FindUsers calls fn for every user matching filter (all users for the
// zero Filter), one page at a time. An error from fn stops the listing
// and is returned as is.
func (c *Client) FindUsers(ctx context.Context, filter Filter, fn func(User) error) error {
	if err := filter.Err(); err != nil {
		return fmt.Errorf("pingone find users: %w", err)
	}
	q := "limit=" + strconv.Itoa(usersPageSize)
	if s := filter.String(); s != "" {
		q = "filter=" + queryEscape(s) + "&" + q
	}
	return each(ctx, c, "find_users", c.envBase+"/users?"+q, "users", "pingone find users",
		func(raw json.RawMessage) (User, bool, error) {
			u, err := decodeUser(raw)
			return u, err == nil, err
		}, fn)
}

// each pages through a listing (pages), decoding every item with decode
// and handing those it keeps to fn. An error from fn stops the listing and
// is returned as it is; any other error is the listing's, prefixed by what.
func each[T any](ctx context.Context, c *Client, op, first, key, what string, decode func(json.RawMessage) (T, bool, error), fn func(T) error) error {
	err := c.pages(ctx, op, first, key, func(raw json.RawMessage) error {
		v, keep, err := decode(raw)
		if err != nil || !keep {
			return err
		}
		if err := fn(v); err != nil {
			return &fnError{err}
		}
		return nil
	})
	var fe *fnError
	if errors.As(err, &fe) {
		return fe.err
	}
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// fnError carries the callback's error through pages so each can return
// it unwrapped.
type fnError struct{ err error }

func (e *fnError) Error() string { return e.err.Error() }

// UserByExternalID finds the user whose externalId is externalID. More
// than one match is an error: anchors are unique by construction.
func (c *Client) UserByExternalID(ctx context.Context, externalID string) (User, bool, error) {
	var found []User
	err := c.FindUsers(ctx, Eq("externalId", externalID), func(u User) error {
		// PingOne's eq may be case-insensitive; the anchor is not.
		if u.Attributes["externalId"] == externalID {
			found = append(found, u)
		}
		return nil
	})
	if err != nil {
		return User{}, false, err
	}
	switch len(found) {
	case 0:
		return User{}, false, nil
	case 1:
		return found[0], true, nil
	}
	ids := make([]string, len(found))
	for i, u := range found {
		ids[i] = u.ID
	}
	return User{}, false, fmt.Errorf("pingone find user externalId=%s: %d users carry it (%s)", externalID, len(found), strings.Join(ids, ", "))
}

// UpdateUser sets the attributes in set and clears those in clear (sent
// as JSON null) with one PATCH; attributes in neither are left alone.
func (c *Client) UpdateUser(ctx context.Context, id string, set map[string]string, clear []string) (User, error) {
	if id == "" {
		return User{}, errors.New("pingone update user: empty id")
	}
	if len(set) == 0 && len(clear) == 0 {
		return c.GetUser(ctx, id)
	}
	body, err := nest(set, clear) // validates the paths in either form
	if err != nil {
		return User{}, fmt.Errorf("pingone update user %s: %w", id, err)
	}
	ct := ""
	var raw []byte
	if touchesMembers(set, clear) {
		raw, ct = scimPatch(set, clear), ScimPatchMediaType
	} else if raw, err = json.Marshal(body); err != nil {
		return User{}, fmt.Errorf("pingone update user %s: %w", id, err)
	}
	resp, err := c.do(ctx, call{op: "update_user", method: http.MethodPatch, url: c.userURL(id), body: raw, contentType: ct})
	if err != nil {
		return User{}, fmt.Errorf("pingone update user %s: %w", id, err)
	}
	u, err := decodeUser(resp)
	if err != nil {
		return User{}, fmt.Errorf("pingone update user %s: %w", id, err)
	}
	return u, nil
}

// SetEnabled enables or disables a user (PUT .../enabled).
func (c *Client) SetEnabled(ctx context.Context, id string, enabled bool) error {
	if id == "" {
		return errors.New("pingone set enabled: empty id")
	}
	raw, _ := json.Marshal(map[string]bool{"enabled": enabled})
	if _, err := c.do(ctx, call{op: "set_enabled", method: http.MethodPut, url: c.userURL(id) + "/enabled", body: raw}); err != nil {
		return fmt.Errorf("pingone set user %s enabled=%t: %w", id, enabled, err)
	}
	return nil
}

// SetPopulation moves a user to populationID (PUT .../population).
func (c *Client) SetPopulation(ctx context.Context, id, populationID string) error {
	if id == "" || populationID == "" {
		return errors.New("pingone set population: empty user or population id")
	}
	raw, _ := json.Marshal(map[string]string{"id": populationID})
	if _, err := c.do(ctx, call{op: "set_population", method: http.MethodPut, url: c.userURL(id) + "/population", body: raw}); err != nil {
		return fmt.Errorf("pingone move user %s to population %s: %w", id, populationID, err)
	}
	return nil
}

// DeleteUser deletes a user. Deleting a user that is already gone returns
// an error for which IsNotFound is true, unless an earlier attempt of the
// same call deleted it and only its response was lost.
func (c *Client) DeleteUser(ctx context.Context, id string) error {
	if id == "" {
		return errors.New("pingone delete user: empty id")
	}
	if _, err := c.do(ctx, call{op: "delete_user", method: http.MethodDelete, url: c.userURL(id)}); err != nil {
		return fmt.Errorf("pingone delete user %s: %w", id, err)
	}
	return nil
}

func (c *Client) userURL(id string) string {
	return c.envBase + "/users/" + url.PathEscape(id)
}

// pages lists a collection: GET first, then the absolute _links.next.href
// verbatim until there is none, calling fn for each item of
// _embedded.<key>. Pages may be shorter than asked.
func (c *Client) pages(ctx context.Context, op, first, key string, fn func(json.RawMessage) error) error {
	next := first
	seen := map[string]bool{}
	for next != "" {
		if seen[next] {
			return fmt.Errorf("%s: next link loops back to %s", op, redactQuery(next))
		}
		seen[next] = true
		resp, err := c.do(ctx, call{op: op, method: http.MethodGet, url: next})
		if err != nil {
			return err
		}
		var page struct {
			Links struct {
				Next *struct {
					Href string `json:"href"`
				} `json:"next"`
			} `json:"_links"`
			Embedded map[string][]json.RawMessage `json:"_embedded"`
		}
		if err := json.Unmarshal(resp, &page); err != nil {
			return fmt.Errorf("%s: decode page: %w", op, err)
		}
		for _, item := range page.Embedded[key] {
			if err := fn(item); err != nil {
				return err
			}
		}
		next = ""
		if page.Links.Next != nil && page.Links.Next.Href != "" {
			u, err := url.Parse(page.Links.Next.Href)
			if err != nil || !u.IsAbs() || !c.sameOrigin(u) {
				return fmt.Errorf("%s: refusing next link %q: not on the API host", op, redactQuery(page.Links.Next.Href))
			}
			next = page.Links.Next.Href
		}
	}
	return nil
}

// redactQuery drops a URL's query (it may carry filter values).
func redactQuery(s string) string {
	if i := strings.IndexByte(s, '?'); i >= 0 {
		return s[:i] + "?…"
	}
	return s
}

// queryEscape escapes a query value with %20 for spaces, as PingOne's
// examples do, rather than '+'.
func queryEscape(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
}

// nest turns attribute paths into the nested JSON PingOne expects:
// {"name.given": "Ada"} -> {"name": {"given": "Ada"}}; paths in clear
// become null. Two paths that collide ("name" and "name.given") are an
// error, as are reserved or malformed paths.
func nest(set map[string]string, clear []string) (map[string]any, error) {
	out := map[string]any{}
	put := func(path string, v any) error {
		if !attrPattern.MatchString(path) {
			return fmt.Errorf("invalid attribute path %q", path)
		}
		parts := strings.Split(path, ".")
		if reservedAttrs[parts[0]] {
			return fmt.Errorf("attribute %q cannot be written through the user resource", path)
		}
		m := out
		for _, p := range parts[:len(parts)-1] {
			switch sub := m[p].(type) {
			case nil:
				if _, exists := m[p]; exists {
					return fmt.Errorf("attribute paths collide at %q", path)
				}
				nm := map[string]any{}
				m[p] = nm
				m = nm
			case map[string]any:
				m = sub
			default:
				return fmt.Errorf("attribute paths collide at %q", path)
			}
		}
		leaf := parts[len(parts)-1]
		if _, exists := m[leaf]; exists {
			return fmt.Errorf("attribute paths collide at %q", path)
		}
		m[leaf] = v
		return nil
	}
	// Sorted so that an error names the same path every time.
	keys := make([]string, 0, len(set))
	for k := range set {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := put(k, set[k]); err != nil {
			return nil, err
		}
	}
	for _, k := range clear {
		if _, dup := set[k]; dup {
			return nil, fmt.Errorf("attribute %q both set and cleared", k)
		}
		if err := put(k, nil); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// decodeUser reads a PingOne user resource into a User.
func decodeUser(raw []byte) (User, error) {
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return User{}, fmt.Errorf("decode user: %w", err)
	}
	u := User{Attributes: map[string]string{}}
	u.ID, _ = m["id"].(string)
	if u.ID == "" {
		return User{}, errors.New("decode user: no id")
	}
	if p, ok := m["population"].(map[string]any); ok {
		u.PopulationID, _ = p["id"].(string)
	}
	u.Enabled, _ = m["enabled"].(bool)
	for k, v := range m {
		if reservedAttrs[k] {
			continue
		}
		flatten(k, v, u.Attributes)
	}
	return u, nil
}

func flatten(path string, v any, out map[string]string) {
	switch v := v.(type) {
	case string:
		out[path] = v
	case map[string]any:
		for k, sub := range v {
			flatten(path+"."+k, sub, out)
		}
	}
}
