package pgstate_test

import (
	"testing"

	"github.com/syncd/syncd/state/statetest"
)

func TestStandingConformance(t *testing.T) {
	t.Parallel()
	statetest.RunStanding(t, backend())
}
