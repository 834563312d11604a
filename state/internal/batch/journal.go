package batch

import (
	"encoding/json"
	"fmt"

	"github.com/syncd/syncd/state"
)

// CheckEntries validates journal entries before they are written: each
// names its run, anchor, operation and time, and its before and after
// values, when set, are JSON.
func CheckEntries(entries []state.JournalEntry) error {
	for i, e := range entries {
		switch {
		case e.Anchor == "":
			return fmt.Errorf("journal entry %d: empty anchor", i)
		case e.Op == "":
			return fmt.Errorf("journal entry %d anchor=%s: empty op", i, e.Anchor)
		case e.RunID <= 0:
			return fmt.Errorf("journal entry %d anchor=%s: no run id", i, e.Anchor)
		case e.At.IsZero():
			return fmt.Errorf("journal entry %d anchor=%s: no time", i, e.Anchor)
		case e.Before != nil && !json.Valid(e.Before):
			return fmt.Errorf("journal entry %d anchor=%s: before is not JSON", i, e.Anchor)
		case e.After != nil && !json.Valid(e.After):
			return fmt.Errorf("journal entry %d anchor=%s: after is not JSON", i, e.Anchor)
		}
	}
	return nil
}
