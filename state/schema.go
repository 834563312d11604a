package state

import (
	"context"
	"errors"
	"fmt"
	"slices"
)

// ErrSchemaOutdated is returned when the database schema lacks migrations
// this binary needs and migrating at open is off: `syncd migrate` applies
// them.
var ErrSchemaOutdated = errors.New("state schema has migrations pending")

// ErrNoSchema is returned when the database holds no syncd schema at all
// and migrating at open is off. It wraps ErrSchemaOutdated.
var ErrNoSchema = fmt.Errorf("state database has no syncd schema: %w", ErrSchemaOutdated)

// SchemaVersion is where a database's schema stands against the migrations
// this binary embeds.
type SchemaVersion struct {
	// Current is the newest migration applied (0: no syncd schema).
	Current int64
	// Latest is this binary's newest migration.
	Latest int64
	// Pending lists this binary's migrations the database has not applied,
	// ascending.
	Pending []int64
}

// SchemaVersioner is implemented by stores that can tell their schema
// version without changing anything (not even creating a version table).
type SchemaVersioner interface {
	SchemaVersion(ctx context.Context) (SchemaVersion, error)
}

// NewSchemaVersion compares the versions applied to a database with the
// versions this binary embeds.
func NewSchemaVersion(applied, embedded []int64) SchemaVersion {
	var v SchemaVersion
	for _, a := range applied {
		v.Current = max(v.Current, a)
	}
	for _, e := range embedded {
		v.Latest = max(v.Latest, e)
		if !slices.Contains(applied, e) {
			v.Pending = append(v.Pending, e)
		}
	}
	slices.Sort(v.Pending)
	return v
}

// CheckSchema refuses a schema this binary cannot use: one newer than it
// (ErrSchemaTooNew, whatever the mode: it would write rows a newer syncd
// does not expect), or one with migrations pending (ErrSchemaOutdated, or
// ErrNoSchema when there is none). Every open that is not followed by a
// migration calls it; a store that cannot tell its version passes.
func CheckSchema(ctx context.Context, st Store) error {
	sv, ok := st.(SchemaVersioner)
	if !ok {
		return nil
	}
	v, err := sv.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	switch {
	case v.Current > v.Latest:
		return fmt.Errorf("schema version %d is newer than this syncd's newest migration %d: upgrade syncd (a newer syncd wrote it): %w",
			v.Current, v.Latest, ErrSchemaTooNew)
	case v.Current == 0 && len(v.Pending) > 0:
		return fmt.Errorf("run `syncd migrate` to create it (or set state.auto_migrate: true): %w", ErrNoSchema)
	case len(v.Pending) > 0:
		return fmt.Errorf("schema version %d, this syncd needs %d (migrations %v pending): run `syncd migrate` (or set state.auto_migrate: true): %w",
			v.Current, v.Latest, v.Pending, ErrSchemaOutdated)
	}
	return nil
}
