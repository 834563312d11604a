package pgstate

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/syncd/syncd/migrations"
	"github.com/syncd/syncd/state"
)

var _ state.SchemaVersioner = (*Store)(nil)

// SchemaVersion reads the versions applied to the store's schema, without
// creating anything: a schema without the version table has version 0.
func (s *Store) SchemaVersion(ctx context.Context) (state.SchemaVersion, error) {
	embedded, err := migrations.Versions(migrations.Postgres)
	if err != nil {
		return state.SchemaVersion{}, err
	}
	var table *string
	if err := s.pool.QueryRow(ctx, "SELECT to_regclass($1)::text", pgx.Identifier{s.schema, VersionTable}.Sanitize()).Scan(&table); err != nil {
		return state.SchemaVersion{}, s.wrap("read schema version", err)
	}
	var applied []int64
	if table != nil {
		rows, err := s.pool.Query(ctx, "SELECT DISTINCT version_id FROM "+pgx.Identifier{s.schema, VersionTable}.Sanitize()+" WHERE version_id > 0 AND is_applied")
		if err != nil {
			return state.SchemaVersion{}, s.wrap("read schema version", err)
		}
		if applied, err = pgx.CollectRows(rows, pgx.RowTo[int64]); err != nil {
			return state.SchemaVersion{}, s.wrap("read schema version", err)
		}
	}
	return state.NewSchemaVersion(applied, embedded), nil
}
