package sqlitestate_test

import (
	"path/filepath"
	"testing"

	"github.com/syncd/syncd/sink/pingone/budget"
	"github.com/syncd/syncd/sink/pingone/budget/budgettest"
)

// TestBudgetConformance: each Opener call opens the same file again, as
// another process on the host would.
func TestBudgetConformance(t *testing.T) {
	budgettest.Run(t, func(t *testing.T) budgettest.Opener {
		path := filepath.Join(t.TempDir(), "state.db")
		open(t, path, true)
		return func() budget.Pool { return open(t, path, false) }
	})
}
