package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// DefaultPostgresURL is the PostgreSQL integration tests use unless
// SYNCD_TEST_POSTGRES_URL says otherwise (trust auth, database test).
const DefaultPostgresURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// PostgresURL returns the test PostgreSQL URL (SYNCD_TEST_POSTGRES_URL, or
// DefaultPostgresURL) after checking the server answers; when it does not,
// the test ends through Unavailable.
func PostgresURL(t testing.TB) string {
	t.Helper()
	url := Getenv("SYNCD_TEST_POSTGRES_URL", DefaultPostgresURL)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err == nil {
		err = conn.Ping(ctx)
		conn.Close(ctx)
	}
	if err != nil {
		Unavailable(t, "PostgreSQL (set SYNCD_TEST_POSTGRES_URL, default "+DefaultPostgresURL+")", err)
	}
	return url
}

// PostgresSchema creates a uniquely named, empty schema in the test
// database and drops it (with everything in it) when the test ends. Use it
// with PostgresURL so parallel tests never share tables.
func PostgresSchema(t testing.TB) string {
	t.Helper()
	url := PostgresURL(t)
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatalf("random schema name: %v", err)
	}
	schema := "syncd_test_" + hex.EncodeToString(b[:])
	exec := func(ctx context.Context, sql string) error {
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, sql)
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := exec(ctx, "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize()); err != nil {
		t.Fatalf("create schema %s: %v", schema, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := exec(ctx, fmt.Sprintf("DROP SCHEMA %s CASCADE", pgx.Identifier{schema}.Sanitize())); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return schema
}
