package pingone

import (
	"encoding/json"
	"sort"
	"strings"
)

// ScimPatchMediaType is the Content-Type of PingOne's second form of
// PATCH /users/{id} (API-NOTES §3): an Operations array following RFC 7644
// §3.5.2, where a path such as name.given changes that member alone.
const ScimPatchMediaType = "application/vnd.pingidentity.user.scim.patch+json"

// touchesMembers reports whether an update names a member of a complex
// attribute (name.given, address.locality). A JSON PATCH would have to send
// the whole object — read first, then written back (two calls, and a
// concurrent admin change lost) — so such updates use the SCIM form: one
// request, and members syncd does not manage (name.middle) are untouched.
func touchesMembers(set map[string]string, clear []string) bool {
	for k := range set {
		if strings.Contains(k, ".") {
			return true
		}
	}
	for _, k := range clear {
		if strings.Contains(k, ".") {
			return true
		}
	}
	return false
}

type scimOp struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Value any    `json:"value,omitempty"`
}

// scimPatch encodes set as replace and clear as remove operations, in
// path order (paths already validated by nest).
func scimPatch(set map[string]string, clear []string) []byte {
	ops := make([]scimOp, 0, len(set)+len(clear))
	for k, v := range set {
		ops = append(ops, scimOp{Op: "replace", Path: k, Value: v})
	}
	for _, k := range clear {
		ops = append(ops, scimOp{Op: "remove", Path: k})
	}
	sort.Slice(ops, func(i, j int) bool { return ops[i].Path < ops[j].Path })
	raw, _ := json.Marshal(struct {
		Schemas    []string `json:"schemas"`
		Operations []scimOp `json:"Operations"`
	}{[]string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"}, ops})
	return raw
}
