package sqlitestate_test

import (
	"path/filepath"
	"testing"

	"github.com/syncd/syncd/migrations"
	"github.com/syncd/syncd/state/statetest"
)

func TestDeletesConformance(t *testing.T) {
	t.Parallel()
	statetest.RunDeletes(t, backend())
}

func TestMigrationDeletesAfterBackfillsDisableTimes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	s := open(t, path, true)
	db := rawDB(t, path)
	statetest.CheckDeletesAfterMigration(t, s, migrations.SQLite, func(sql string) {
		t.Helper()
		if _, err := db.ExecContext(t.Context(), sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	})
}
