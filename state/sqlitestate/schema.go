package sqlitestate

import (
	"context"

	"github.com/syncd/syncd/migrations"
	"github.com/syncd/syncd/state"
)

var _ state.SchemaVersioner = (*Store)(nil)

// SchemaVersion reads the versions applied to the database, without
// creating anything: a database without the version table has version 0.
func (s *Store) SchemaVersion(ctx context.Context) (state.SchemaVersion, error) {
	embedded, err := migrations.Versions(migrations.SQLite)
	if err != nil {
		return state.SchemaVersion{}, err
	}
	var n int
	if err := s.r.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = ?", VersionTable).Scan(&n); err != nil {
		return state.SchemaVersion{}, s.wrap("read schema version", err)
	}
	var applied []int64
	if n > 0 {
		rows, err := s.r.QueryContext(ctx, "SELECT DISTINCT version_id FROM "+VersionTable+" WHERE version_id > 0 AND is_applied")
		if err != nil {
			return state.SchemaVersion{}, s.wrap("read schema version", err)
		}
		defer rows.Close()
		for rows.Next() {
			var v int64
			if err := rows.Scan(&v); err != nil {
				return state.SchemaVersion{}, s.wrap("read schema version", err)
			}
			applied = append(applied, v)
		}
		if err := rows.Err(); err != nil {
			return state.SchemaVersion{}, s.wrap("read schema version", err)
		}
	}
	return state.NewSchemaVersion(applied, embedded), nil
}
