package main

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestRevertPlanSavedThenApplied(t *testing.T) {
	h := newHarness(t, csvSource(), "")
	h.writeCSV(rows(3)...)
	h.expect(ExitOK, "sync")
	h.writeCSV(row(0), strings.Replace(row(1), "Given1", "Renamed", 1)) // run 2: e002 leaves, e001 renamed
	h.expect(ExitOK, "sync")
	byExt := func() map[string]map[string]any {
		out := map[string]map[string]any{}
		for _, u := range h.emu.Users() {
			out[u["externalId"].(string)] = u
		}
		return out
	}

	plan := filepath.Join(h.dir, "revert.json")
	out := h.expect(ExitOK, "revert", "2", "--out", plan)
	if !strings.Contains(out, "e002") || !strings.Contains(out, "e001") || !strings.Contains(out, "revert of run 2") {
		t.Errorf("revert plan does not list e001 and e002:\n%s", out)
	}
	if byExt()["e002"]["enabled"] != false {
		t.Fatal("syncd revert wrote to PingOne")
	}
	h.expect(ExitOK, "apply", plan)
	us := byExt()
	if us["e002"]["enabled"] != true || us["e001"]["name"].(map[string]any)["given"] != "Given1" {
		t.Errorf("after applying the revert: e002 enabled=%v, e001 name=%v", us["e002"]["enabled"], us["e001"]["name"])
	}
	// Applied once, the plan no longer holds (the revert changed those users).
	h.expect(ExitFailed, "apply", plan)
	// Users refused are a standing problem of the revert: exit 4, as rejects.
	out = h.expect(ExitRejected, "revert", "2")
	if !strings.Contains(out, "changed again by run 3") {
		t.Errorf("second revert plan does not refuse the users the first reverted:\n%s", out)
	}

	h.expect(ExitUsage, "revert", "2", "--job", "other")
	h.expect(ExitUsage, "revert", "two")
	h.expect(ExitUsage, "revert")
	h.expect(ExitFailed, "revert", "99")
}
