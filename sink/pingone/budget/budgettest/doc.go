// Package budgettest is the conformance suite every budget.Pool passes: the
// in-process one (budget.Memory) and the state backends' (PostgreSQL,
// SQLite), as River's drivers share one suite.
package budgettest
