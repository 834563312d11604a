package pgstate_test

import (
	"testing"

	"github.com/syncd/syncd/internal/testenv"
	"github.com/syncd/syncd/migrations"
	"github.com/syncd/syncd/state/statetest"
)

func TestDeletesConformance(t *testing.T) {
	t.Parallel()
	statetest.RunDeletes(t, backend())
}

func TestMigrationDeletesAfterBackfillsDisableTimes(t *testing.T) {
	schema := testenv.PostgresSchema(t)
	s := open(t, schema, true)
	statetest.CheckDeletesAfterMigration(t, s, migrations.Postgres, execIn(t, schema))
}
