package pgstate_test

import (
	"testing"

	"github.com/syncd/syncd/state/statetest"
)

func TestJournalConformance(t *testing.T) {
	t.Parallel()
	statetest.RunJournal(t, backend())
}
