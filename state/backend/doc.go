// Package backend opens the state store a state.url names:
// postgres:// or postgresql:// (state/pgstate) and sqlite://PATH
// (state/sqlitestate, the default). It also redacts such URLs for logs.
package backend
