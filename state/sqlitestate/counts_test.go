package sqlitestate_test

import (
	"testing"

	"github.com/syncd/syncd/state/statetest"
)

func TestCountsConformance(t *testing.T) {
	statetest.RunCounts(t, backend())
}
