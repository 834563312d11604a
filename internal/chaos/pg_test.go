package chaos

import (
	"net/url"
	"testing"

	"github.com/syncd/syncd/internal/testenv"
)

// pgURL returns the shared test PostgreSQL with a fresh schema of the
// test's own as search_path.
func pgURL(t *testing.T) string {
	t.Helper()
	raw := testenv.PostgresURL(t)
	schema := testenv.PostgresSchema(t)
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
