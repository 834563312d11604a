package batch

import (
	"errors"
	"fmt"
	"time"

	"github.com/syncd/syncd/state"
)

// Prepare validates cps and returns them ready to write: when an anchor
// appears more than once the last occurrence wins (a set-based upsert cannot
// touch a row twice). cps itself is not modified.
func Prepare(cps []state.Checkpoint) ([]state.Checkpoint, error) {
	seen := make(map[string]int, len(cps))
	dups := false
	for i, cp := range cps {
		if cp.Anchor == "" {
			return nil, fmt.Errorf("checkpoint %d: %w", i, errors.New("empty anchor"))
		}
		if cp.Failures < 0 {
			return nil, fmt.Errorf("checkpoint %d anchor=%s: negative failures %d", i, cp.Anchor, cp.Failures)
		}
		if _, ok := seen[cp.Anchor]; ok {
			dups = true
		}
		seen[cp.Anchor] = i
	}
	if !dups {
		return cps, nil
	}
	out := make([]state.Checkpoint, 0, len(seen))
	for i, cp := range cps {
		if seen[cp.Anchor] == i {
			out = append(out, cp)
		}
	}
	return out, nil
}

// Dedupe returns anchors without repeats, keeping the first occurrence order.
func Dedupe(anchors []string) []string {
	seen := make(map[string]struct{}, len(anchors))
	out := anchors[:0:0]
	for _, a := range anchors {
		if _, ok := seen[a]; ok {
			continue
		}
		seen[a] = struct{}{}
		out = append(out, a)
	}
	return out
}

// Micros converts t to microseconds since the Unix epoch, the precision both
// backends keep; ok is false for the zero time (stored as NULL).
func Micros(t time.Time) (us int64, ok bool) {
	if t.IsZero() {
		return 0, false
	}
	return t.UnixMicro(), true
}

// FromMicros is the inverse of Micros, in UTC.
func FromMicros(us int64) time.Time {
	return time.UnixMicro(us).UTC()
}
