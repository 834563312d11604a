package reconcile

import (
	"context"
	"fmt"
	"slices"

	"github.com/syncd/syncd/state"
)

// checkpoints is what one run holds of a job's checkpoints. Of every
// checkpoint it keeps a summary (about 65 bytes), sorted by anchor, so that
// pairing them with the records (also sorted) is a single merge and a
// record found unchanged costs no more. A checkpoint is held whole (~550
// bytes with its attribute values) only where the plan needs it: a record
// that changed, an anchor to disable or leave as it is; those are fetched
// with Store.CheckpointsFor once the read is done. A run that verifies
// PingOne also holds a summary of every managed user (managedUser, drift.go)
// while it lists them, before the read, then only of those the listings did
// not find (dropSeen); and whole only those that drifted.
//
// A delta read loads only the checkpoints of the anchors it carried
// (loadChanged): the others cannot change in that run, and are counted,
// not loaded.
type checkpoints struct {
	sums  blocks[summary]
	arena arena
	full  map[string]*state.Checkpoint
	// managed summarises every managed user for verify; nil otherwise.
	// listed, drifted and held are what verify's listings found so far
	// (drift.go).
	managed *managedUsers
	listed  map[string]bool // population ids
	drifted map[string]*found
	held    int
	// total counts the job's checkpoints, loaded or not.
	total int
	// active counts the users syncd created or adopted and has enabled:
	// the safety gate's base.
	active int
	// unloaded counts the checkpoints a delta run did not load (each an
	// anchor the read did not carry, which gets no operation), and
	// unloadedConflicts those of them in conflict: the report counts
	// them unchanged, as a run that loads them all would.
	unloaded, unloadedConflicts int
	// renames are the checkpoints to move to their normalised anchor
	// (old -> new) before the run writes (anchors.go).
	renames map[string]string
}

// summary is what the sync rules need of a checkpoint to see that nothing
// is to be done for its anchor.
type summary struct {
	anchor string
	hash   [32]byte
	flags  uint8
}

const (
	sumUser     = 1 << iota // the user exists in PingOne (a user id)
	sumEnabled              // ... and is enabled
	sumSettled              // status active or disabled: nothing pending
	sumHash                 // hash holds the checkpoint's hash
	sumConflict             // status conflict
	sumMayExist             // an earlier create may have reached PingOne (mayExist)
)

func summarize(cp *state.Checkpoint) summary {
	s := summary{anchor: cp.Anchor}
	if cp.UserID != "" {
		s.flags |= sumUser
	}
	if cp.Enabled {
		s.flags |= sumEnabled
	}
	switch cp.Status {
	case state.StatusActive, state.StatusDisabled:
		s.flags |= sumSettled
	case state.StatusConflict:
		s.flags |= sumConflict
	}
	if mayExist(cp) {
		s.flags |= sumMayExist
	}
	if h, ok := decodeHash(cp.Hash); ok {
		s.hash, s.flags = h, s.flags|sumHash
	}
	return s
}

func (e *Engine) loadCheckpoints(ctx context.Context, job string, verify bool) (*checkpoints, error) {
	cs := &checkpoints{full: map[string]*state.Checkpoint{}}
	if verify {
		cs.managed = newManagedUsers()
	}
	var legacy legacyAnchors
	err := e.Store.Checkpoints(ctx, job, func(c state.Checkpoint) error {
		if c.UserID != "" && c.Enabled {
			cs.active++
		}
		if legacy.take(c) {
			return nil
		}
		s := summarize(&c)
		s.anchor = cs.arena.string(c.Anchor)
		cs.sums.add(s)
		if cs.managed != nil {
			cs.managed.add(&c, s.anchor)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load checkpoints: %w", err)
	}
	// Stores return checkpoints in their own order (a collation may not be
	// Go's byte order): sort here. Sorted input costs one pass.
	cs.sums.sortBy(func(a, b *summary) bool { return a.anchor < b.anchor })
	cs.renames = legacy.settle(cs)
	if cs.managed != nil {
		cs.managed.seal()
	}
	cs.total = cs.sums.len()
	return cs, nil
}

// loadChanged loads, for a delta read, only the checkpoints of the anchors
// the read carried (mapped, rejected, out of scope or deleted), whole, and
// takes the rest from counts (state.CheckpointCounter): a delta run costs
// in proportion to its changes, not to the job's size. An anchor the read
// did not carry gets no operation in a delta run (absentAction), so this
// plans what loading every checkpoint would. The caller makes sure the
// job's checkpoints are all keyed by normalised anchors (splitCursor): an
// unnormalised one would not be found under the anchor the read carries.
func (e *Engine) loadChanged(ctx context.Context, job string, rd *readResult, counts state.CheckpointCounts) (*checkpoints, error) {
	anchors := make([]string, 0, rd.desired.len()+len(rd.rejected)+len(rd.outOfScope)+len(rd.deleted))
	for i := 0; i < rd.desired.len(); i++ {
		anchors = append(anchors, rd.desired.at(i).anchor())
	}
	for _, m := range []map[string]bool{rd.outOfScope, rd.deleted} {
		for a := range m {
			anchors = append(anchors, a)
		}
	}
	for a := range rd.rejected {
		anchors = append(anchors, a)
	}
	slices.Sort(anchors)
	anchors = slices.Compact(anchors)
	if len(anchors) > 0 && anchors[0] == "" {
		anchors = anchors[1:]
	}

	cs := &checkpoints{full: map[string]*state.Checkpoint{}, total: counts.Total, active: counts.Active}
	conflicts := 0
	if len(anchors) > 0 && counts.Total > 0 {
		err := e.Store.CheckpointsFor(ctx, job, anchors, func(c state.Checkpoint) error {
			if _, dup := cs.full[c.Anchor]; dup {
				return nil
			}
			s := summarize(&c)
			s.anchor = cs.arena.string(c.Anchor)
			cs.sums.add(s)
			cs.full[c.Anchor] = &c
			if c.Status == state.StatusConflict {
				conflicts++
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("load the checkpoints of %d anchors: %w", len(anchors), err)
		}
	}
	cs.sums.sortBy(func(a, b *summary) bool { return a.anchor < b.anchor })
	// The job lock keeps other writers out between the count and the
	// load; a dry run holds no lock, so a concurrent run may make the two
	// disagree by what it wrote meanwhile: never below zero.
	cs.unloaded = max(0, counts.Total-cs.sums.len())
	cs.unloadedConflicts = max(0, counts.Conflicts-conflicts)
	return cs, nil
}

// pairing is, for each record (by index), its checkpoint held whole, or
// that it is unchanged, or neither (no checkpoint: new); and the
// checkpoints of the anchors the read did not carry that the plan needs,
// in anchor order. Skipped counts the anchors that need nothing and get
// no operation: records unchanged, anchors absent whose users stay as
// they are (SkippedConflicts of them in conflict).
type pairing struct {
	of               []*state.Checkpoint // nil when no record has one: see checkpoint
	unchanged        []bool
	gone             []*state.Checkpoint
	skipped          int
	skippedConflicts int
	skippedRecords   int // of skipped: records unchanged
}

// checkpoint returns record i's checkpoint held whole, or nil.
func (p *pairing) checkpoint(i int) *state.Checkpoint {
	if p.of == nil {
		return nil
	}
	return p.of[i]
}

// pair merges the records (in.desired) and the checkpoint summaries, both
// sorted by anchor, and fetches the checkpoints the plan needs whole.
func (e *Engine) pair(ctx context.Context, job string, in diffInput, cs *checkpoints) (pairing, error) {
	recs := in.desired
	n := recs.len()
	p := pairing{unchanged: make([]bool, n), skipped: cs.unloaded, skippedConflicts: cs.unloadedConflicts}
	type want struct {
		rec    int // -1: an anchor the read did not carry
		anchor string
	}
	var wants []want
	absent := func(s *summary) {
		if acts, _ := absentAction(s.anchor, s.flags&sumUser != 0, s.flags&sumEnabled != 0, s.flags&sumMayExist != 0, in); acts.Has(ActNoop) {
			p.skipped++
			if s.flags&sumConflict != 0 {
				p.skippedConflicts++
			}
			return
		}
		wants = append(wants, want{-1, s.anchor})
	}
	j := 0
	for i := 0; i < n; i++ {
		r := recs.at(i)
		a := r.anchor()
		for ; j < cs.sums.len() && cs.sums.at(j).anchor < a; j++ {
			absent(cs.sums.at(j))
		}
		if j < cs.sums.len() && cs.sums.at(j).anchor == a {
			if s := cs.sums.at(j); r.unchangedFrom(s) {
				p.unchanged[i] = true
				p.skipped++
				p.skippedRecords++
			} else {
				wants = append(wants, want{i, s.anchor})
			}
			j++
		}
	}
	for ; j < cs.sums.len(); j++ {
		absent(cs.sums.at(j))
	}

	var fetch []string
	for _, w := range wants {
		if _, ok := cs.full[w.anchor]; !ok {
			fetch = append(fetch, w.anchor)
		}
	}
	if len(fetch) > 0 {
		err := e.Store.CheckpointsFor(ctx, job, fetch, func(c state.Checkpoint) error {
			cs.full[c.Anchor] = &c
			return nil
		})
		if err != nil {
			return pairing{}, fmt.Errorf("load %d checkpoints: %w", len(fetch), err)
		}
	}
	for _, w := range wants {
		cp, ok := cs.full[w.anchor]
		if !ok {
			return pairing{}, fmt.Errorf("load checkpoints: the checkpoint of anchor %q disappeared during the run (another syncd process changed this job's state): run again", w.anchor)
		}
		if w.rec >= 0 {
			if p.of == nil {
				p.of = make([]*state.Checkpoint, n)
			}
			p.of[w.rec] = cp
		} else {
			p.gone = append(p.gone, cp)
		}
	}
	return p, nil
}
