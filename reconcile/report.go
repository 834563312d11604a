package reconcile

import (
	"time"

	"github.com/syncd/syncd/mapper"
	"github.com/syncd/syncd/state"
)

// Counts are a run's totals, one per kind of operation.
type Counts struct {
	Records  int `json:"records"`
	Created  int `json:"created"`
	Adopted  int `json:"adopted"`
	Updated  int `json:"updated"`
	Enabled  int `json:"enabled"`
	Disabled int `json:"disabled"`
	// Deleted counts users deleted after deprovision.delete_after.
	Deleted   int `json:"deleted"`
	Moved     int `json:"moved"`
	Unchanged int `json:"unchanged"`
	Rejected  int `json:"rejected"`
	Conflicts int `json:"conflicts"`
	Failed    int `json:"failed"`
	// Gone counts managed users found deleted in PingOne outside syncd
	// (a 404), recorded as such.
	Gone int `json:"gone"`
	// NotApplied counts planned writes the run stopped before (SIGTERM,
	// safety.max_failures): none of them is in the counts above.
	NotApplied int `json:"not_applied"`
	// NotCreated counts new records disabled in the source, not created
	// (jobs[].create_disabled creates them disabled).
	NotCreated int `json:"not_created"`
}

// Map returns the counts keyed by name, as the state's run record keeps them.
func (c Counts) Map() map[string]int {
	return map[string]int{
		"records": c.Records, "created": c.Created, "adopted": c.Adopted, "updated": c.Updated,
		"enabled": c.Enabled, "disabled": c.Disabled, "deleted": c.Deleted, "moved": c.Moved, "unchanged": c.Unchanged,
		"rejected": c.Rejected, "conflicts": c.Conflicts, "failed": c.Failed,
		"gone": c.Gone, "not_applied": c.NotApplied, "not_created": c.NotCreated,
	}
}

// Failure is one user whose operation failed this run.
type Failure struct {
	Anchor   string   `json:"anchor"`
	Username string   `json:"username,omitempty"`
	Actions  []Action `json:"actions"`
	Error    string   `json:"error"`
}

// Phases are the wall-clock times of a run's phases.
type Phases struct {
	Read time.Duration `json:"read_ns"`
	// Plan includes a first run's listing of the environment, made
	// before the read (planAdoptions).
	Plan  time.Duration `json:"plan_ns"`
	Apply time.Duration `json:"apply_ns"`
	// Groups is the part of Plan spent planning groups and memberships
	// (loading their checkpoints included); 0 for a job without groups.
	Groups time.Duration `json:"groups_plan_ns,omitempty"`
}

// Report is what one run of one job did (or, in a dry run, would do). Its
// JSON form is the stable machine format of `--output json` and `--report`.
type Report struct {
	Job           string    `json:"job"`
	RunID         int64     `json:"run_id,omitempty"`
	TransactionID string    `json:"transaction_id"`
	DryRun        bool      `json:"dry_run"`
	Mode          string    `json:"mode"` // "full" or "delta"
	Status        string    `json:"status"`
	StartedAt     time.Time `json:"started_at"`
	FinishedAt    time.Time `json:"finished_at"`
	Counts        Counts    `json:"counts"`
	APICalls      int64     `json:"api_calls"`
	// PlanDigest identifies the plan's writes: `syncd apply` checks that a
	// saved plan still holds before applying it.
	PlanDigest string `json:"plan_digest"`
	Phases     Phases `json:"phases"`
	// Operations lists every planned or applied operation other than
	// no-ops: creates, adoptions, updates, moves, enables, disables and
	// users left as they are because their record was rejected.
	Operations []Op            `json:"operations"`
	Rejects    []mapper.Reject `json:"rejects"`
	// StandingRejects counts the job's records rejected by this run or
	// by earlier ones and not fixed since (a delta read does not re-read
	// them): every run exits 4 while any stands. `syncd status` lists them.
	StandingRejects int `json:"standing_rejects"`
	// Drift lists managed users changed in PingOne outside syncd (verify).
	Drift []Drift `json:"drift,omitempty"`
	// MemberDrift lists managed memberships removed in PingOne outside
	// syncd, managed groups deleted there, and (nested: mirror) nesting
	// links between managed groups removed or added there (verify).
	MemberDrift []MemberDrift `json:"member_drift,omitempty"`
	Failures    []Failure     `json:"failures"`
	Warnings    []string      `json:"warnings"`
	Gate        *GateError    `json:"gate,omitempty"`
	// Held lists the disables the watch's safety gate held this run
	// (watchgate.go): not applied; a run with --allow-mass-disable
	// applies them.
	Held  []state.HeldDisable `json:"held,omitempty"`
	Error string              `json:"error,omitempty"`
	// RevertOf is the run a revert plan undoes (`syncd revert`), and
	// Refused the users it leaves alone because a later run changed them.
	RevertOf int64     `json:"revert_of,omitempty"`
	Refused  []Refusal `json:"refused,omitempty"`
	// Transitions are the changes the mapping's dates will make with no
	// change in the source, up to `plan --until` (dates.go).
	Transitions []Transition `json:"transitions,omitempty"`
	// Groups is the group and membership part (jobs with groups only).
	Groups *GroupReport `json:"groups,omitempty"`
}

// Run statuses a report carries.
const (
	StatusSucceeded = "succeeded"
	StatusFailed    = "failed"
	StatusGated     = "gated"
	StatusPlanned   = "planned" // dry run
)

// countOps fills the operation counts from the plan (dry run) or from the
// executed results — a write the run stopped before is counted as not
// applied, never as done — and keeps every op but no-ops as the report's
// operations. It is the last use of ops: it compacts them in place rather
// than copy a million of them.
func (r *Report) countOps(ops []Op) {
	kept := ops[:0]
	defer func() { r.Operations = kept }()
	for i := range ops {
		op := &ops[i]
		if !r.DryRun && op.result == planned && op.writes() {
			op.result = notApplied
		}
		switch op.result {
		case failedOp: // counted in Failed
			kept = append(kept, *op)
			continue
		case goneOp:
			r.Counts.Gone++
			kept = append(kept, *op)
			continue
		case notApplied:
			r.Counts.NotApplied++
			kept = append(kept, *op)
			continue
		case notCreated:
			r.Counts.NotCreated++
			kept = append(kept, *op)
			continue
		}
		for _, a := range op.Actions.List() {
			switch a {
			case ActCreate:
				r.Counts.Created++
			case ActAdopt:
				r.Counts.Adopted++
			case ActUpdate:
				r.Counts.Updated++
			case ActEnable:
				r.Counts.Enabled++
			case ActDisable:
				r.Counts.Disabled++
			case ActDelete:
				r.Counts.Deleted++
			case ActMove:
				r.Counts.Moved++
			case ActNoop:
				r.Counts.Unchanged++
			}
		}
		if !op.Has(ActNoop) {
			kept = append(kept, *op)
		}
	}
}
