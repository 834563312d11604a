package ldapsource

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that no read leaves a connection goroutine behind.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
