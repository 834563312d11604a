// Package groupse2e holds the end-to-end tests of groups and memberships
// against real directories — slapd (a 10,000-member groupOfNames,
// groupOfUniqueNames, flatten's rules, nested: mirror) and the Samba AD DC
// (a group past AD's 1,500-value range, a nested group) — into the
// spec-checked PingOne emulator. They live apart from reconcile's own
// tests so that package stays well within go test's default timeout under
// -race on a busy machine; `make test` runs them with the rest.
package groupse2e
