// Package mapper turns a source record into the PingOne user syncd wants
// (Desired), or into a Reject with a reason a person can act on. It compiles
// the job's mapping schema once, at config load, and does no I/O: a broken
// mapping fails at start, not at 03:00.
package mapper
