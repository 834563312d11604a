// Package stateurl redacts state URLs for logs and error messages, shared by
// state/backend and the backends so every message names the store the same
// way without its password (DESIGN invariant 10).
package stateurl
