package pgstate_test

import (
	"testing"

	"github.com/syncd/syncd/internal/testenv"
	"github.com/syncd/syncd/sink/pingone/budget"
	"github.com/syncd/syncd/sink/pingone/budget/budgettest"
)

// TestBudgetConformance: each Opener call opens another store (another
// process's connection pool) on the same schema.
func TestBudgetConformance(t *testing.T) {
	budgettest.Run(t, func(t *testing.T) budgettest.Opener {
		schema := testenv.PostgresSchema(t)
		open(t, schema, true)
		return func() budget.Pool { return open(t, schema, false) }
	})
}
