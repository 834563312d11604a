package pingone

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that no test leaves a goroutine behind: the client
// starts none of its own, so any leak is a request or timer never ended.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
