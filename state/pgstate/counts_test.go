package pgstate_test

import (
	"testing"

	"github.com/syncd/syncd/internal/testenv"
	"github.com/syncd/syncd/migrations"
	"github.com/syncd/syncd/state/statetest"
)

func TestCountsConformance(t *testing.T) {
	statetest.RunCounts(t, backend())
}

func TestCountsMigration(t *testing.T) {
	schema := testenv.PostgresSchema(t)
	s := open(t, schema, true)
	const name = "00015_leases_checkpoint_counts.sql"
	statetest.CheckCountsMigration(t, s, statetest.DownSection(t, migrations.Postgres, name), statetest.UpSection(t, migrations.Postgres, name), execIn(t, schema))
}
