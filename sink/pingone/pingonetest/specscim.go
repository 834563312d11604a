package pingonetest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// checkScimPatch checks a SCIM PATCH of a user against what API-NOTES §3
// documents and SPEC's User schema: a bearer token; a body holding a
// non-empty Operations array (and optionally RFC 7644's schemas); each
// operation add, replace or remove, its path a property (or sub-property)
// of User, its value valid for that property's schema. SPEC declares only
// application/json for this operation, so the generic validator cannot.
func (sd *specDoc) checkScimPatch(r *http.Request, body []byte) []string {
	var out []string
	bad := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	if scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " "); !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
		bad("no bearer token")
	}
	var doc map[string]any
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&doc); err != nil || doc == nil {
		bad("body is not a JSON object: %v", err)
		return out
	}
	for k := range doc {
		if k != "Operations" && k != "schemas" {
			bad("unknown member %q", k)
		}
	}
	if s, ok := doc["schemas"]; ok {
		if l, ok := s.([]any); !ok || len(l) != 1 || l[0] != scimPatchSchema {
			bad("schemas must be [%q]", scimPatchSchema)
		}
	}
	ops, ok := doc["Operations"].([]any)
	if !ok || len(ops) == 0 {
		bad("Operations must be a non-empty array")
		return out
	}
	var user *openapi3.Schema
	if u := sd.doc.Components.Schemas["User"]; u != nil {
		user = u.Value
	}
	for i, o := range ops {
		m, ok := o.(map[string]any)
		if !ok {
			bad("Operations[%d] is not an object", i)
			continue
		}
		op, _ := m["op"].(string)
		switch strings.ToLower(op) {
		case "add", "replace", "remove":
		default:
			bad("Operations[%d].op %q: want add, replace or remove", i, op)
		}
		path, _ := m["path"].(string)
		if path == "" {
			if strings.EqualFold(op, "remove") {
				bad("Operations[%d]: remove without a path", i)
			}
			continue
		}
		prop := propertyAt(user, path)
		if prop == nil {
			if !strings.Contains(path, ".") && user != nil && user.AdditionalProperties.Has != nil && !*user.AdditionalProperties.Has {
				bad("Operations[%d].path %q is not a User property", i, path)
			}
			if strings.Contains(path, ".") {
				bad("Operations[%d].path %q is not a User property", i, path)
			}
			continue
		}
		if prop.ReadOnly {
			bad("Operations[%d].path %q is read-only", i, path)
		}
		if v, has := m["value"]; has && !strings.EqualFold(op, "remove") {
			if err := prop.VisitJSON(v); err != nil {
				bad("Operations[%d].value for %s: %v", i, path, err)
			}
		}
	}
	return out
}

// propertyAt returns the schema of a dotted property path of s, or nil.
func propertyAt(s *openapi3.Schema, path string) *openapi3.Schema {
	for _, p := range strings.Split(path, ".") {
		if s == nil {
			return nil
		}
		ref := s.Properties[p]
		if ref == nil {
			return nil
		}
		s = ref.Value
	}
	return s
}
