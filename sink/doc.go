// Package sink is the PingOne side of syncd: where desired users are
// written. It holds no code of its own; see its sub-packages:
//
//   - sink/pingone: the PingOne Management API client (token, rate limit,
//     retries, lost-response safety, typed errors, SCIM filter builder);
//   - sink/pingone/pingonetest: an in-process PingOne emulator, faithful to
//     the API and checked against its OpenAPI spec, for tests and the demo.
package sink
