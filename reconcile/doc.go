// Package reconcile is one run of one job: read the source, map each record,
// diff the desired users against the state checkpoints, pass the safety
// gate, and apply the plan to PingOne in checkpointed batches. Each rule of
// the sync lives in one place here:
//
//   - diff.go: what each anchor needs (create, adopt, update, enable,
//     disable, move population, no-op, reject) and why;
//   - gate.go: the safety gate that stops a run before its first write;
//   - apply.go: batches, workers, minimal calls, per-user failures and
//     checkpoints;
//   - engine.go: the order of the phases, locks, runs and cursors;
//   - report.go: what a person (table) or a machine (JSON) reads afterwards;
//   - records.go and checkpoints.go: how a run holds a million mapped
//     records and checkpoints between the read and the apply (packed, in
//     fixed blocks, sorted by anchor and paired by one merge).
//
// A run is a library call: Engine.Run(ctx, job, opts) needs no daemon around
// it, which is how the end-to-end tests drive it.
package reconcile
