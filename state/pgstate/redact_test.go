package pgstate_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/syncd/syncd/state/pgstate"
)

// TestDriverErrorsNeverShowThePassword: pgx cuts a password holding an
// unencoded '@' at its first '@' and looks up the tail as a host name;
// the store's errors must not pass that text through.
func TestDriverErrorsNeverShowThePassword(t *testing.T) {
	t.Parallel()
	for _, url := range []string{
		"postgres://syncd:Pass-Head@Tail-Secret@127.0.0.1:1/db",
		"postgres://syncd:Pass-Head@Tail-Secret@nohost.invalid/db",
		"postgres://syncd:Pass-Head/Tail-Secret@127.0.0.1:1/db",
		"postgres://syncd@127.0.0.1:1/db?password=Tail-Secret",
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err := pgstate.Open(ctx, url, pgstate.Options{})
		cancel()
		if err == nil {
			t.Fatalf("%s: connected", url)
		}
		for _, leak := range []string{"Tail-Secret", "Pass-Head"} {
			if strings.Contains(err.Error(), leak) {
				t.Errorf("error shows %q: %v", leak, err)
			}
		}
	}
}
