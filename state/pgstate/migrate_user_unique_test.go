package pgstate_test

import (
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/syncd/syncd/internal/testenv"
	"github.com/syncd/syncd/migrations"
	"github.com/syncd/syncd/state/statetest"
)

func TestMigrationSettlesTwoAnchorsClaimingOneUser(t *testing.T) {
	schema := testenv.PostgresSchema(t)
	s := open(t, schema, true)
	statetest.CheckUserUniqueMigration(t, s, `DROP INDEX checkpoints_job_user_idx`,
		statetest.UpSection(t, migrations.Postgres, "00002_checkpoint_user_unique.sql"), execIn(t, schema))
}

// execIn returns a func that runs one SQL statement in schema, on a
// connection of its own, failing the test if it fails.
func execIn(t *testing.T, schema string) func(sql string) {
	return func(sql string) {
		t.Helper()
		conn, err := pgx.Connect(t.Context(), testenv.PostgresURL(t))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(t.Context())
		if _, err := conn.Exec(t.Context(), "SET search_path TO "+pgx.Identifier{schema}.Sanitize()); err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Exec(t.Context(), sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
}
