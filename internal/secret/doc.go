// Package secret holds configuration secrets (PingOne client secret, LDAP
// bind password) in a type that never prints itself: fmt, zap, JSON and YAML
// all see "[redacted]" (DESIGN invariant 10). Only Reveal returns the value,
// and only code that hands it to a protocol should call it.
package secret
