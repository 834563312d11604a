// Package testenv finds the real services integration tests talk to
// (PostgreSQL, OpenLDAP slapd, Samba AD DC). When a service is missing, a
// test skips on a developer's machine but fails under CI (CI=true): CI can
// never pass by skipping.
package testenv
