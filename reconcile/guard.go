package reconcile

import (
	"context"
	"fmt"
	"sync"
)

// firstDisable runs a check once, just before the first disable of a run
// is sent (the source's sources.Rechecker): a complete read can be
// overtaken by a change of the source while the run plans and applies, and
// disabling from a stale snapshot is what DESIGN invariant 1 forbids.
// Workers that reach a disable meanwhile wait for the one check.
type firstDisable struct {
	check func(context.Context) error
	once  sync.Once
	err   error
}

// allow returns nil when op may be sent: it is neither a disable nor a
// delete, there is no check, or the check passed.
func (g *firstDisable) allow(ctx context.Context, op *Op) error {
	if g == nil || g.check == nil || !(op.Has(ActDisable) || op.Has(ActDelete)) {
		return nil
	}
	g.once.Do(func() {
		if err := g.check(ctx); err != nil {
			g.err = fmt.Errorf("source changed since it was read, stopped before the first disable: %w", err)
		}
	})
	return g.err
}

// failed returns the check's error once it has run and failed.
func (g *firstDisable) failed() error {
	if g == nil {
		return nil
	}
	return g.err
}
