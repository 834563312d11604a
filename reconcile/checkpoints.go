package reconcile

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/syncd/syncd/state"
)

// checkpoints holds a job's checkpoints as one run loaded them: in fixed
// blocks rather than one allocation each, listed in anchor order rather
// than in a map, so that pairing them with the records (also in anchor
// order) is a single merge.
type checkpoints struct {
	blocks [][]state.Checkpoint
	list   []*state.Checkpoint // sorted by anchor once loaded
	// active counts the users syncd created or adopted and has enabled:
	// the safety gate's base.
	active int
}

func (e *Engine) loadCheckpoints(ctx context.Context, job string) (*checkpoints, error) {
	cs := &checkpoints{}
	// A job has a handful of populations and statuses: one copy of each,
	// not one per checkpoint.
	shared := map[string]string{}
	intern := func(s string) string {
		if v, ok := shared[s]; ok {
			return v
		}
		shared[s] = s
		return s
	}
	err := e.Store.Checkpoints(ctx, job, func(c state.Checkpoint) error {
		c.PopulationID, c.Status = intern(c.PopulationID), state.Status(intern(string(c.Status)))
		if len(cs.list)%blockSize == 0 {
			cs.blocks = append(cs.blocks, make([]state.Checkpoint, 0, blockSize))
		}
		b := &cs.blocks[len(cs.blocks)-1]
		*b = append(*b, c)
		cs.list = append(cs.list, &(*b)[len(*b)-1])
		if c.UserID != "" && c.Enabled {
			cs.active++
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load checkpoints: %w", err)
	}
	// Stores return checkpoints in their own order (a collation may not be
	// Go's byte order): sort here. Already sorted input costs one pass.
	slices.SortFunc(cs.list, func(a, b *state.Checkpoint) int { return strings.Compare(a.Anchor, b.Anchor) })
	return cs, nil
}

func (c *checkpoints) len() int { return len(c.list) }

// pairing is, for each record (by index), its checkpoint or nil, and the
// checkpoints of anchors no record carries, in anchor order.
type pairing struct {
	of   []*state.Checkpoint
	gone []*state.Checkpoint
}

// pair merges the records and the checkpoints, both sorted by anchor.
func pair(recs *records, cps *checkpoints) pairing {
	p := pairing{of: make([]*state.Checkpoint, recs.len())}
	j := 0
	for i := 0; i < recs.len(); i++ {
		a := recs.at(i).anchor
		for j < len(cps.list) && cps.list[j].Anchor < a {
			p.gone = append(p.gone, cps.list[j])
			j++
		}
		if j < len(cps.list) && cps.list[j].Anchor == a {
			p.of[i] = cps.list[j]
			j++
		}
	}
	p.gone = append(p.gone, cps.list[j:]...)
	return p
}
