package reconcile

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/syncd/syncd/sink/pingone"
	"github.com/syncd/syncd/state"
)

// The journal (DESIGN invariant 12): every write apply makes to PingOne is
// recorded, with the values before and after it, PingOne's status and
// correlation id, and committed with the batch's checkpoints. Apply runs
// its operations through journalTarget, which records each write into the
// opJournal of the operation being executed (carried by the context);
// the batch saves the entries with its checkpoints through state.Journal.

// journalValues is the JSON of a journal entry's before and after: only
// what the write changed.
type journalValues struct {
	Attributes   map[string]string `json:"attributes,omitempty"`
	PopulationID string            `json:"population_id,omitempty"`
	Enabled      *bool             `json:"enabled,omitempty"`
}

func (v journalValues) encode() []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // strings and a bool always marshal
	}
	return b
}

// opJournal collects the journal entries of one operation's writes.
type opJournal struct {
	op      *Op
	entries []state.JournalEntry
	// fatal is set when the operation failed in a way every other
	// operation would too (PingOne refused syncd's credentials): apply
	// stops handing out work instead of counting one failure per user.
	fatal error
}

type opJournalKey struct{}

func withOpJournal(ctx context.Context, j *opJournal) context.Context {
	return context.WithValue(ctx, opJournalKey{}, j)
}

// journaling returns a copy of e whose writes to PingOne are journaled
// into the opJournal their context carries.
func (e *Engine) journaling() *Engine {
	c := *e
	c.Target = &journalTarget{Target: e.Target, now: e.now}
	return &c
}

// journalTarget records the writes made through it; reads pass through.
type journalTarget struct {
	Target
	now func() time.Time
}

// record runs one write and appends its entry to ctx's opJournal.
func (t *journalTarget) record(ctx context.Context, op, userID string, before, after *journalValues, write func(context.Context) (string, error)) error {
	j, _ := ctx.Value(opJournalKey{}).(*opJournal)
	if j == nil {
		_, err := write(ctx)
		return err
	}
	var out pingone.Outcome
	id, err := write(pingone.WithOutcome(ctx, &out))
	if id != "" {
		userID = id
	}
	e := state.JournalEntry{Anchor: j.op.Anchor(), UserID: userID, Op: op, Status: out.Status, CorrelationID: out.CorrelationID, At: t.now()}
	if before != nil {
		e.Before = before.encode()
	}
	if after != nil {
		e.After = after.encode()
	}
	if err != nil {
		e.Error = shorten(err.Error(), 1000)
		var ae *pingone.APIError
		if errors.As(err, &ae) {
			e.Status = ae.Status
			if ae.ID != "" {
				e.CorrelationID = ae.ID
			}
		}
	}
	j.entries = append(j.entries, e)
	return err
}

func (t *journalTarget) CreateUser(ctx context.Context, populationID string, attrs map[string]string) (pingone.User, error) {
	var u pingone.User
	on := true
	err := t.record(ctx, state.OpCreate, "", nil, &journalValues{Attributes: attrs, PopulationID: populationID, Enabled: &on},
		func(ctx context.Context) (string, error) {
			var err error
			u, err = t.Target.CreateUser(ctx, populationID, attrs)
			return u.ID, err
		})
	return u, err
}

func (t *journalTarget) UpdateUser(ctx context.Context, id string, set map[string]string, clear []string) (pingone.User, error) {
	before, after := journalValues{Attributes: map[string]string{}}, journalValues{Attributes: map[string]string{}}
	old := map[string]string{}
	if j, _ := ctx.Value(opJournalKey{}).(*opJournal); j != nil {
		for _, c := range j.op.changes() {
			old[c.Attribute] = c.Old
		}
	}
	for k, v := range set {
		before.Attributes[k], after.Attributes[k] = old[k], v
	}
	for _, k := range clear {
		before.Attributes[k], after.Attributes[k] = old[k], ""
	}
	var u pingone.User
	err := t.record(ctx, state.OpUpdate, id, &before, &after, func(ctx context.Context) (string, error) {
		var err error
		u, err = t.Target.UpdateUser(ctx, id, set, clear)
		return "", err
	})
	return u, err
}

func (t *journalTarget) SetEnabled(ctx context.Context, id string, enabled bool) error {
	op, was := state.OpDisable, !enabled
	if enabled {
		op = state.OpEnable
	}
	return t.record(ctx, op, id, &journalValues{Enabled: &was}, &journalValues{Enabled: &enabled}, func(ctx context.Context) (string, error) {
		return "", t.Target.SetEnabled(ctx, id, enabled)
	})
}

func (t *journalTarget) SetPopulation(ctx context.Context, id, populationID string) error {
	var from string
	if j, _ := ctx.Value(opJournalKey{}).(*opJournal); j != nil {
		if from = j.op.FromPopulation(); from == "" && j.op.cp != nil {
			from = j.op.cp.PopulationID
		}
	}
	return t.record(ctx, state.OpMove, id, &journalValues{PopulationID: from}, &journalValues{PopulationID: populationID}, func(ctx context.Context) (string, error) {
		return "", t.Target.SetPopulation(ctx, id, populationID)
	})
}

// saveBatch checkpoints a batch with its journal entries in one
// transaction. A store without a journal (a test double) saves the
// checkpoints only.
func (e *Engine) saveBatch(ctx context.Context, job string, runID int64, cps []state.Checkpoint, entries []state.JournalEntry) error {
	j, ok := e.Store.(state.Journal)
	if !ok {
		return e.Store.SaveCheckpoints(ctx, job, cps)
	}
	for i := range entries {
		entries[i].RunID, entries[i].Job = runID, job
	}
	return j.SaveJournaled(ctx, job, cps, entries)
}

// DeleteUser journals a delete (deletes.go) with what the user held: its
// managed attributes and population as last applied, disabled.
func (t *journalTarget) DeleteUser(ctx context.Context, id string) error {
	del, ok := t.Target.(UserDeleter)
	if !ok {
		return fmt.Errorf("the PingOne target cannot delete users (%T)", t.Target)
	}
	off := false
	before := journalValues{Enabled: &off}
	if j, _ := ctx.Value(opJournalKey{}).(*opJournal); j != nil && j.op.cp != nil {
		before.Attributes, before.PopulationID = decodeAttrs(j.op.cp.Attributes), j.op.cp.PopulationID
	}
	return t.record(ctx, state.OpDelete, id, &before, nil, func(ctx context.Context) (string, error) {
		return "", del.DeleteUser(ctx, id)
	})
}
