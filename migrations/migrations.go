package migrations

import (
	"embed"
	"io/fs"
)

//go:embed postgres/*.sql
var postgresFiles embed.FS

//go:embed sqlite/*.sql
var sqliteFiles embed.FS

// Postgres holds the PostgreSQL migrations at its root, one goose SQL file
// per version (NNNNN_name.sql). state/pgstate applies them.
var Postgres fs.FS = mustSub(postgresFiles, "postgres")

// SQLite holds the SQLite migrations at its root, one goose SQL file per
// version (NNNNN_name.sql). state/sqlitestate applies them.
var SQLite fs.FS = mustSub(sqliteFiles, "sqlite")

// mustSub roots fsys at dir. The directories are embedded at build time, so
// a failure is a programming error caught by the package's tests.
func mustSub(fsys fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(fsys, dir)
	if err != nil {
		panic("migrations: " + err.Error())
	}
	return sub
}
