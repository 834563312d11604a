// Package statetest is the conformance suite every state.Store backend
// passes (like dex's storage/conformance): runs, checkpoints, cursors, job
// locks (including a holder that dies), migrations and rollback of a failed
// batch. A backend's tests call Run with a Backend describing how to open
// fresh stores and how to hold a lock from elsewhere.
package statetest
