package chaos

import (
	"fmt"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/syncd/syncd/sink/pingone/pingonetest"
)

// TestKill9DuringApplyConverges kills `syncd sync` with SIGKILL after a
// random number of writes, twice per trial (during the initial creates and
// during a run of updates, disables, enables and creates), then re-runs it:
// PingOne must end equal to the export with no duplicate, and state must
// agree with PingOne. A write PingOne committed whose checkpoint died with
// the process is found again by externalId, never created twice.
func TestKill9DuringApplyConverges(t *testing.T) {
	trials := pick(3, 20)
	n := pick(120, 300)
	r := rng(t)
	for trial := 0; trial < trials; trial++ {
		seed1, seed2 := r.Uint64(), r.Uint64()
		t.Run(fmt.Sprintf("trial%02d", trial), func(t *testing.T) {
			h := newHarness(t, harnessConfig{
				emu:     pingonetest.Options{Latency: 3 * time.Millisecond, Seed: int64(seed1%1000) + 1},
				pingone: "  rate_limit: 200\n  concurrency: 4",
				job:     "    batch_size: 16\n    safety: {max_disables: 100000, max_disable_percent: 100}",
			})
			all := people(n)
			h.writeCSV(all)
			h.killAfterWrites(1 + int(seed1%uint64(n-1)))
			h.syncUntilOK(3)
			checkConverged(t, h.emu, all, nil)
			checkStateAgrees(t, h.emu, filepath.Join(h.dir, "state.db"), "people")

			// The second export: edits, leavers, returners-to-be, joiners.
			want, gone := edit(all, seed2)
			h.writeCSV(want)
			total := changes(all, want, gone)
			h.killAfterWrites(1 + int(seed2%uint64(max(total-1, 1))))
			h.syncUntilOK(3)
			checkConverged(t, h.emu, want, gone)
			checkStateAgrees(t, h.emu, filepath.Join(h.dir, "state.db"), "people")
		})
	}
}

// killAfterWrites starts `syncd sync` and SIGKILLs it once PingOne has
// committed k more writes (or lets it finish if the run ends first).
func (h *harness) killAfterWrites(k int) {
	h.t.Helper()
	before := h.emu.Stats().Writes
	p := h.start("sync")
	deadline := time.Now().Add(2 * time.Minute)
	for {
		select {
		case <-p.done:
			h.t.Logf("the run ended (exit %d) before %d writes: nothing to kill", p.code, k)
			return
		default:
		}
		if h.emu.Stats().Writes-before >= k {
			break
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("no %d writes within 2m", k)
		}
		time.Sleep(time.Millisecond)
	}
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		h.t.Fatal(err)
	}
	<-p.done
	h.t.Logf("SIGKILL after %d writes (wanted %d)", h.emu.Stats().Writes-before, k)
}

// edit derives a second export from the first: a third get a new title,
// one in ten leaves, one in ten is disabled in the source, one in ten is
// renamed, and n/10 people join.
func edit(all []person, seed uint64) (want, gone []person) {
	s := seed
	next := func(n int) int {
		s = s*6364136223846793005 + 1442695040888963407
		return int((s >> 33) % uint64(n))
	}
	for _, p := range all {
		switch next(10) {
		case 0:
			gone = append(gone, p)
			continue
		case 1:
			p.active = "no"
		case 2:
			p.uid += "r"
			p.mail = "r." + p.mail
		}
		if next(3) == 0 {
			p.title = "Senior Engineer"
		}
		want = append(want, p)
	}
	for i := 0; i < len(all)/10; i++ {
		want = append(want, newPerson(len(all)+i))
	}
	return want, gone
}

// changes counts the writes the second export needs (roughly: one per
// changed, leaving or joining person), to pick a kill point inside them.
func changes(before, want, gone []person) int {
	old := map[string]person{}
	for _, p := range before {
		old[p.id] = p
	}
	n := len(gone)
	for _, p := range want {
		if o, ok := old[p.id]; !ok || o != p {
			n++
		}
	}
	return n
}
