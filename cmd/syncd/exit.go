package main

import (
	"errors"

	"github.com/syncd/syncd/reconcile"
	"github.com/syncd/syncd/state"
)

// Exit codes: a user-facing contract, documented in the README and --help.
const (
	ExitOK       = 0 // success
	ExitFailed   = 1 // the run failed
	ExitUsage    = 2 // usage or config error
	ExitGated    = 3 // stopped by the safety gate
	ExitRejected = 4 // completed while records stand rejected, with failed users, or a revert refusing users
	ExitLocked   = 5 // another process holds the job's lock
)

const exitHelp = `Exit codes:
  0  success
  1  a run failed (source, state or PingOne error; too many failed users)
  2  usage or configuration error
  3  stopped by the safety gate (mass disable, adoption or delete, or empty
     source); nothing written
  4  completed, but some records stand rejected (this run or an earlier one,
     until the source fixes them), some users failed, or a revert refused
     users changed again since the run it undoes (listed)
  5  another process holds the job's lock
With several jobs the most severe code wins, in the order 2, 1, 3, 5, 4, 0.`

// severity orders exit codes: the most severe of several jobs wins.
var severity = map[int]int{ExitUsage: 6, ExitFailed: 5, ExitGated: 4, ExitLocked: 3, ExitRejected: 2, ExitOK: 1}

func worse(a, b int) int {
	if severity[b] > severity[a] {
		return b
	}
	return a
}

// usageError marks errors that exit with ExitUsage.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// exitCode maps one job's outcome to its exit code.
func exitCode(rep *reconcile.Report, err error) int {
	var g *reconcile.GateError
	var u usageError
	switch {
	case errors.As(err, &u):
		return ExitUsage
	case errors.As(err, &g):
		return ExitGated
	case errors.Is(err, state.ErrLocked):
		return ExitLocked
	case err != nil:
		return ExitFailed
	case rep != nil && (rep.Counts.Rejected > 0 || rep.StandingRejects > 0 || rep.Counts.Failed > 0 || len(rep.Refused) > 0):
		return ExitRejected
	}
	return ExitOK
}
