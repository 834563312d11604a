package state

import "github.com/syncd/syncd/sink/pingone/budget"

// BudgetPool is a Store that also keeps the PingOne environments' shared
// request budgets (budget.Pool), so every syncd process using the same
// state database shares them: pgstate for every process on the database,
// sqlitestate for the processes on one host sharing the file. Both pass
// budgettest.
type BudgetPool interface {
	Store
	budget.Pool
}
