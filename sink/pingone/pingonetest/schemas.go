package pingonetest

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"sort"

	"github.com/google/uuid"
)

// schemaAttr describes one attribute of the User schema (SPEC
// SchemaAttribute L6988; API-NOTES §4a).
type schemaAttr struct {
	name, typ, schemaType string
	required, unique      bool
	subs                  []string
}

// coreAttrs are the built-in attributes listed by GET .../attributes.
// CORE/STANDARD split per §4a (CORE immutable: username, population,
// enabled...; STANDARD: the profile attributes).
var coreAttrs = func() []schemaAttr {
	as := []schemaAttr{
		{name: "username", typ: "STRING", schemaType: "CORE", required: true, unique: true},
		{name: "population", typ: "COMPLEX", schemaType: "CORE", required: true, subs: []string{"id"}},
		{name: "enabled", typ: "BOOLEAN", schemaType: "CORE"},
		{name: "email", typ: "STRING", schemaType: "STANDARD"},
		{name: "name", typ: "COMPLEX", schemaType: "STANDARD", subs: []string{"given", "family", "formatted", "middle", "honorificPrefix", "honorificSuffix"}},
		{name: "address", typ: "COMPLEX", schemaType: "STANDARD", subs: []string{"streetAddress", "locality", "region", "postalCode", "countryCode"}},
		{name: "photo", typ: "COMPLEX", schemaType: "STANDARD", subs: []string{"href"}},
		{name: "mfaEnabled", typ: "BOOLEAN", schemaType: "STANDARD"},
	}
	for _, n := range []string{"nickname", "title", "preferredLanguage", "locale", "timezone", "primaryPhone", "mobilePhone", "externalId", "accountId", "type"} {
		as = append(as, schemaAttr{name: n, typ: "STRING", schemaType: "STANDARD"})
	}
	return as
}()

// reAttrName: "must start with a letter and may be followed by letters,
// numbers or hyphens" (SPEC SchemaAttribute.name).
var reAttrName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9-]{0,255}$`)

// defineAttributeLocked adds a custom STRING attribute to the User schema.
func (e *Emulator) defineAttributeLocked(name string) error {
	if !reAttrName.MatchString(name) {
		return errors.New("must start with a letter followed by letters, numbers or hyphens (max 256)")
	}
	if e.custom[name] || e.attrIDs[name] != "" {
		return errExists
	}
	if _, ok := topStrings[name]; ok {
		return errExists
	}
	if _, ok := objStrings[name]; ok {
		return errExists
	}
	for _, a := range coreAttrs {
		if a.name == name {
			return errExists
		}
	}
	// §4: two attributes differing only in case cannot coexist.
	for _, c := range e.customOrder {
		if equalFoldASCII(c, name) {
			return errExists
		}
	}
	e.custom[name] = true
	e.customOrder = append(e.customOrder, name)
	e.attrIDs[name] = uuid.NewString()
	return nil
}

func equalFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// DefineAttribute adds a custom STRING attribute to the User schema at run
// time.
func (e *Emulator) DefineAttribute(name string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := e.defineAttributeLocked(name); err != nil {
		return fmt.Errorf("define attribute %q: %w", name, err)
	}
	return nil
}

func (e *Emulator) attrIDLocked(name string) string {
	id := e.attrIDs[name]
	if id == "" {
		id = uuid.NewString()
		e.attrIDs[name] = id
	}
	return id
}

func (e *Emulator) allAttrsLocked() []schemaAttr {
	as := append([]schemaAttr(nil), coreAttrs...)
	for _, n := range e.customOrder {
		as = append(as, schemaAttr{name: n, typ: "STRING", schemaType: "CUSTOM"})
	}
	return as
}

func (e *Emulator) renderAttrLocked(base string, a schemaAttr) map[string]any {
	env := e.opts.EnvironmentID
	id := e.attrIDLocked(a.name)
	m := map[string]any{
		"_links": map[string]any{
			"self":   map[string]any{"href": fmt.Sprintf("%s/environments/%s/schemas/%s/attributes/%s", base, env, e.schemaID, id)},
			"schema": map[string]any{"href": fmt.Sprintf("%s/environments/%s/schemas/%s", base, env, e.schemaID)},
		},
		"id":          id,
		"environment": map[string]any{"id": env},
		"schema":      map[string]any{"id": e.schemaID},
		"name":        a.name,
		"displayName": a.name,
		"type":        a.typ,
		"schemaType":  a.schemaType,
		"enabled":     true,
		"required":    a.required,
		"unique":      a.unique,
		"multiValued": false,
	}
	if len(a.subs) > 0 {
		subs := make([]map[string]any, len(a.subs))
		for i, s := range a.subs {
			subs[i] = map[string]any{"name": s, "type": "STRING", "enabled": true, "required": false, "unique": false, "multiValued": false}
		}
		m["subAttributes"] = subs
	}
	return m
}

func (e *Emulator) renderSchemaLocked(base string, withAttrs bool) map[string]any {
	env := e.opts.EnvironmentID
	m := map[string]any{
		"_links": map[string]any{
			"self":       map[string]any{"href": fmt.Sprintf("%s/environments/%s/schemas/%s", base, env, e.schemaID)},
			"attributes": map[string]any{"href": fmt.Sprintf("%s/environments/%s/schemas/%s/attributes", base, env, e.schemaID)},
		},
		"id":                     e.schemaID,
		"name":                   "User",
		"description":            "PingOne User Schema",
		"environment":            map[string]any{"id": env},
		"allowsContainsOperator": false,
	}
	if withAttrs {
		var as []map[string]any
		for _, a := range e.allAttrsLocked() {
			as = append(as, e.renderAttrLocked(base, a))
		}
		m["attributes"] = as
	}
	return m
}

func (e *Emulator) listSchemas(ar *apiRequest) *response {
	e.mu.Lock()
	defer e.mu.Unlock()
	items := []listItem{{seq: 1, render: func() map[string]any { return e.renderSchemaLocked(ar.base, false) }}}
	return e.pageLocked(ar, "schemas", items)
}

func (e *Emulator) readSchema(ar *apiRequest) *response {
	e.mu.Lock()
	defer e.mu.Unlock()
	if ar.params["schemaID"] != e.schemaID {
		return notFound()
	}
	return &response{status: http.StatusOK, body: e.renderSchemaLocked(ar.base, true)}
}

func (e *Emulator) listAttributes(ar *apiRequest) *response {
	e.mu.Lock()
	defer e.mu.Unlock()
	if ar.params["schemaID"] != e.schemaID {
		return notFound()
	}
	var items []listItem
	for i, a := range e.allAttrsLocked() {
		items = append(items, listItem{seq: uint64(i + 1), render: func() map[string]any { return e.renderAttrLocked(ar.base, a) }})
	}
	sort.SliceStable(items, func(i, j int) bool { return items[i].seq < items[j].seq })
	return e.pageLocked(ar, "attributes", items)
}

func (e *Emulator) readAttribute(ar *apiRequest) *response {
	e.mu.Lock()
	defer e.mu.Unlock()
	if ar.params["schemaID"] != e.schemaID {
		return notFound()
	}
	for _, a := range e.allAttrsLocked() {
		if e.attrIDLocked(a.name) == ar.params["attributeID"] {
			return &response{status: http.StatusOK, body: e.renderAttrLocked(ar.base, a)}
		}
	}
	return notFound()
}
