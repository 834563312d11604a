package reconcile

import (
	"slices"

	"github.com/syncd/syncd/sink/pingone/budget"
)

// Priority classes (sink/pingone/budget) decide which PingOne request goes
// first, within a run and across the jobs of a process sharing an
// environment's budget (DESIGN invariant 13):
//
//	disable     an op that disables a user (a leaver), whatever else it changes
//	create      creates, adoptions, enables (joiners get access)
//	update      attribute updates and population moves
//	membership  group and membership writes (reconcile's group plan)
//	verify      verification reads (drift detection)
//
// An op's class is that of its most urgent action; all its calls (the
// PATCH before a disable, the look-ups after a create's conflict) wait in
// that class. apply hands ops to its workers in class order, and the
// client's budget serves waiting requests in class order, so a leaver's
// disable is never queued behind bulk work of a lower class.

// class returns the op's priority class.
func (o *Op) class() budget.Class {
	switch {
	case o.Has(ActDisable):
		return budget.ClassDisable
	case o.Has(ActCreate) || o.Has(ActAdopt) || o.Has(ActEnable):
		return budget.ClassCreate
	}
	return budget.ClassUpdate
}

// orderByClass sorts todo (indexes into ops) by class, keeping the plan's
// order within a class.
func orderByClass(ops []Op, todo []int) {
	slices.SortStableFunc(todo, func(a, b int) int { return int(ops[a].class()) - int(ops[b].class()) })
}
