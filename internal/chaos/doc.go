// Package chaos holds syncd's reliability tests; it has no API. They run
// the real syncd binary (built once per test process) against the PingOne
// emulator served from the test process on loopback, and break things on
// purpose: SIGKILL at random points of an apply (and between creates and
// their checkpoint, followed by a rename in the source), injected 5xx answers,
// lost responses, 429 storms, expiring and revoked tokens, a directory
// server killed (or its connection cut) mid-read, a wrong base DN, a CSV export cut inside a quoted field, a
// private PostgreSQL restarted mid-run, and debug logging around secrets.
// After each one they check the invariants that matter: PingOne ends equal
// to the export, no user is ever duplicated, state agrees with PingOne, a
// failed read disables nobody, and no secret is ever printed.
//
// `go test ./internal/chaos` runs the short version (a few trials, under
// a minute); `make test-chaos` runs the long one:
//
//	go test -count=1 -timeout 30m ./internal/chaos -chaos.long
//
// (or SYNCD_CHAOS_LONG=1). -chaos.seed fixes the random choices of a run;
// every test logs the seed it used.
package chaos
