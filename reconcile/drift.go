package reconcile

import (
	"context"
	"fmt"
	"sort"

	"github.com/syncd/syncd/sink/pingone"
	"github.com/syncd/syncd/sink/pingone/budget"
	"github.com/syncd/syncd/state"
)

// Drift is a managed user whose PingOne values differ from what syncd last
// applied: someone edited PingOne behind syncd's back.
type Drift struct {
	Anchor   string   `json:"anchor"`
	Username string   `json:"username,omitempty"`
	UserID   string   `json:"user_id"`
	Changes  []Change `json:"changes,omitempty"` // old = PingOne now, new = what syncd wants
	// Enabled and Population report drift of those, as "now → wanted".
	Enabled    string `json:"enabled,omitempty"`
	Population string `json:"population,omitempty"`
	// Deleted is set when the user no longer exists in PingOne.
	Deleted  bool `json:"deleted,omitempty"`
	Repaired bool `json:"repaired"`
}

// Drift modes.
const (
	DriftRepair = "repair" // plan the calls that put PingOne back (default)
	DriftReport = "report" // only report
)

// verify reads the job's managed users back from PingOne, one paged listing
// per population they are in, and compares their managed attributes,
// enabled flag and population with what syncd wants. In repair mode it
// rewrites each affected op so that it puts PingOne back with the minimal
// calls; in report mode it leaves the plan alone.
func (e *Engine) verify(ctx context.Context, job *Job, ops []Op, popIDs map[string]string, repair bool) ([]Drift, error) {
	pops := map[string]bool{}
	for i := range ops {
		if cp := ops[i].cp; cp != nil && cp.UserID != "" && cp.PopulationID != "" {
			pops[cp.PopulationID] = true
		}
	}
	for _, id := range popIDs {
		pops[id] = true
	}
	ids := make([]string, 0, len(pops))
	for id := range pops {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	actual := map[string]pingone.User{}
	for _, id := range ids {
		err := e.Target.FindUsers(budget.WithClass(ctx, budget.ClassVerify), pingone.Eq("population.id", id), func(u pingone.User) error {
			actual[u.ID] = u
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("verify: list users of population %s: %w", id, err)
		}
	}

	// A managed user missing from the listings is not deleted until PingOne
	// says so: an admin may have moved it to a population the job does not
	// list. One GET per such user.
	for i := range ops {
		op := &ops[i]
		cp := op.cp
		if cp == nil || cp.UserID == "" || op.Has(ActCreate) || op.Has(ActAdopt) || op.Has(ActReject) || cp.Status == state.StatusConflict {
			continue
		}
		if _, ok := actual[cp.UserID]; ok {
			continue
		}
		u, err := e.Target.GetUser(ctx, cp.UserID)
		switch {
		case pingone.IsNotFound(err):
			continue // deleted
		case err != nil:
			return nil, fmt.Errorf("verify: read user anchor=%s id=%s missing from its population: %w", op.Anchor(), cp.UserID, err)
		}
		actual[u.ID] = u
	}

	managed := job.Mapper.ManagedAttributes()
	var drifts []Drift
	for i := range ops {
		op := &ops[i]
		cp := op.cp
		if cp == nil || cp.UserID == "" || op.Has(ActCreate) || op.Has(ActAdopt) || op.Has(ActReject) {
			continue
		}
		if cp.Status == state.StatusConflict {
			continue
		}
		u, ok := actual[cp.UserID]
		if !ok {
			d := Drift{Anchor: op.Anchor(), Username: cp.Username, UserID: cp.UserID, Deleted: true, Repaired: repair && op.desired != nil}
			drifts = append(drifts, d)
			if d.Repaired {
				// Gone from PingOne: create it again, carrying its anchor.
				op.Actions, op.Why = Actions(ActCreate), "drift: deleted in PingOne outside syncd"
				op.setUserID("")
				op.ToPopulation = popIDs[op.desired.population()]
				op.setFrom("")
				op.setChanges(nil) // a create's changes are its desired attributes
				c := *cp
				c.UserID = ""
				op.cp = &c
			}
			continue
		}

		// What syncd wants now: the desired user, or — for a record that
		// is gone or rejected — what it last applied.
		want := decodeAttrs(cp.Attributes)
		wantPop, wantEnabled := cp.PopulationID, cp.Enabled
		if op.desired != nil && !op.Has(ActReject) {
			want, wantPop, wantEnabled = op.desired.attributes(), popIDs[op.desired.population()], op.desired.enabled
		}
		if op.Has(ActDisable) {
			wantEnabled = false
		}
		now := map[string]string{}
		for _, k := range managed {
			if v := u.Attributes[k]; v != "" {
				now[k] = v
			}
		}
		last := decodeAttrs(cp.Attributes)
		d := Drift{Anchor: op.Anchor(), Username: cp.Username, UserID: cp.UserID}
		drifted := false
		for _, c := range attrChanges(last, now) {
			// A value PingOne holds that differs from the one syncd applied.
			d.Changes = append(d.Changes, Change{Attribute: c.Attribute, Old: c.New, New: want[c.Attribute]})
			drifted = true
		}
		if u.Enabled != cp.Enabled {
			d.Enabled = fmt.Sprintf("%t → %t", u.Enabled, wantEnabled)
			drifted = true
		}
		if u.PopulationID != cp.PopulationID {
			d.Population = u.PopulationID + " → " + wantPop
			drifted = true
		}
		if !drifted {
			continue
		}
		d.Repaired = repair
		drifts = append(drifts, d)
		if !repair {
			continue
		}
		// Rebuild the op against PingOne as it is now.
		changes := attrChanges(now, want)
		var acts ActionSet
		if len(changes) > 0 {
			acts = acts.With(ActUpdate)
		}
		if wantPop != "" && u.PopulationID != wantPop {
			acts = acts.With(ActMove)
		}
		switch {
		case wantEnabled && !u.Enabled:
			acts = acts.With(ActEnable)
		case !wantEnabled && u.Enabled:
			acts = acts.With(ActDisable)
		}
		if acts == 0 {
			continue
		}
		op.Actions, op.ToPopulation = acts, wantPop
		op.setChanges(changes)
		op.setFrom(u.PopulationID)
		op.Why = "drift: changed in PingOne outside syncd"
		// The checkpoint must describe PingOne as it is, so that a failed
		// repair is retried.
		c := *cp
		c.Attributes, c.PopulationID, c.Enabled, c.Hash = encodeAttrs(now), u.PopulationID, u.Enabled, ""
		op.cp = &c
	}
	return drifts, nil
}
