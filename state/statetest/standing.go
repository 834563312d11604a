package statetest

import (
	"testing"

	"github.com/syncd/syncd/state"
)

// RunStanding runs the conformance suite of what a store keeps between
// runs besides plain checkpoints: the pending and gone statuses.
func RunStanding(t *testing.T, b Backend) {
	tests := []struct {
		name string
		fn   func(t *testing.T, b Backend)
	}{
		{"CheckpointsPendingAndGone", testPendingAndGone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.fn(t, b)
		})
	}
}

// A create's intent (pending, no user id yet) and a user deleted in
// PingOne (gone) are kept, counted and replaced like any checkpoint.
func testPendingAndGone(t *testing.T, b Backend) {
	s := b.Open(t)
	pending, gone := checkpoint(1), checkpoint(2)
	pending.UserID, pending.Hash, pending.Attributes, pending.Status = "", "", nil, state.StatusPending
	gone.UserID, gone.Status, gone.LastError = "", state.StatusGone, "deleted in PingOne outside syncd"
	save(t, s, "job", []state.Checkpoint{pending, gone, checkpoint(4)})
	expect(t, s, "job", []state.Checkpoint{pending, gone, checkpoint(4)})
	counts, err := s.CountByStatus(ctx(t), "job")
	if err != nil {
		t.Fatal(err)
	}
	if counts[state.StatusPending] != 1 || counts[state.StatusGone] != 1 || counts[state.StatusActive] != 1 {
		t.Errorf("CountByStatus = %v", counts)
	}
	// The create's outcome replaces its intent.
	done := pending
	done.UserID, done.Status, done.Hash = "7f3c0001-0000-4000-8000-000000000001", state.StatusActive, "h1"
	save(t, s, "job", []state.Checkpoint{done})
	expect(t, s, "job", []state.Checkpoint{done, gone, checkpoint(4)})
}
