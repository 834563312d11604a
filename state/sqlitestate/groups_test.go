package sqlitestate_test

import (
	"testing"

	"github.com/syncd/syncd/state/statetest"
)

func TestGroupsConformance(t *testing.T) {
	t.Parallel()
	statetest.RunGroups(t, backend())
}
