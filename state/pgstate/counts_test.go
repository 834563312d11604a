package pgstate_test

import (
	"testing"

	"github.com/jackc/pgx/v5"

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
	statetest.CheckCountsMigration(t, s, statetest.DownSection(t, migrations.Postgres, name), statetest.UpSection(t, migrations.Postgres, name), func(sql string) {
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
