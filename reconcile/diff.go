package reconcile

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

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
	// ActDelete deletes a user syncd disabled longer ago than the job's
	// deprovision.delete_after (deletes.go).
	ActDelete Action = "delete"
	ActNoop   Action = "noop"
	ActReject Action = "reject"
)

// Change is one attribute's old and new value. An empty string means unset.
type Change struct {
	Attribute string `json:"attribute"`
	Old       string `json:"old"`
	New       string `json:"new"`
}

// Op is everything one run plans for one anchor. A run holds one per
// mapped or managed anchor, so it is kept small (64 bytes): a
// million-user initial sync plans a million of them. What only some
// operations carry (a user id of their own, attribute changes, a
// population to move from) hangs off more; the rest is read from the
// desired record and the checkpoint it was planned from. Its JSON form
// (MarshalJSON) is the report's.
type Op struct {
	desired *record // nil when the source has no record for the anchor
	cp      *state.Checkpoint
	more    *opMore
	// ToPopulation is the population id a create puts the user in, or a
	// move moves it to.
	ToPopulation string
	// Why says which rule decided, with the value that decided it.
	Why     string
	Actions ActionSet
	// result is what the apply phase made of the op (outcome.go).
	result outcome
}

// opMore holds what some operations carry besides the common fields. It
// is 32 bytes: a million adoptions of unchanged users (a first run after a
// lost state database) carry only their user ids.
type opMore struct {
	userID    string // when not the checkpoint's: adopted, created, re-created
	hasUserID bool
	rest      *opRest // nil: no attribute change, no population to move from
}

// opRest holds the attribute changes of an adopt or update and the
// population a move moves from.
type opRest struct {
	changes []Change
	from    string
}

func (o *Op) extra() *opMore {
	if o.more == nil {
		o.more = &opMore{}
	}
	return o.more
}

func (o *Op) rest() *opRest {
	m := o.extra()
	if m.rest == nil {
		m.rest = &opRest{}
	}
	return m.rest
}

// hasRest reports whether the op carries changes or a population to move
// from (perhaps emptied since).
func (o *Op) hasRest() bool { return o.more != nil && o.more.rest != nil }

// Anchor is the record's anchor.
func (o *Op) Anchor() string {
	if o.desired != nil {
		return o.desired.anchor()
	}
	return o.cp.Anchor
}

// UserID is the PingOne user's id, when there is one.
func (o *Op) UserID() string {
	switch {
	case o.more != nil && o.more.hasUserID:
		return o.more.userID
	case o.cp != nil:
		return o.cp.UserID
	}
	return ""
}

func (o *Op) setUserID(id string) { m := o.extra(); m.userID, m.hasUserID = id, true }

// FromPopulation is the population id a move moves the user from.
func (o *Op) FromPopulation() string {
	if !o.hasRest() {
		return ""
	}
	return o.more.rest.from
}

// changes are the attribute changes of an adopt or update.
func (o *Op) changes() []Change {
	if !o.hasRest() {
		return nil
	}
	return o.more.rest.changes
}

func (o *Op) setChanges(cs []Change) {
	if cs != nil || o.hasRest() {
		o.rest().changes = cs
	}
}

func (o *Op) setFrom(p string) {
	if p != "" || o.hasRest() {
		o.rest().from = p
	}
}

// Has reports whether the op includes action a.
func (o *Op) Has(a Action) bool { return o.Actions.Has(a) }

// Username is the user's username: the desired one, or the one last
// applied when the source no longer carries the record.
func (o *Op) Username() string {
	switch {
	case o.desired != nil:
		return o.desired.username()
	case o.cp != nil:
		return o.cp.Username
	}
	return ""
}

// ActionSet is the set of actions of one op. It lists, marshals and
// prints them in the order apply performs them (the order of the Act
// constants).
type ActionSet uint16

// actionOrder is the order of ActionSet's bits.
var actionOrder = [...]Action{ActCreate, ActAdopt, ActUpdate, ActMove, ActEnable, ActDisable, ActDelete, ActNoop, ActReject}

func actionBit(a Action) ActionSet {
	for i, x := range actionOrder {
		if x == a {
			return 1 << i
		}
	}
	panic("reconcile: unknown action " + string(a))
}

// Actions returns the set holding the given actions.
func Actions(as ...Action) ActionSet {
	var s ActionSet
	for _, a := range as {
		s |= actionBit(a)
	}
	return s
}

// Has reports whether the set holds a.
func (s ActionSet) Has(a Action) bool { return s&actionBit(a) != 0 }

// With returns the set with a added.
func (s ActionSet) With(a Action) ActionSet { return s | actionBit(a) }

// List returns the actions in the order apply performs them.
func (s ActionSet) List() []Action {
	var as []Action
	for i, a := range actionOrder {
		if s&(1<<i) != 0 {
			as = append(as, a)
		}
	}
	return as
}

// String joins the actions with "+": "update+move".
func (s ActionSet) String() string {
	var b strings.Builder
	for _, a := range s.List() {
		if b.Len() > 0 {
			b.WriteByte('+')
		}
		b.WriteString(string(a))
	}
	return b.String()
}

// MarshalJSON writes the actions as a list of names.
func (s ActionSet) MarshalJSON() ([]byte, error) {
	as := s.List()
	if as == nil {
		as = []Action{}
	}
	return json.Marshal(as)
}

// UnmarshalJSON reads a list of action names.
func (s *ActionSet) UnmarshalJSON(b []byte) error {
	var as []Action
	if err := json.Unmarshal(b, &as); err != nil {
		return err
	}
	*s = 0
	for _, a := range as {
		if !slices.Contains(actionOrder[:], a) {
			return fmt.Errorf("unknown action %q", a)
		}
		*s = s.With(a)
	}
	return nil
}

// AttributeChanges returns the op's attribute changes. A create's are all
// of the desired attributes, computed on demand rather than held: a
// million-user initial sync need not keep every value twice.
func (o *Op) AttributeChanges() []Change {
	if cs := o.changes(); cs != nil || !o.Has(ActCreate) || o.desired == nil {
		return cs
	}
	return attrChanges(nil, o.desired.attributes())
}

// MarshalJSON writes the op as reports show it.
func (o Op) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Anchor         string    `json:"anchor"`
		Username       string    `json:"username,omitempty"`
		UserID         string    `json:"user_id,omitempty"`
		Actions        ActionSet `json:"actions"`
		Changes        []Change  `json:"changes,omitempty"`
		FromPopulation string    `json:"from_population,omitempty"`
		ToPopulation   string    `json:"to_population,omitempty"`
		Why            string    `json:"why"`
		Result         string    `json:"result,omitempty"`
	}{o.Anchor(), o.Username(), o.UserID(), o.Actions, o.AttributeChanges(), o.FromPopulation(), o.ToPopulation, o.Why, o.Result()})
}

// writes reports whether applying the op calls PingOne.
func (o *Op) writes() bool {
	return !o.Has(ActNoop) && !o.Has(ActReject)
}

// diffInput is everything the diff needs; it is pure data so the rules can
// be tested (and property-tested) without a source, a store or PingOne.
type diffInput struct {
	desired    *records          // sorted by anchor
	popIDs     map[string]string // configured population (name or id) -> id
	rejected   map[string]string // anchor -> reason, for anchors rejected this run
	outOfScope map[string]bool
	deleted    map[string]bool // delta reads: deletions the source reported
	complete   bool            // a full read that ended without error
	// createDisabled creates new records disabled in the source, as
	// disabled users (jobs[].create_disabled).
	createDisabled bool
	paired         pairing // each record's checkpoint, and those of anchors not read
}

// diff plans one op per anchor that needs one, sorted by anchor (anchors
// the pairing found needing nothing are only counted). These are the sync
// rules:
//
//   - a record with no checkpoint is created (in its population, carrying
//     its anchor), unless it is disabled in the source: then it is counted
//     as not created, or created disabled with create_disabled;
//   - a record with a checkpoint gets a PATCH of only the changed managed
//     attributes, a population move only when the population changed, and
//     an enable/disable only when the enabled flag changed;
//   - a managed user whose record left scope, was reported deleted by a
//     delta read, or is absent from a complete read is disabled, never
//     deleted (DESIGN invariant 1);
//   - a managed user whose record is rejected this run is left as it is;
//   - a checkpoint in conflict is retried only when the desired user changed.
func diff(in diffInput) []Op {
	recs, gone := in.desired, in.paired.gone
	n := recs.len()
	ops := make([]Op, 0, n-in.paired.skippedRecords+len(gone))
	i, j := 0, 0
	for i < n || j < len(gone) {
		var op Op
		if j == len(gone) || (i < n && recs.at(i).anchor() < gone[j].Anchor) {
			if in.paired.unchanged[i] {
				i++ // nothing to do: counted, not planned (pairing.skipped)
				continue
			}
			d, cp := recs.at(i), in.paired.checkpoint(i)
			popID, ok := in.popIDs[d.population()]
			if !ok && cp != nil {
				popID = cp.PopulationID // not looked up: the same population (samePopulation)
			}
			op = planPresent(d, cp, popID, in.createDisabled)
			op.desired, op.cp = d, cp
			i++
		} else {
			cp := gone[j]
			op = planAbsent(cp.Anchor, cp, in)
			op.cp = cp
			j++
		}
		ops = append(ops, op)
	}
	return ops
}

func planPresent(d *record, cp *state.Checkpoint, popID string, createDisabled bool) Op {
	var op Op
	if cp == nil || cp.UserID == "" {
		if cp != nil && cp.Status == state.StatusConflict && d.hashIs(cp.Hash) {
			op.Actions = Actions(ActNoop)
			op.Why = "conflict unchanged since last run: " + cp.LastError
			return op
		}
		if !d.enabled && !createDisabled {
			op.Actions = Actions(ActNoop)
			op.Why = "disabled in the source: not created (jobs[].create_disabled creates it disabled)"
			op.result = notCreated
			return op
		}
		op.Actions = Actions(ActCreate)
		op.ToPopulation = popID
		switch {
		case cp == nil:
			op.Why = "new in the source"
		case cp.Status == state.StatusPending:
			op.Why = "an earlier create's outcome was not recorded: looked up by externalId first"
		case cp.Status == state.StatusGone && !cp.DeletedAt.IsZero():
			op.Why = fmt.Sprintf("deleted by syncd on %s after deprovision.delete_after, back in the source: created again (same anchor, new PingOne id)",
				cp.DeletedAt.UTC().Format(time.DateOnly))
		case cp.Status == state.StatusGone:
			op.Why = "deleted in PingOne outside syncd: created again"
		case mayExist(cp):
			op.Why = "retry, looked up by externalId first: " + cp.LastError
		default:
			op.Why = "retry: " + cp.LastError
		}
		return op
	}

	if unchanged(d, cp) {
		op.Actions = Actions(ActNoop)
		op.Why = "unchanged"
		return op
	}
	op.setChanges(attrChanges(decodeAttrs(cp.Attributes), d.attributes()))
	if len(op.changes()) > 0 {
		op.Actions = op.Actions.With(ActUpdate)
	}
	if popID != cp.PopulationID {
		op.Actions = op.Actions.With(ActMove)
		op.ToPopulation = popID
		op.setFrom(cp.PopulationID)
	}
	switch {
	case d.enabled && !cp.Enabled:
		op.Actions = op.Actions.With(ActEnable)
	case !d.enabled && cp.Enabled:
		op.Actions = op.Actions.With(ActDisable)
	}
	op.Why = whyPresent(op, d)
	if op.Actions == 0 {
		op.Actions = Actions(ActNoop)
		op.Why = "unchanged"
	}
	return op
}

// samePopulation reports whether d's population is, by name, the one its
// checkpoint was last applied with, so that its id is cp.PopulationID and
// need not be looked up: either nothing changed, or the checkpoint's hash
// recomputed with d's population name still matches.
func samePopulation(d *record, cp *state.Checkpoint) bool {
	if unchanged(d, cp) {
		return true
	}
	if cp == nil || cp.UserID == "" || cp.Hash == "" || cp.PopulationID == "" {
		return false
	}
	return mapper.HashDesired(decodeAttrs(cp.Attributes), d.population(), cp.Enabled) == cp.Hash
}

// unchanged is the fast path: the desired user hashes as the one last
// applied (attributes, population name and enabled flag), so nothing is
// compared field by field and its population name need not be resolved.
func unchanged(d *record, cp *state.Checkpoint) bool {
	if cp == nil {
		return false
	}
	s := summarize(cp)
	return d.unchangedFrom(&s)
}

// unchangedFrom is unchanged on a checkpoint's summary: the user exists,
// nothing is pending for it, and the record hashes as last applied.
func (d *record) unchangedFrom(s *summary) bool {
	return s.flags&sumUser != 0 && s.flags&sumSettled != 0 && s.flags&sumHash != 0 &&
		(s.flags&sumEnabled != 0) == d.enabled && s.hash == d.hash
}

func whyPresent(op Op, d *record) string {
	switch {
	case op.Actions == Actions(ActEnable):
		return "enabled in the source again"
	case op.Actions == Actions(ActDisable):
		return "disabled in the source"
	case op.Actions == Actions(ActMove):
		return fmt.Sprintf("population rule now gives %q", d.population())
	}
	n := len(op.changes())
	if n == 1 {
		return "changed in the source: " + op.changes()[0].Attribute
	}
	return fmt.Sprintf("changed in the source: %d attributes", n)
}

func planAbsent(anchor string, cp *state.Checkpoint, in diffInput) Op {
	acts, why := absentAction(anchor, cp.UserID != "", cp.Enabled, mayExist(cp), in)
	return Op{Actions: acts, Why: why}
}

// absentAction is what happens to a managed anchor that this read did not
// carry as a record to sync, given whether its user exists in PingOne and
// is enabled, or may exist after a create whose outcome was not recorded.
func absentAction(anchor string, exists, enabled, mayExist bool, in diffInput) (ActionSet, string) {
	if reason, ok := in.rejected[anchor]; ok {
		return Actions(ActReject), "record rejected, user left as it is: " + reason
	}
	if !exists && mayExist {
		// The user an earlier create may have made is looked up and
		// disabled: never left enabled and unmanaged.
		switch {
		case in.outOfScope[anchor]:
			return Actions(ActDisable), "left the scope of the job after a create whose outcome was not recorded (looked up by externalId)"
		case in.deleted[anchor]:
			return Actions(ActDisable), "deleted in the source after a create whose outcome was not recorded (looked up by externalId)"
		case in.complete:
			return Actions(ActDisable), "absent from a complete read after a create whose outcome was not recorded (looked up by externalId)"
		}
	}
	switch {
	case !exists:
		return Actions(ActNoop), "never created in PingOne"
	case !enabled:
		return Actions(ActNoop), "already disabled"
	case in.outOfScope[anchor]:
		return Actions(ActDisable), "left the scope of the job"
	case in.deleted[anchor]:
		return Actions(ActDisable), "deleted in the source"
	case in.complete:
		return Actions(ActDisable), "absent from a complete read of the source"
	}
	return Actions(ActNoop), "not in this delta read"
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
	// It allocates nothing per op: a million-op plan leaves no garbage.
	p := planHasher{h: sha256.New()}
	for i := range ops {
		op := &ops[i]
		if !op.writes() && !op.Has(ActReject) {
			continue
		}
		p.write(op.Anchor())
		p.write(op.UserID())
		p.write(op.FromPopulation())
		p.write(op.ToPopulation)
		for b, a := range actionOrder {
			if op.Actions&(1<<b) != 0 {
				p.write(string(a))
			}
		}
		if op.changes() == nil && op.desired != nil {
			// A create: its hash covers every attribute.
			p.write("desired")
			p.hb = op.desired.appendHash(p.hb[:0])
			p.writeBytes(p.hb)
		}
		for _, c := range op.changes() {
			p.write(c.Attribute)
			p.write(c.Old)
			p.write(c.New)
		}
	}
	return hex.EncodeToString(p.h.Sum(nil))[:16]
}

// planHasher writes values length-prefixed, so that no two different
// plans write the same bytes.
type planHasher struct {
	h       hash.Hash
	buf, hb []byte
}

func (p *planHasher) write(s string) {
	p.buf = strconv.AppendInt(p.buf[:0], int64(len(s)), 10)
	p.buf = append(append(p.buf, ':'), s...)
	p.h.Write(p.buf)
}

func (p *planHasher) writeBytes(b []byte) {
	p.buf = strconv.AppendInt(p.buf[:0], int64(len(b)), 10)
	p.buf = append(append(p.buf, ':'), b...)
	p.h.Write(p.buf)
}
