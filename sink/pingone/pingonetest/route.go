package pingonetest

import (
	"net/http"
	"strings"
)

// handlerFunc answers one API operation.
type handlerFunc func(e *Emulator, ar *apiRequest) *response

// route is the result of matching an API path: the operation name (the
// spec's operationId where there is one), its handler and path parameters.
// A nil handler means the answer is 404/405 (decided after authentication).
type route struct {
	op      string
	handler handlerFunc
	params  map[string]string
}

type endpoint map[string]struct {
	op string
	h  handlerFunc
}

// route matches a path below /v1. Only the operations syncd needs exist;
// everything else is 404 NOT_FOUND (or 405 on a known path).
func (e *Emulator) route(method, path string) route {
	seg := strings.Split(strings.Trim(path, "/"), "/")
	if len(seg) < 3 || seg[0] != "environments" || seg[1] == "" {
		return route{op: "unknown", handler: func(*Emulator, *apiRequest) *response { return notFound() }}
	}
	params := map[string]string{"env": seg[1]}
	var ep endpoint
	rest := seg[2:]
	switch {
	case rest[0] == "users" && len(rest) == 1:
		ep = endpoint{
			http.MethodGet:  {"readAllUsers", (*Emulator).listUsers},
			http.MethodPost: {"createUser", (*Emulator).createUser},
		}
	case rest[0] == "users" && len(rest) == 2:
		params["userID"] = rest[1]
		ep = endpoint{
			http.MethodGet:    {"readUser", (*Emulator).readUser},
			http.MethodPut:    {"updateUserPut", (*Emulator).putUser},
			http.MethodPatch:  {"updateUserPatch", (*Emulator).patchUserAnyForm},
			http.MethodDelete: {"deleteUser", (*Emulator).deleteUser},
		}
	case rest[0] == "users" && len(rest) == 3 && rest[2] == "enabled":
		params["userID"] = rest[1]
		ep = endpoint{
			http.MethodGet: {"readUserEnabled", (*Emulator).readUserEnabled},
			http.MethodPut: {"updateUserEnabled", (*Emulator).updateUserEnabled},
		}
	case rest[0] == "users" && len(rest) == 3 && rest[2] == "population":
		params["userID"] = rest[1]
		ep = endpoint{
			http.MethodGet: {"readUserPopulation", (*Emulator).readUserPopulation},
			http.MethodPut: {"updateUserPopulation", (*Emulator).updateUserPopulation},
		}
	case rest[0] == "users" && len(rest) == 3 && rest[2] == "memberOfGroups":
		params["userID"] = rest[1]
		ep = endpoint{
			http.MethodGet:  {"readAllGroupMembershipsForUser", (*Emulator).listUserGroups},
			http.MethodPost: {"addUserToGroup", (*Emulator).addUserToGroup},
		}
	case rest[0] == "users" && len(rest) == 4 && rest[2] == "memberOfGroups":
		params["userID"], params["groupID"] = rest[1], rest[3]
		ep = endpoint{
			http.MethodGet:    {"readOneGroupMembershipForUser", (*Emulator).readUserGroup},
			http.MethodDelete: {"removeUserFromGroup", (*Emulator).removeUserFromGroup},
		}
	case rest[0] == "groups" && len(rest) == 1:
		ep = endpoint{
			http.MethodGet:  {"readAllGroups", (*Emulator).listGroups},
			http.MethodPost: {"createGroup", (*Emulator).createGroup},
		}
	case rest[0] == "groups" && len(rest) == 2:
		params["groupID"] = rest[1]
		ep = endpoint{
			http.MethodGet:    {"readOneGroup", (*Emulator).readGroup},
			http.MethodPut:    {"updateGroup", (*Emulator).updateGroup},
			http.MethodDelete: {"deleteGroup", (*Emulator).deleteGroup},
		}
	case rest[0] == "groups" && len(rest) == 3 && rest[2] == "memberOfGroups":
		params["groupID"] = rest[1]
		ep = endpoint{
			http.MethodGet:  {"readGroupNesting", (*Emulator).listGroupNesting},
			http.MethodPost: {"createGroupNesting", (*Emulator).createGroupNesting},
		}
	case rest[0] == "groups" && len(rest) == 4 && rest[2] == "memberOfGroups":
		params["groupID"], params["nestedGroupID"] = rest[1], rest[3]
		ep = endpoint{
			http.MethodGet:    {"readOneGroupNesting", (*Emulator).readGroupNesting},
			http.MethodDelete: {"deleteGroupNesting", (*Emulator).deleteGroupNesting},
		}
	case rest[0] == "populations" && len(rest) == 1:
		ep = endpoint{
			http.MethodGet:  {"readAllPopulations", (*Emulator).listPopulations},
			http.MethodPost: {"createPopulation", (*Emulator).createPopulation},
		}
	case rest[0] == "populations" && len(rest) == 2:
		params["populationID"] = rest[1]
		ep = endpoint{
			http.MethodGet:    {"readOnePopulation", (*Emulator).readPopulation},
			http.MethodDelete: {"deletePopulation", (*Emulator).deletePopulation},
		}
	case rest[0] == "schemas" && len(rest) == 1:
		ep = endpoint{http.MethodGet: {"readAllSchemas", (*Emulator).listSchemas}}
	case rest[0] == "schemas" && len(rest) == 2:
		params["schemaID"] = rest[1]
		ep = endpoint{http.MethodGet: {"readOneSchema", (*Emulator).readSchema}}
	case rest[0] == "schemas" && len(rest) == 3 && rest[2] == "attributes":
		params["schemaID"] = rest[1]
		ep = endpoint{http.MethodGet: {"readAllSchemaAttributes", (*Emulator).listAttributes}}
	case rest[0] == "schemas" && len(rest) == 4 && rest[2] == "attributes":
		params["schemaID"] = rest[1]
		params["attributeID"] = rest[3]
		ep = endpoint{http.MethodGet: {"readOneAttribute", (*Emulator).readAttribute}}
	default:
		return route{op: "unknown", params: params, handler: func(*Emulator, *apiRequest) *response { return notFound() }}
	}
	if h, ok := ep[method]; ok {
		return route{op: h.op, handler: h.h, params: params}
	}
	return route{op: "unknown", params: params, handler: func(*Emulator, *apiRequest) *response { return methodNotAllowed() }}
}
