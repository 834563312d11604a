package reconcile

// outcome is what became of an op in the apply phase. Reports, run records
// and metrics count only the ops that were executed (DESIGN invariant 11):
// after a stop (SIGTERM, safety.max_failures, a source that changed) the
// rest were planned, not done.
type outcome uint8

const (
	planned    outcome = iota // not executed (yet): a dry run, or a write the run stopped before
	notApplied                // a write the run stopped before sending
	applied                   // executed and succeeded
	failedOp                  // executed and failed (in the report's failures)
	goneOp                    // its user was deleted in PingOne outside syncd (a 404)
	// notCreated is decided by the plan: a new record disabled in the
	// source is not created (unless jobs[].create_disabled).
	notCreated
)

// failed reports whether the op was executed and failed.
func (o *Op) failed() bool { return o.result == failedOp }

// Result says what became of the op: "" in a plan (a dry run, or an op
// that calls nothing), "applied", "failed", "gone" (its user was deleted
// in PingOne outside syncd and is recorded as such), "not applied" (the
// run stopped before it) or "not created (disabled in the source)".
func (o *Op) Result() string {
	switch o.result {
	case notApplied:
		return "not applied"
	case applied:
		return "applied"
	case failedOp:
		return "failed"
	case goneOp:
		return "gone"
	case notCreated:
		return "not created (disabled in the source)"
	}
	return ""
}
