package reconcile

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"maps"
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

// Verifying streams. A run that verifies does not hold every managed user
// whole (its checkpoint with the values, and PingOne's copy): while the
// checkpoints load, it keeps of each managed user only a summary (managedUser,
// 56 bytes: the PingOne id and a digest of the managed values last applied,
// each 16 bytes of SHA-256, the population and the enabled flag); the
// listings of PingOne are compared with those summaries page by page and
// dropped, and once they are done (before the source is read) so are the
// summaries of the users they found (dropSeen). Only the users that differ
// are kept whole, up to driftHold of them straight from the listing, the
// rest read again by id once the listings are done (one GET each). Their checkpoints are then fetched
// whole (Store.CheckpointsFor), and the plan gets an operation for each.

// driftHold is how many drifted users a run keeps whole from the listings
// (a few MiB); past it, each is read again by id after the listings.
const driftHold = 10_000

// managedUser is what a verifying run holds of one managed user.
type managedUser struct {
	id     [16]byte // idKey of the PingOne user id
	attrs  [16]byte // attrsDigest of the managed values last applied
	anchor string   // shares the summaries' arena
	pop    uint32   // index in managedUsers.pops
	flags  uint8
}

const (
	muEnabled = 1 << iota // enabled when last applied
	muSeen                // found in a listing
)

// managedUsers holds a summary of every user the job manages that PingOne
// should hold (a user id, no conflict), sorted by id key once loaded.
type managedUsers struct {
	list   blocks[managedUser]
	pops   []string
	popIdx map[string]uint32
}

func newManagedUsers() *managedUsers { return &managedUsers{popIdx: map[string]uint32{}} }

// add summarises cp under anchor (the arena's copy).
func (m *managedUsers) add(cp *state.Checkpoint, anchor string) {
	if cp.UserID == "" || cp.Status == state.StatusConflict {
		return
	}
	p, ok := m.popIdx[cp.PopulationID]
	if !ok {
		p = uint32(len(m.pops))
		m.pops = append(m.pops, cp.PopulationID)
		m.popIdx[cp.PopulationID] = p
	}
	u := managedUser{id: idKey(cp.UserID), attrs: attrsDigestJSON(cp.Attributes), anchor: anchor, pop: p}
	if cp.Enabled {
		u.flags |= muEnabled
	}
	m.list.add(u)
}

func (m *managedUsers) seal() {
	m.list.sortBy(func(a, b *managedUser) bool { return string(a.id[:]) < string(b.id[:]) })
}

// find returns the summary of PingOne user id, or nil.
func (m *managedUsers) find(id string) *managedUser {
	k := idKey(id)
	i := m.list.search(func(u *managedUser) bool { return string(u.id[:]) >= string(k[:]) })
	if i < m.list.len() && m.list.at(i).id == k {
		return m.list.at(i)
	}
	return nil
}

// same reports whether PingOne's user u holds what syncd last applied to
// the user mu summarises: the same managed values, enabled flag and
// population. It is the comparison verify makes value by value
// (driftOf), on digests.
func (m *managedUsers) same(mu *managedUser, u *pingone.User, managed []string) bool {
	return u.Enabled == (mu.flags&muEnabled != 0) && u.PopulationID == m.pops[mu.pop] &&
		attrsDigest(currentValues(u, managed)) == mu.attrs
}

// idKey is a fixed-size key for a PingOne user id (a UUID in practice, but
// any string works).
func idKey(id string) [16]byte { return digest([]byte(id)) }

// attrsDigest digests the non-empty values of m: two maps have the same
// digest exactly when attrChanges finds no change between them. It is the
// digest of their encoding as a checkpoint keeps it (encodeAttrs).
func attrsDigest(m map[string]string) [16]byte {
	for _, v := range m {
		if v == "" {
			m = maps.Clone(m)
			maps.DeleteFunc(m, func(_, v string) bool { return v == "" })
			break
		}
	}
	return digest(encodeAttrs(m))
}

// attrsDigestJSON is attrsDigest of the values a checkpoint's Attributes
// encode. What encodeAttrs wrote with no empty value is digested as it is,
// without decoding a million of them into maps.
func attrsDigestJSON(b []byte) [16]byte {
	if len(b) == 0 || bytes.Contains(b, []byte(`""`)) {
		return attrsDigest(decodeAttrs(b))
	}
	return digest(b)
}

func digest(b []byte) (k [16]byte) {
	h := sha256.Sum256(b)
	copy(k[:], h[:])
	return k
}

// currentValues is what PingOne holds of the managed attributes (non-empty
// values only).
func currentValues(u *pingone.User, managed []string) map[string]string {
	now := make(map[string]string, len(managed))
	for _, k := range managed {
		if v := u.Attributes[k]; v != "" {
			now[k] = v
		}
	}
	return now
}

// found is what verify learned of one drifted user: PingOne's copy (nil
// until read by id), or that PingOne no longer has it.
type found struct {
	user    *pingone.User
	deleted bool
}

// listManaged lists the populations the job's managed users are in and
// compares each user listed with its summary as its page arrives (drift.go's
// top). It runs before the source is read: the listings' garbage then sits
// beside the summaries alone, not beside the records too.
func (e *Engine) listManaged(ctx context.Context, job *Job, cs *checkpoints) error {
	mus := cs.managed
	cs.listed, cs.drifted = map[string]bool{}, map[string]*found{}
	var ids []string
	for _, p := range mus.pops {
		if p != "" {
			ids = append(ids, p)
		}
	}
	sort.Strings(ids)
	if err := e.listPopulations(ctx, job, cs, ids); err != nil {
		return err
	}
	mus.dropSeen()
	return nil
}

// dropSeen forgets the users found in a listing: what the listings had to
// compare them with is done (a drifted one is in checkpoints.drifted), and
// a later listing skips a user found before as it skips one the job does
// not manage. What stays is the users verify still looks for, often none:
// the read then runs beside the checkpoint summaries alone, not beside a
// summary of every managed user too (56 MiB at 1M users, which the GC's
// pacing doubles).
func (m *managedUsers) dropSeen() {
	m.list.filter(func(u *managedUser) bool { return u.flags&muSeen == 0 })
}

// listPopulations lists the given populations (those not listed yet) for
// listManaged and verify.
func (e *Engine) listPopulations(ctx context.Context, job *Job, cs *checkpoints, ids []string) error {
	mus := cs.managed
	managed := job.Mapper.ManagedAttributes()
	hold := e.driftHold
	if hold == 0 {
		hold = driftHold
	}
	for _, id := range ids {
		if cs.listed[id] {
			continue
		}
		cs.listed[id] = true
		err := e.Target.FindUsers(budget.WithClass(ctx, budget.ClassVerify), pingone.Eq("population.id", id), func(u pingone.User) error {
			mu := mus.find(u.ID)
			if mu == nil || mu.flags&muSeen != 0 {
				return nil // not this job's, or listed twice
			}
			mu.flags |= muSeen
			if mus.same(mu, &u, managed) {
				return nil
			}
			f := &found{}
			if cs.held < hold {
				f.user = &u
				cs.held++
			}
			cs.drifted[mu.anchor] = f
			return nil
		})
		if err != nil {
			return fmt.Errorf("verify: list users of population %s: %w", id, err)
		}
	}
	return nil
}

// verify finishes what listManaged started, once the records are planned:
// a user that differs from what syncd last applied is drift; in repair
// mode its op is rewritten (or added, for an anchor the pairing had
// skipped) so that it puts PingOne back with the minimal calls; in report
// mode the plan is left alone. It returns the ops, still sorted by anchor.
func (e *Engine) verify(ctx context.Context, job *Job, ops []Op, in *diffInput, paired *pairing, cs *checkpoints, repair bool) ([]Op, []Drift, error) {
	mus := cs.managed
	managed := job.Mapper.ManagedAttributes()
	// The populations the records go to, if no managed user was in one.
	var more []string
	for _, id := range in.popIDs {
		more = append(more, id)
	}
	sort.Strings(more)
	if err := e.listPopulations(ctx, job, cs, more); err != nil {
		return nil, nil, err
	}
	drifted := cs.drifted
	// A record rejected this run leaves its user as it is: not verified.
	skip := func(mu *managedUser) bool { _, ok := in.rejected[mu.anchor]; return ok }
	for a := range drifted {
		if _, ok := in.rejected[a]; ok {
			delete(drifted, a)
		}
	}

	// A managed user missing from the listings is not deleted until PingOne
	// says so: an admin may have moved it to a population the job does not
	// list. One GET per such user, and per drifted user not held.
	var missing []string // anchors
	for i := 0; i < mus.list.len(); i++ {
		mu := mus.list.at(i)
		if mu.flags&muSeen != 0 || skip(mu) {
			continue
		}
		drifted[mu.anchor] = &found{}
		missing = append(missing, mu.anchor)
	}
	sort.Strings(missing)
	ops, err := e.opsFor(ctx, job.Name, ops, drifted, in, paired)
	if err != nil {
		return nil, nil, err
	}
	get := func(op *Op, f *found) error {
		u, err := e.Target.GetUser(budget.WithClass(ctx, budget.ClassVerify), op.cp.UserID)
		switch {
		case pingone.IsNotFound(err):
			f.deleted = true
		case err != nil:
			return fmt.Errorf("verify: read user anchor=%s id=%s: %w", op.Anchor(), op.cp.UserID, err)
		default:
			f.user = &u
		}
		return nil
	}
	for _, a := range missing {
		op := opOf(ops, a)
		if op == nil || op.cp == nil || op.cp.UserID == "" {
			delete(drifted, a) // planned from a checkpoint without a user: nothing to read
			continue
		}
		if err := get(op, drifted[a]); err != nil {
			return nil, nil, fmt.Errorf("%w (missing from the listing of its population)", err)
		}
		if f := drifted[a]; f.user != nil {
			if mu := mus.find(f.user.ID); mu != nil && mus.same(mu, f.user, managed) {
				delete(drifted, a) // moved away and back meanwhile
			}
		}
	}

	var drifts []Drift
	for i := range ops {
		op := &ops[i]
		f := drifted[op.Anchor()]
		cp := op.cp
		if f == nil || cp == nil || cp.UserID == "" || op.Has(ActCreate) || op.Has(ActAdopt) || op.Has(ActReject) || cp.Status == state.StatusConflict {
			continue
		}
		if f.user == nil && !f.deleted {
			if err := get(op, f); err != nil {
				return nil, nil, err
			}
		}
		if d, ok := driftOf(op, f, managed, in.popIDs, repair); ok {
			drifts = append(drifts, d)
		}
	}
	return ops, drifts, nil
}

// opOf returns anchor's op (ops sorted by anchor), or nil.
func opOf(ops []Op, anchor string) *Op {
	i := sort.Search(len(ops), func(i int) bool { return ops[i].Anchor() >= anchor })
	if i < len(ops) && ops[i].Anchor() == anchor {
		return &ops[i]
	}
	return nil
}

// opsFor gives every drifted anchor an op: those the pairing skipped
// (unchanged records, absent users left as they are) are planned from
// their checkpoints, fetched whole, and merged into ops in anchor order.
func (e *Engine) opsFor(ctx context.Context, job string, ops []Op, drifted map[string]*found, in *diffInput, paired *pairing) ([]Op, error) {
	var need []string
	for a := range drifted {
		if opOf(ops, a) == nil {
			need = append(need, a)
		}
	}
	if len(need) == 0 {
		return ops, nil
	}
	sort.Strings(need)
	cps := map[string]*state.Checkpoint{}
	err := e.Store.CheckpointsFor(ctx, job, need, func(c state.Checkpoint) error {
		cps[c.Anchor] = &c
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("verify: load %d checkpoints: %w", len(need), err)
	}
	add := make([]Op, 0, len(need))
	recs := in.desired
	for _, a := range need {
		cp := cps[a]
		if cp == nil {
			return nil, fmt.Errorf("verify: the checkpoint of anchor %q disappeared during the run (another syncd process changed this job's state): run again", a)
		}
		var op Op
		i := recs.list.search(func(r *record) bool { return r.anchor() >= a })
		if i < recs.len() && recs.at(i).anchor() == a {
			d := recs.at(i)
			popID, ok := in.popIDs[d.population()]
			if !ok {
				popID = cp.PopulationID
			}
			op = planPresent(d, cp, popID, in.createDisabled)
			op.desired, op.cp = d, cp
			if paired.unchanged[i] {
				paired.unchanged[i] = false
				paired.skipped--
				paired.skippedRecords--
			}
		} else {
			op = planAbsent(a, cp, *in)
			op.cp = cp
			paired.skipped--
			if cp.Status == state.StatusConflict {
				paired.skippedConflicts--
			}
		}
		add = append(add, op)
	}
	merged := make([]Op, 0, len(ops)+len(add))
	i, j := 0, 0
	for i < len(ops) || j < len(add) {
		if j == len(add) || (i < len(ops) && ops[i].Anchor() < add[j].Anchor()) {
			merged = append(merged, ops[i])
			i++
		} else {
			merged = append(merged, add[j])
			j++
		}
	}
	return merged, nil
}

// driftOf compares PingOne's copy of op's user (f) with what syncd last
// applied (op.cp) and, when they differ, reports the drift and — repairing
// — rewrites op to put PingOne back.
func driftOf(op *Op, f *found, managed []string, popIDs map[string]string, repair bool) (Drift, bool) {
	cp := op.cp
	if f.deleted {
		d := Drift{Anchor: op.Anchor(), Username: cp.Username, UserID: cp.UserID, Deleted: true, Repaired: repair && op.desired != nil}
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
		return d, true
	}
	u := f.user

	// What syncd wants now: the desired user, or — for a record that is
	// gone or rejected — what it last applied.
	want := decodeAttrs(cp.Attributes)
	wantPop, wantEnabled := cp.PopulationID, cp.Enabled
	if op.desired != nil && !op.Has(ActReject) {
		want, wantPop, wantEnabled = op.desired.attributes(), popIDs[op.desired.population()], op.desired.enabled
	}
	if op.Has(ActDisable) {
		wantEnabled = false
	}
	now := currentValues(u, managed)
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
		return Drift{}, false
	}
	d.Repaired = repair
	if !repair {
		return d, true
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
		return d, true
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
	return d, true
}
