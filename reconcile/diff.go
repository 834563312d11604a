package reconcile

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"

	"github.com/syncd/syncd/mapper"
	"github.com/syncd/syncd/state"
)

// Action is one thing a run does to one PingOne user.
type Action string

// Actions, in the order the apply phase performs them for one user.
const (
	ActCreate  Action = "create"
	ActAdopt   Action = "adopt"
	ActUpdate  Action = "update"
	ActMove    Action = "move"
	ActEnable  Action = "enable"
	ActDisable Action = "disable"
	ActNoop    Action = "noop"
	ActReject  Action = "reject"
)

// Change is one attribute's old and new value. An empty string means unset.
type Change struct {
	Attribute string `json:"attribute"`
	Old       string `json:"old"`
	New       string `json:"new"`
}

// Op is everything one run plans for one anchor.
type Op struct {
	Anchor   string   `json:"anchor"`
	Username string   `json:"username,omitempty"`
	UserID   string   `json:"user_id,omitempty"`
	Actions  []Action `json:"actions"`
	// Changes lists attribute changes for create (all values), adopt and
	// update.
	Changes []Change `json:"changes,omitempty"`
	// FromPopulation and ToPopulation are population ids, set for move
	// (and ToPopulation for create).
	FromPopulation string `json:"from_population,omitempty"`
	ToPopulation   string `json:"to_population,omitempty"`
	// Why says which rule decided, with the value that decided it.
	Why string `json:"why"`

	desired *mapper.Desired
	cp      *state.Checkpoint
	failure string // set by apply when the op failed
}

// Has reports whether the op includes action a.
func (o *Op) Has(a Action) bool {
	for _, x := range o.Actions {
		if x == a {
			return true
		}
	}
	return false
}

// AttributeChanges returns the op's attribute changes. A create's are all
// of the desired attributes, computed on demand rather than held: a
// million-user initial sync need not keep every value twice.
func (o *Op) AttributeChanges() []Change {
	if o.Changes == nil && o.Has(ActCreate) && o.desired != nil {
		return attrChanges(nil, o.desired.Attributes)
	}
	return o.Changes
}

// MarshalJSON writes the op with its attribute changes (see
// AttributeChanges).
func (o Op) MarshalJSON() ([]byte, error) {
	type plain Op // the same fields, without this method
	p := plain(o)
	p.Changes = o.AttributeChanges()
	return json.Marshal(p)
}

// writes reports whether applying the op calls PingOne.
func (o *Op) writes() bool {
	return !o.Has(ActNoop) && !o.Has(ActReject)
}

// diffInput is everything the diff needs; it is pure data so the rules can
// be tested (and property-tested) without a source, a store or PingOne.
type diffInput struct {
	desired     map[string]*mapper.Desired
	popIDs      map[string]string // configured population (name or id) -> id
	rejected    map[string]string // anchor -> reason, for anchors rejected this run
	outOfScope  map[string]bool
	deleted     map[string]bool // delta reads: deletions the source reported
	complete    bool            // a full read that ended without error
	checkpoints map[string]*state.Checkpoint
}

// diff plans one op per anchor, sorted by anchor. These are the sync rules:
//
//   - a record with no checkpoint is created (enabled, in its population,
//     carrying its anchor), unless it is disabled in the source;
//   - a record with a checkpoint gets a PATCH of only the changed managed
//     attributes, a population move only when the population changed, and
//     an enable/disable only when the enabled flag changed;
//   - a managed user whose record left scope, was reported deleted by a
//     delta read, or is absent from a complete read is disabled, never
//     deleted (DESIGN invariant 1);
//   - a managed user whose record is rejected this run is left as it is;
//   - a checkpoint in conflict is retried only when the desired user changed.
func diff(in diffInput) []Op {
	anchors := make([]string, 0, len(in.desired)+len(in.checkpoints))
	for a := range in.desired {
		anchors = append(anchors, a)
	}
	for a := range in.checkpoints {
		if _, ok := in.desired[a]; !ok {
			anchors = append(anchors, a)
		}
	}
	sort.Strings(anchors)

	ops := make([]Op, 0, len(anchors))
	for _, a := range anchors {
		d, cp := in.desired[a], in.checkpoints[a]
		var op Op
		if d != nil {
			popID, ok := in.popIDs[d.Population]
			if !ok && cp != nil {
				popID = cp.PopulationID // not looked up: the same population (samePopulation)
			}
			op = planPresent(d, cp, popID)
		} else {
			op = planAbsent(a, cp, in)
		}
		op.Anchor, op.desired, op.cp = a, d, cp
		if op.UserID == "" && cp != nil {
			op.UserID = cp.UserID
		}
		ops = append(ops, op)
	}
	return ops
}

func planPresent(d *mapper.Desired, cp *state.Checkpoint, popID string) Op {
	op := Op{Username: d.Username()}
	if cp == nil || cp.UserID == "" {
		if cp != nil && cp.Status == state.StatusConflict && cp.Hash == d.Hash {
			op.Actions = []Action{ActNoop}
			op.Why = "conflict unchanged since last run: " + cp.LastError
			return op
		}
		if !d.Enabled {
			op.Actions = []Action{ActNoop}
			op.Why = "disabled in the source: not created"
			return op
		}
		op.Actions = []Action{ActCreate}
		op.ToPopulation = popID
		op.Why = "new in the source"
		if cp != nil {
			op.Why = "retry: " + cp.LastError
		}
		return op
	}

	if unchanged(d, cp) {
		op.Actions = []Action{ActNoop}
		op.Why = "unchanged"
		return op
	}
	op.Changes = attrChanges(decodeAttrs(cp.Attributes), d.Attributes)
	if len(op.Changes) > 0 {
		op.Actions = append(op.Actions, ActUpdate)
	}
	if popID != cp.PopulationID {
		op.Actions = append(op.Actions, ActMove)
		op.FromPopulation, op.ToPopulation = cp.PopulationID, popID
	}
	switch {
	case d.Enabled && !cp.Enabled:
		op.Actions = append(op.Actions, ActEnable)
	case !d.Enabled && cp.Enabled:
		op.Actions = append(op.Actions, ActDisable)
	}
	op.Why = whyPresent(op, d)
	if len(op.Actions) == 0 {
		op.Actions = []Action{ActNoop}
		op.Why = "unchanged"
	}
	return op
}

// samePopulation reports whether d's population is, by name, the one its
// checkpoint was last applied with, so that its id is cp.PopulationID and
// need not be looked up: either nothing changed, or the checkpoint's hash
// recomputed with d's population name still matches.
func samePopulation(d *mapper.Desired, cp *state.Checkpoint) bool {
	if unchanged(d, cp) {
		return true
	}
	if cp == nil || cp.UserID == "" || cp.Hash == "" || cp.PopulationID == "" {
		return false
	}
	return mapper.HashDesired(decodeAttrs(cp.Attributes), d.Population, cp.Enabled) == cp.Hash
}

// unchanged is the fast path: the desired user hashes as the one last
// applied (attributes, population name and enabled flag), so nothing is
// compared field by field and its population name need not be resolved.
func unchanged(d *mapper.Desired, cp *state.Checkpoint) bool {
	return cp != nil && cp.UserID != "" && cp.Hash == d.Hash && cp.Enabled == d.Enabled &&
		(cp.Status == state.StatusActive || cp.Status == state.StatusDisabled)
}

func whyPresent(op Op, d *mapper.Desired) string {
	switch {
	case op.Has(ActEnable) && len(op.Actions) == 1:
		return "enabled in the source again"
	case op.Has(ActDisable) && len(op.Actions) == 1:
		return "disabled in the source"
	case op.Has(ActMove) && len(op.Actions) == 1:
		return fmt.Sprintf("population rule now gives %q", d.Population)
	}
	n := len(op.Changes)
	if n == 1 {
		return "changed in the source: " + op.Changes[0].Attribute
	}
	return fmt.Sprintf("changed in the source: %d attributes", n)
}

func planAbsent(anchor string, cp *state.Checkpoint, in diffInput) Op {
	op := Op{Username: cp.Username}
	if reason, ok := in.rejected[anchor]; ok {
		op.Actions = []Action{ActReject}
		op.Why = "record rejected, user left as it is: " + reason
		return op
	}
	noop := func(why string) Op {
		op.Actions, op.Why = []Action{ActNoop}, why
		return op
	}
	if cp.UserID == "" {
		return noop("never created in PingOne")
	}
	if !cp.Enabled {
		return noop("already disabled")
	}
	var why string
	switch {
	case in.outOfScope[anchor]:
		why = "left the scope of the job"
	case in.deleted[anchor]:
		why = "deleted in the source"
	case in.complete:
		why = "absent from a complete read of the source"
	default:
		return noop("not in this delta read")
	}
	op.Actions = []Action{ActDisable}
	op.Why = why
	return op
}

// attrChanges lists the managed attributes whose value differs, sorted:
// changed and new values, and attributes no longer mapped (New "").
func attrChanges(old, now map[string]string) []Change {
	var cs []Change
	for k, v := range now {
		if old[k] != v {
			cs = append(cs, Change{Attribute: k, Old: old[k], New: v})
		}
	}
	for k, v := range old {
		if _, ok := now[k]; !ok && v != "" {
			cs = append(cs, Change{Attribute: k, Old: v})
		}
	}
	sort.Slice(cs, func(i, j int) bool { return cs[i].Attribute < cs[j].Attribute })
	return cs
}

func decodeAttrs(b []byte) map[string]string {
	m := map[string]string{}
	if len(b) > 0 {
		// The engine wrote these bytes; a corrupt value only forces a
		// full re-send of the managed attributes, so the error is moot.
		_ = json.Unmarshal(b, &m)
	}
	return m
}

// EncodeAttributes encodes managed attribute values as a checkpoint keeps
// them (stable bytes: keys sorted).
func EncodeAttributes(m map[string]string) []byte { return encodeAttrs(m) }

func encodeAttrs(m map[string]string) []byte {
	b, err := json.Marshal(m) // map keys are sorted: stable bytes
	if err != nil {
		panic(err) // map[string]string always marshals
	}
	return b
}

// planDigest hashes what a plan would write (anchors, actions, changes,
// populations), so that a saved plan can be checked before it is applied.
func planDigest(ops []Op) string {
	h := sha256.New()
	var buf []byte
	w := func(ss ...string) {
		for _, s := range ss {
			// Length-prefixed, so that no two different plans write the
			// same bytes.
			buf = strconv.AppendInt(buf[:0], int64(len(s)), 10)
			buf = append(append(buf, ':'), s...)
			h.Write(buf)
		}
	}
	for i := range ops {
		op := &ops[i]
		if !op.writes() && !op.Has(ActReject) {
			continue
		}
		w(op.Anchor, op.UserID, op.FromPopulation, op.ToPopulation)
		for _, a := range op.Actions {
			w(string(a))
		}
		if op.Changes == nil && op.desired != nil {
			w("desired", op.desired.Hash) // a create: its hash covers every attribute
		}
		for _, c := range op.Changes {
			w(c.Attribute, c.Old, c.New)
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}
