package sqlitestate_test

import (
	"path/filepath"
	"testing"

	"github.com/syncd/syncd/migrations"
	"github.com/syncd/syncd/state/statetest"
)

func TestMigrationSettlesTwoAnchorsClaimingOneUser(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	s := open(t, path, true)
	db := rawDB(t, path)
	statetest.CheckUserUniqueMigration(t, s, `DROP INDEX checkpoints_job_user_idx`,
		statetest.UpSection(t, migrations.SQLite, "00002_checkpoint_user_unique.sql"), func(sql string) {
			t.Helper()
			if _, err := db.ExecContext(t.Context(), sql); err != nil {
				t.Fatalf("%s: %v", sql, err)
			}
		})
}
