package pgstate_test

import (
	"testing"

	"github.com/syncd/syncd/state/statetest"
)

func TestLeaseConformance(t *testing.T) {
	t.Parallel()
	statetest.RunLease(t, backend())
}
