package statetest

import (
	"fmt"
	"testing"

	"github.com/syncd/syncd/state"
)

// RunCounts checks state.CheckpointCounter against the checkpoints
// themselves through every way they change: saved new, saved over
// (enabled, status and user id changing), deleted, renamed
// (state.Owners), in two jobs that must not mix.
func RunCounts(t *testing.T, b Backend) {
	t.Parallel()
	s := b.Open(t)
	cc, ok := s.(state.CheckpointCounter)
	if !ok {
		t.Fatalf("%T does not implement state.CheckpointCounter", s)
	}
	check := func(step string) {
		t.Helper()
		for _, job := range []string{"hr", "it", "none"} {
			var want state.CheckpointCounts
			for _, cp := range all(t, s, job) {
				want.Total++
				if cp.UserID != "" && cp.Enabled {
					want.Active++
				}
				if cp.Status == state.StatusConflict {
					want.Conflicts++
				}
			}
			got, err := cc.CountCheckpoints(ctx(t), job)
			if err != nil {
				t.Fatalf("%s: CountCheckpoints(%s): %v", step, job, err)
			}
			if got != want {
				t.Errorf("%s: CountCheckpoints(%s) = %+v, want %+v", step, job, got, want)
			}
		}
	}
	check("empty")

	var hr, it []state.Checkpoint
	for i := range 600 { // more than one batch of the SQLite backend
		hr = append(hr, checkpoint(i))
		if i%5 == 0 {
			cp := checkpoint(i)
			cp.UserID = fmt.Sprintf("it-%d", i)
			it = append(it, cp)
		}
	}
	for i := range hr {
		if i%7 == 0 {
			hr[i].UserID = "" // a create that failed: never active
			hr[i].Enabled = true
		}
	}
	save := func(job string, cps []state.Checkpoint) {
		t.Helper()
		if err := s.SaveCheckpoints(ctx(t), job, cps); err != nil {
			t.Fatalf("SaveCheckpoints(%s): %v", job, err)
		}
	}
	save("hr", hr)
	save("it", it)
	check("saved")

	// Saved over: every third disabled, every fourth in conflict without
	// a user, one newly created.
	var again []state.Checkpoint
	for i := 0; i < len(hr); i += 3 {
		cp := hr[i]
		cp.Enabled = false
		again = append(again, cp)
	}
	for i := 1; i < len(hr); i += 4 {
		cp := hr[i]
		cp.Status, cp.UserID = state.StatusConflict, ""
		again = append(again, cp)
	}
	again = append(again, checkpoint(10_000))
	save("hr", again)
	check("saved over")

	var gone []string
	for i := 0; i < len(hr); i += 2 {
		gone = append(gone, hr[i].Anchor)
	}
	if err := s.DeleteCheckpoints(ctx(t), "hr", gone); err != nil {
		t.Fatalf("DeleteCheckpoints: %v", err)
	}
	check("deleted")

	if o, ok := s.(state.Owners); ok {
		renames := map[string]string{hr[1].Anchor: "moved-1", hr[3].Anchor: hr[5].Anchor} // the second replaces one
		if err := o.RenameAnchors(ctx(t), "hr", renames); err != nil {
			t.Fatalf("RenameAnchors: %v", err)
		}
		check("renamed")
	}
}
