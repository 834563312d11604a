package pgstate_test

import (
	"testing"

	"github.com/syncd/syncd/state/statetest"
)

func TestOwnersConformance(t *testing.T) {
	t.Parallel()
	statetest.RunOwners(t, backend())
}
