package state

import (
	"context"
	"time"
)

// Journal operations: what one write to PingOne did.
const (
	OpCreate  = "create"  // POST a user
	OpUpdate  = "update"  // PATCH managed attributes
	OpMove    = "move"    // PUT the user's population
	OpEnable  = "enable"  // PUT enabled=true
	OpDisable = "disable" // PUT enabled=false
	OpDelete  = "delete"  // DELETE a user
)

// JournalEntry records one write syncd made to PingOne (DESIGN invariant
// 12): enough to explain a run and to build its inverse.
type JournalEntry struct {
	// ID orders entries; assigned by the store.
	ID     int64
	RunID  int64
	Job    string
	Anchor string
	// UserID is the PingOne user written to (a create's: the new id, or
	// empty when the create failed). GroupID is set for group writes.
	UserID  string
	GroupID string
	// Op is one of the Op constants (or a group operation).
	Op string
	// Before and After are JSON objects of the values the write changed,
	// as syncd last applied or observed them and as it sent them:
	// {"attributes":{path:value}}, {"population_id":"…"}, {"enabled":b}.
	// Before is nil for a create.
	Before []byte
	After  []byte
	// Status is PingOne's final HTTP status (0: no answer) and
	// CorrelationID its id for the request, when it gave one.
	Status        int
	CorrelationID string
	// Error is why the write failed; empty when it succeeded.
	Error string
	At    time.Time
}

// Succeeded reports whether the write took effect.
func (e JournalEntry) Succeeded() bool {
	return e.Error == "" && (e.Status == 0 || e.Status/100 == 2)
}

// JournalFilter selects journal entries; zero fields select everything.
type JournalFilter struct {
	Job    string
	RunID  int64
	Anchor string
	// Since keeps entries at or after it.
	Since time.Time
	// AfterRun keeps entries of runs with a larger id (later runs).
	AfterRun int64
}

// Journal is the part of a store that keeps the journal. Both backends
// implement it; the engine checkpoints through it so that a batch's
// checkpoints and its journal entries commit together.
type Journal interface {
	// SaveJournaled upserts cps (as Store.SaveCheckpoints) and appends
	// entries, in one transaction: all are written or none is.
	SaveJournaled(ctx context.Context, job string, cps []Checkpoint, entries []JournalEntry) error
	// JournalEntries streams the entries f selects to fn, oldest first.
	// An error from fn stops the stream and is returned.
	JournalEntries(ctx context.Context, f JournalFilter, fn func(JournalEntry) error) error
	// Run returns the run with this id, and false when there is none.
	Run(ctx context.Context, id int64) (Run, bool, error)
	// Prune deletes the journal entries and the finished runs older than
	// before, and returns how many of each it deleted.
	Prune(ctx context.Context, before time.Time) (entries, runs int64, err error)
}
