// Package pingonetest is an in-process double of the PingOne Management API
// (users, populations, schemas) and of the worker-app token endpoint, for
// syncd's tests and its demo.
//
// It is written from the API description in
// ../shared/reference/pingone/API-NOTES.md and the OpenAPI spec beside it
// (vendored in testdata/spec so that a bare clone can test against it),
// never from syncd's own client (this package must not import sink/pingone):
// a double that copies its client's assumptions hides that client's bugs.
// Where the notes mark a behaviour unknown ([U]) the emulator takes the
// stricter reading and says so in a comment citing the section, e.g.
// "§3b [U]".
//
// What it owns:
//
//   - POST /{env}/as/token (client_credentials; Basic and/or form-post client
//     authentication), opaque JWT-looking bearer tokens with a TTL;
//   - /v1/environments/{env}/users CRUD, /enabled and /population
//     sub-resources, the SCIM-style filter language (a real parser, see
//     ParseFilter), cursor paging with absolute next links;
//   - populations (list/filter/create/read/delete guard) and the User schema
//     with its attributes, including custom STRING attributes;
//   - per-attribute validation with PingOne's P1Error bodies;
//   - a token-bucket rate limiter answering 429 REQUEST_LIMITED with
//     Retry-After, injected 500/503 faults that do no work, "lost responses"
//     (the write commits, then the connection is dropped), added latency;
//   - counters and a request log for assertions, and optional validation of
//     every request and response against the OpenAPI spec.
//
// Decisions where API-NOTES says the real behaviour is unknown ([U]) or only
// inferred ([I]); each is the reading that makes a careless client fail here
// rather than in production:
//
//   - usernames are unique case-insensitively (§4 [U]); filter values compare
//     case-insensitively (§3b [U]); and/or/operators are case-insensitive,
//     attribute names case-sensitive;
//   - filter operator co and the negations/comparisons (ne, gt, pr, not...)
//     are refused with INVALID_FILTER (§3b: co's attribute list is [U]);
//     enabled takes the bare literals true/false only;
//   - PATCH merges top-level attributes; name, address and photo are replaced
//     as whole objects (nested merge is [U]); null clears;
//   - population in a PUT/PATCH body: accepted if it names the current
//     population, otherwise 400 INVALID_VALUE population.id (§3 says it
//     "cannot be updated" there; the real answer is [U]);
//   - enabled, id, createdAt and other read-only members in bodies are
//     ignored (§3); emailVerified=true is refused on a plain create and
//     lifecycle is honoured only with the import media type (§3 import);
//   - a wrong environment id is 403 ACCESS_FAILED (§6b); the token endpoint
//     answers RFC 6749 error bodies (§2 [U]) and treats the wrong client
//     authentication style as invalid_client (§2 [U]);
//   - 405 is METHOD_NOT_ALLOWED (§6b [U]); deleting the default or a
//     non-empty population is 400 INVALID_DATA / CONSTRAINT_VIOLATION (§5 [U]);
//   - no limit means pages of MaxPageSize (§3c [U]); cursors are keyset
//     positions signed with a per-emulator key and bound to the filter, so
//     an edited cursor or one reused with another filter is 400;
//   - the token endpoint is never rate limited or faulted; faults, latency
//     and the rate limit apply to /v1 only.
//
// NewServer wraps an Emulator in an httptest.Server for tests;
// cmd/pingone-emulator runs it as a standalone process for the demo.
package pingonetest
