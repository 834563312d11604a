package sqlitestate_test

import (
	"path/filepath"
	"testing"

	"github.com/syncd/syncd/migrations"
	"github.com/syncd/syncd/state/statetest"
)

func TestCountsConformance(t *testing.T) {
	statetest.RunCounts(t, backend())
}

func TestCountsMigration(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	s := open(t, path, true)
	db := rawDB(t, path)
	const name = "00015_leases_checkpoint_counts.sql"
	statetest.CheckCountsMigration(t, s, statetest.DownSection(t, migrations.SQLite, name), statetest.UpSection(t, migrations.SQLite, name), func(sql string) {
		t.Helper()
		if _, err := db.ExecContext(t.Context(), sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	})
}
