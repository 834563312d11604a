package batch

import (
	"errors"
	"fmt"

	"github.com/syncd/syncd/state"
)

// PrepareRejects validates rs and returns them ready to write: when a key
// (state.RejectKey) repeats, its last occurrence wins. rs is not modified.
func PrepareRejects(rs []state.Reject) ([]state.Reject, error) {
	last := make(map[string]int, len(rs))
	for i, r := range rs {
		if r.Anchor == "" && r.Pos == "" {
			return nil, fmt.Errorf("reject %d: %w", i, errors.New("neither an anchor nor a position"))
		}
		if r.Reason == "" {
			return nil, fmt.Errorf("reject %d (%s): empty reason", i, state.RejectKey(r))
		}
		last[state.RejectKey(r)] = i
	}
	if len(last) == len(rs) {
		return rs, nil
	}
	out := make([]state.Reject, 0, len(last))
	for i, r := range rs {
		if last[state.RejectKey(r)] == i {
			out = append(out, r)
		}
	}
	return out, nil
}
