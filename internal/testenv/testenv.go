package testenv

import (
	"os"
	"testing"
)

// InCI reports whether the tests run under CI (CI set to a true value).
func InCI() bool {
	switch os.Getenv("CI") {
	case "", "0", "false", "FALSE", "False":
		return false
	}
	return true
}

// Unavailable ends the test because a service it needs is not there: a
// failure under CI, a skip elsewhere. what names the service and how to
// start it.
func Unavailable(t testing.TB, what string, err error) {
	t.Helper()
	if InCI() {
		t.Fatalf("%s unavailable (CI=true, so this fails instead of skipping): %v", what, err)
	}
	t.Skipf("%s unavailable, skipping (start it, or set CI=true to fail instead): %v", what, err)
}

// Getenv returns the environment variable key, or def when it is unset.
func Getenv(key, def string) string {
	if v, ok := os.LookupEnv(key); ok && v != "" {
		return v
	}
	return def
}
