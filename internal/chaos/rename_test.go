package chaos

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/syncd/syncd/sink/pingone/pingonetest"
)

// TestKill9DuringCreatesThenRenameCreatesNoDuplicate kills `syncd sync`
// with SIGKILL while it creates joiners (so that some creates reached
// PingOne but not their checkpoint), then renames every joiner in the
// export before the next run. Username uniqueness cannot catch that: only
// the intent recorded before each POST and the look-up by externalId it
// calls for keep one anchor one PingOne user.
func TestKill9DuringCreatesThenRenameCreatesNoDuplicate(t *testing.T) {
	trials := pick(2, 12)
	n, joiners := pick(30, 120), pick(40, 200)
	r := rng(t)
	for trial := 0; trial < trials; trial++ {
		seed := r.Uint64()
		t.Run(fmt.Sprintf("trial%02d", trial), func(t *testing.T) {
			h := newHarness(t, harnessConfig{
				emu:     pingonetest.Options{Latency: 3 * time.Millisecond, Seed: int64(seed%1000) + 1},
				pingone: "  rate_limit: 200\n  concurrency: 4",
				job:     "    batch_size: 16\n    safety: {max_disables: 100000, max_disable_percent: 100}",
			})
			all := people(n)
			h.writeCSV(all)
			h.syncUntilOK(1) // the job manages the first n: later runs do not list PingOne

			all = append(all, people(n + joiners)[n:]...)
			h.writeCSV(all)
			k := 1 + int(seed%uint64(joiners-1))
			if k%16 == 0 {
				k++ // not on a batch boundary: some creates are not checkpointed
			}
			h.killAfterWrites(k)

			for i := n; i < len(all); i++ {
				all[i].uid += "x"
			}
			h.writeCSV(all)
			h.syncUntilOK(3)
			checkConverged(t, h.emu, all, nil)
			checkStateAgrees(t, h.emu, filepath.Join(h.dir, "state.db"), "people")
		})
	}
}
