package pgstate_test

import (
	"testing"

	"github.com/jackc/pgx/v5"

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
	statetest.CheckDeletesAfterMigration(t, s, migrations.Postgres, func(sql string) {
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
	})
}
