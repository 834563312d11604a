package main

import (
	"cmp"
	"fmt"
	"io"
	"slices"

	"github.com/syncd/syncd/reconcile"
)

// printTransitions lists a plan's upcoming date transitions (plan --until),
// by date then anchor.
func printTransitions(w io.Writer, r *reconcile.Report) {
	if len(r.Transitions) == 0 {
		return
	}
	slices.SortStableFunc(r.Transitions, func(a, b reconcile.Transition) int {
		return cmp.Or(cmp.Compare(a.Date, b.Date), cmp.Compare(a.Anchor, b.Anchor))
	})
	fmt.Fprintf(w, "  upcoming changes from the mapping's dates (source unchanged):\n")
	for _, t := range r.Transitions {
		fmt.Fprintf(w, "    %s  anchor=%s %s: %s\n", t.Date, t.Anchor, t.Username, t.Change)
	}
}
