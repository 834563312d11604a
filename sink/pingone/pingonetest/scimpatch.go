package pingonetest

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
)

// Why this file exists: PATCH /users/{id} has a second form (API-NOTES §3):
// Content-Type application/vnd.pingidentity.user.scim.patch+json with an
// Operations array following RFC 7644 §3.5.2 — one request that changes
// name.given and leaves name.middle alone. The operations are applied in
// order to a copy of the user, and the top-level attributes they touched
// go through the same validation as a JSON PATCH body.

// ScimPatchMediaType is the Content-Type of a SCIM PATCH of a user.
const ScimPatchMediaType = "application/vnd.pingidentity.user.scim.patch+json"

// scimPatchSchema is the one schemas value RFC 7644 §3.5.2 allows.
const scimPatchSchema = "urn:ietf:params:scim:api:messages:2.0:PatchOp"

// scimPath is what this form accepts as a path: an attribute, or a
// sub-attribute of a complex one (no value filters such as emails[...]:
// the user resource has no multi-valued complex attributes syncd writes).
var scimPath = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]*(\.[A-Za-z][A-Za-z0-9_-]*)?$`)

func (e *Emulator) patchUserAnyForm(ar *apiRequest) *response {
	if mediaType(ar.r) == ScimPatchMediaType {
		return e.scimPatchUser(ar)
	}
	return e.updateUser(ar, modePatch)
}

func (e *Emulator) scimPatchUser(ar *apiRequest) *response {
	body, resp := decodeObject(ar.body)
	if resp != nil {
		return resp
	}
	ops, ds := parseOperations(body)
	if len(ds) > 0 {
		return invalidData(ds...)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	u, resp := e.userLocked(ar)
	if resp != nil {
		return resp
	}
	work := copyAttrs(u.attrs)
	touched := map[string]bool{}
	for i, op := range ops {
		if d := applyOperation(work, op, touched); d != nil {
			d.Target = fmt.Sprintf("Operations[%d].%s", i, d.Target)
			return invalidData(*d)
		}
	}
	// The touched attributes, whole, as a JSON PATCH body: the same
	// validation (types, patterns, read-only attributes, uniqueness).
	patch := map[string]any{}
	for k := range touched {
		v, ok := work[k]
		if !ok {
			v = nil
		}
		patch[k] = v
	}
	if ds := e.updateUserLocked(u, patch, modePatch, false); len(ds) > 0 {
		return invalidData(ds...)
	}
	return &response{status: http.StatusOK, body: e.renderUserLocked(ar.base, u)}
}

// scimOp is one parsed operation.
type scimOp struct {
	op    string // add, replace, remove (lower case)
	path  []string
	value any
	has   bool // value given
}

func parseOperations(body map[string]any) ([]scimOp, []detail) {
	var ds []detail
	bad := func(target, format string, args ...any) {
		ds = append(ds, detail{Code: "INVALID_VALUE", Target: target, Message: fmt.Sprintf(format, args...)})
	}
	for k, v := range body {
		switch k {
		case "Operations":
		case "schemas":
			l, ok := v.([]any)
			if !ok || len(l) != 1 || l[0] != scimPatchSchema {
				bad("schemas", "schemas must be [%q]", scimPatchSchema)
			}
		default:
			bad(k, "unknown member %q: a SCIM PATCH body holds Operations (and schemas)", k)
		}
	}
	raw, ok := body["Operations"].([]any)
	if !ok || len(raw) == 0 {
		bad("Operations", "Operations must be a non-empty array")
		return nil, ds
	}
	ops := make([]scimOp, 0, len(raw))
	for i, r := range raw {
		t := fmt.Sprintf("Operations[%d]", i)
		m, ok := r.(map[string]any)
		if !ok {
			bad(t, "an operation must be an object")
			continue
		}
		var op scimOp
		for k, v := range m {
			switch k {
			case "op":
				s, _ := v.(string)
				op.op = strings.ToLower(s) // RFC 7644 §3.5.2: case-insensitive
			case "path":
				s, ok := v.(string)
				if !ok || !scimPath.MatchString(s) {
					bad(t+".path", "path %v is not an attribute path such as name.given (value filters are not supported)", v)
					continue
				}
				op.path = strings.Split(s, ".")
			case "value":
				op.value, op.has = v, true
			default:
				bad(t+"."+k, "unknown member %q", k)
			}
		}
		switch op.op {
		case "add", "replace":
			if !op.has || op.value == nil {
				bad(t+".value", "%s needs a value (use remove to clear an attribute)", op.op)
			}
			if op.path == nil {
				if _, ok := op.value.(map[string]any); !ok {
					bad(t+".value", "%s without a path needs an object of attributes", op.op)
				}
			}
		case "remove":
			if op.path == nil {
				bad(t+".path", "remove needs a path (RFC 7644 noTarget)")
			}
			if op.has {
				bad(t+".value", "remove takes no value")
			}
		default:
			bad(t+".op", "op %q: want add, replace or remove", op.op)
		}
		ops = append(ops, op)
	}
	return ops, ds
}

// applyOperation applies op to attrs (RFC 7644 §3.5.2): a sub-attribute
// path changes that member only; a complex value without a path merges
// into the attribute, members not named kept. touched collects the
// top-level attributes changed.
func applyOperation(attrs map[string]any, op scimOp, touched map[string]bool) *detail {
	if op.path == nil { // add/replace of an object of attributes
		for k, v := range op.value.(map[string]any) {
			touched[k] = true
			cur, _ := attrs[k].(map[string]any)
			nv, ok := v.(map[string]any)
			if cur == nil || !ok {
				attrs[k] = v
				continue
			}
			merged := copyAttrs(cur)
			for sk, sv := range nv {
				merged[sk] = sv
			}
			attrs[k] = merged
		}
		return nil
	}
	top := op.path[0]
	touched[top] = true
	if len(op.path) == 1 {
		if op.op == "remove" {
			delete(attrs, top)
		} else {
			attrs[top] = op.value
		}
		return nil
	}
	cur, isObj := attrs[top].(map[string]any)
	if _, exists := attrs[top]; exists && !isObj {
		return &detail{Code: "INVALID_VALUE", Target: "path", Message: fmt.Sprintf("%s is not a complex attribute", top)}
	}
	obj := map[string]any{}
	for k, v := range cur {
		obj[k] = v
	}
	if op.op == "remove" {
		delete(obj, op.path[1])
	} else {
		obj[op.path[1]] = op.value
	}
	if len(obj) == 0 {
		delete(attrs, top)
	} else {
		attrs[top] = obj
	}
	return nil
}
