// Package pingonetest is an in-process double of the PingOne Management API
// (users, populations, schemas) and of the worker-app token endpoint, for
// syncd's tests and its demo.
//
// It is written from the API description in
// ../shared/reference/pingone/API-NOTES.md and the OpenAPI spec beside it,
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
// NewServer wraps an Emulator in an httptest.Server for tests;
// cmd/pingone-emulator runs it as a standalone process for the demo.
package pingonetest
