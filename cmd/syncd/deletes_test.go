package main

import (
	"strings"
	"testing"
	"time"

	"github.com/syncd/syncd/sink/pingone"
	"github.com/syncd/syncd/state"
)

// deprovision.delete_after through the CLI: the delete gate (exit 3), its
// own override, the plan's delete line and summary column, and a revert
// of the delete run refusing it (exit 4).
func TestDeleteAfterGateOverrideAndRevert(t *testing.T) {
	// 1ns: the grace period has passed by the next run (a fake clock is
	// the reconcile tests' business; this is the CLI's).
	h := newHarness(t, csvSource(), "    deprovision: {delete_after: 1ns}\n")
	h.writeCSV(rows(3)...)
	h.expect(ExitOK, "sync")
	h.writeCSV(row(0), row(1)) // e002 leaves: disabled
	h.expect(ExitOK, "sync")
	users := func() map[string]bool {
		out := map[string]bool{}
		for _, u := range h.emu.Users() {
			out[u["externalId"].(string)] = true
		}
		return out
	}

	// 1 delete of 3 managed users passes max_delete_percent=5 from the
	// floor of 1 (the harness's max_disable_percent_floor): the gate trips.
	// A delta read (the file is unchanged) never deletes.
	if out := h.expect(ExitOK, "sync"); !strings.Contains(out, "delta read") {
		t.Fatalf("want a delta read:\n%s", out)
	}
	out := h.expect(ExitGated, "sync", "--full")
	if !strings.Contains(out, "1 deletes planned") || !strings.Contains(out, "safety.max_delete_percent=5") || !users()["e002"] {
		t.Fatalf("delete gate: e002 present=%v, output:\n%s", users()["e002"], out)
	}
	h.expect(ExitGated, "sync", "--full", "--allow-mass-adoption")
	out = h.expect(ExitOK, "plan", "--full", "--allow-mass-delete")
	if !strings.Contains(out, "x delete") || !strings.Contains(out, "e002") || !strings.Contains(out, "deprovision.delete_after=") {
		t.Errorf("plan does not list the delete of e002:\n%s", out)
	}
	out = h.expect(ExitOK, "sync", "--full", "--allow-mass-delete")
	if users()["e002"] || !users()["e001"] {
		t.Fatalf("after sync --allow-mass-delete PingOne holds %v", users())
	}
	if !strings.Contains(out, "deleted") {
		t.Errorf("the summary has no deleted column:\n%s", out)
	}
	if out := h.expect(ExitOK, "status"); !strings.Contains(out, "deleted 1") {
		t.Errorf("syncd status does not show the run's delete:\n%s", out)
	}
	// The revert of the delete run refuses it: exit 4, listed.
	out = h.expect(ExitRejected, "revert", "6")
	if !strings.Contains(out, "e002") || !strings.Contains(out, "cannot be undone") {
		t.Errorf("revert of the delete run:\n%s", out)
	}
	// Back in the source: created again.
	h.writeCSV(rows(3)...)
	out = h.expect(ExitOK, "sync")
	if !users()["e002"] || !strings.Contains(out, "created again") {
		t.Errorf("e002 back in the source: present=%v\n%s", users()["e002"], out)
	}
}

// A rebuilt state cannot know when syncd disabled a user: the grace period
// of a disabled user counts from the rebuild, an enabled one has none.
func TestRebuiltDisabledUserCountsItsGracePeriodFromTheRebuild(t *testing.T) {
	now := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	off := rebuiltCheckpoint(pingone.User{ID: "u1", Attributes: map[string]string{"username": "a"}}, "e001", nil, now)
	on := rebuiltCheckpoint(pingone.User{ID: "u2", Enabled: true, Attributes: map[string]string{"username": "b"}}, "e002", nil, now)
	if !off.DisabledAt.Equal(now) || off.Status != state.StatusDisabled || !on.DisabledAt.IsZero() {
		t.Errorf("rebuilt: disabled %+v, enabled %+v", off, on)
	}
}
