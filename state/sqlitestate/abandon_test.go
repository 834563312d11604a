package sqlitestate_test

import (
	"testing"

	"github.com/syncd/syncd/state/statetest"
)

func TestAbandonConformance(t *testing.T) {
	t.Parallel()
	statetest.RunAbandon(t, backend())
}
