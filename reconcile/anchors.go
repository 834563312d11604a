package reconcile

import (
	"context"
	"fmt"

	"github.com/syncd/syncd/mapper"
	"github.com/syncd/syncd/state"
)

// Anchors are keyed in Unicode normalisation form C (mapper.NormalizeAnchor).
// A checkpoint written before that, under a decomposed anchor, would be
// "absent" from every read (and disabled) while its record came back as a
// new anchor. Loading moves such a checkpoint to its normal form: in memory
// for the plan, and in state (Owners.RenameAnchors) before a run writes,
// so that its user keeps one checkpoint under one key.

// legacyAnchors collects, while checkpoints load, those whose anchor is not
// in normal form.
type legacyAnchors struct {
	cps []state.Checkpoint
}

// take keeps c aside when its anchor is not normalised; it reports whether
// it did.
func (l *legacyAnchors) take(c state.Checkpoint) bool {
	if mapper.NormalizeAnchor(c.Anchor) == c.Anchor {
		return false
	}
	l.cps = append(l.cps, c)
	return true
}

// settle places the checkpoints kept aside into cs (its summaries sorted),
// and returns the renames they need in state. A checkpoint moves to its
// normal anchor unless a checkpoint there already holds a PingOne user (or
// it holds none itself): then it stays under its own anchor, where no read
// will carry it again, and a complete read disables its user as absent —
// that user is the duplicate the unnormalised anchor made.
func (l *legacyAnchors) settle(cs *checkpoints) map[string]string {
	if len(l.cps) == 0 {
		return nil
	}
	renames := map[string]string{}
	taken := map[string]bool{}
	var add []summary // added once the look-ups are done: sums stays sorted until then
	for i := range l.cps {
		c := l.cps[i]
		to := mapper.NormalizeAnchor(c.Anchor)
		k := cs.sums.search(func(s *summary) bool { return s.anchor >= to })
		exists := k < cs.sums.len() && cs.sums.at(k).anchor == to
		switch {
		case c.UserID != "" && !exists && !taken[to]:
			renames[c.Anchor], taken[to] = to, true
			c.Anchor = cs.arena.string(to)
			add = append(add, summarize(&c))
		case c.UserID != "" && exists && !taken[to] && cs.sums.at(k).flags&sumUser == 0:
			// The normal anchor holds only a create that never happened.
			renames[c.Anchor], taken[to] = to, true
			c.Anchor = cs.sums.at(k).anchor
			*cs.sums.at(k) = summarize(&c)
		default:
			c.Anchor = cs.arena.string(c.Anchor)
			add = append(add, summarize(&c))
		}
		cs.full[c.Anchor] = &c
		if cs.managed != nil {
			cs.managed.add(&c, c.Anchor)
		}
	}
	for _, s := range add {
		cs.sums.add(s)
	}
	cs.sums.sortBy(func(a, b *summary) bool { return a.anchor < b.anchor })
	return renames
}

// renameLegacyAnchors writes the renames settle planned, before the run
// writes anything under the new keys.
func (e *Engine) renameLegacyAnchors(ctx context.Context, job string, renames map[string]string) error {
	if len(renames) == 0 {
		return nil
	}
	o, ok := e.Store.(state.Owners)
	if !ok {
		return fmt.Errorf("move %d checkpoints to their normalised anchors: the state store cannot rename anchors", len(renames))
	}
	if err := o.RenameAnchors(ctx, job, renames); err != nil {
		return fmt.Errorf("move %d checkpoints to their normalised anchors: %w", len(renames), err)
	}
	return nil
}
