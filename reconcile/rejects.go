package reconcile

import (
	"context"
	"fmt"

	"github.com/syncd/syncd/sources"
	"github.com/syncd/syncd/state"
)

// saveRejects keeps this run's rejects as the job's standing rejects
// (state.Rejects) and reports how many stand: a reject is a condition,
// not an event, and every run of the job says so (exit 4) until the
// source fixes the record (DESIGN invariant 11). A complete read replaces
// them; a delta read updates the anchors it read, and the others stand.
// A store without state.Rejects (a test double) keeps none.
func (e *Engine) saveRejects(ctx context.Context, job *Job, rd *readResult, rep *Report) error {
	st, ok := e.Store.(state.Rejects)
	if !ok {
		rep.StandingRejects = len(rep.Rejects)
		return nil
	}
	rs := make([]state.Reject, len(rep.Rejects))
	for i, r := range rep.Rejects {
		rs[i] = state.Reject{Anchor: r.Anchor, Pos: r.Pos, Attribute: r.Attribute, Reason: r.Reason, FirstSeen: rep.StartedAt, LastSeen: rep.StartedAt}
		if r.Anchor == "" && r.Pos == "" {
			rs[i].Pos = fmt.Sprintf("record %d of run %d", i+1, rep.RunID)
		}
	}
	complete := rep.Mode == sources.Full.String()
	var accepted []string
	if !complete {
		accepted = make([]string, 0, rd.desired.len()+len(rd.outOfScope)+len(rd.deleted))
		for i := 0; i < rd.desired.len(); i++ {
			accepted = append(accepted, rd.desired.at(i).anchor())
		}
		for a := range rd.outOfScope {
			accepted = append(accepted, a)
		}
		for a := range rd.deleted {
			accepted = append(accepted, a)
		}
	}
	wctx := context.WithoutCancel(ctx) // what the run found is kept, even after a stop
	if err := st.SaveRejects(wctx, job.Name, complete, rs, accepted); err != nil {
		return fmt.Errorf("record standing rejects: %w", err)
	}
	n, err := st.CountRejects(wctx, job.Name)
	if err != nil {
		return fmt.Errorf("count standing rejects: %w", err)
	}
	rep.StandingRejects = n
	return nil
}
