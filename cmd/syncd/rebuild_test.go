package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// loseState removes the harness's SQLite state database.
func (h *harness) loseState() {
	h.t.Helper()
	matches, _ := filepath.Glob(filepath.Join(h.dir, "state.db*"))
	for _, m := range matches {
		if err := os.Remove(m); err != nil {
			h.t.Fatal(err)
		}
	}
}

// state rebuild claims only the users whose externalId the job's mapping
// produces from a current read of its source; another tool's user in the
// same population, carrying an externalId, is left alone. Without the
// source it refuses unless --force.
func TestRebuildClaimsOnlyUsersTheSourceProduces(t *testing.T) {
	h := newHarness(t, csvSource(), "")
	h.writeCSV(rows(5)...)
	h.expect(ExitOK, "sync")
	foreign, err := h.emu.AddUser(map[string]any{"username": "svc.backup", "email": "backup@example.com", "externalId": "other-tool-17",
		"population": map[string]any{"id": h.emu.PopulationID("Staff")}})
	if err != nil {
		t.Fatal(err)
	}

	h.loseState()
	out := h.expect(ExitOK, "state", "rebuild", "--job", "people")
	if !strings.Contains(out, "rebuilt 5 checkpoints") || !strings.Contains(out, "left 1 users alone whose externalId the job's mapping does not produce") {
		t.Fatalf("rebuild: %s", out)
	}
	// The next run leaves the foreign user as it is: never managed, never
	// disabled as absent from the source.
	h.expect(ExitOK, "sync")
	if u, _ := h.emu.User(foreign); u["enabled"] != true || u["username"] != "svc.backup" {
		t.Fatalf("the foreign user was touched: %v", u)
	}

	h.loseState()
	csv := filepath.Join(h.dir, "people.csv")
	if err := os.Rename(csv, csv+".away"); err != nil {
		t.Fatal(err)
	}
	code, out, errs := h.syncd("state", "rebuild", "--job", "people")
	if code != ExitFailed || !strings.Contains(errs, "--force") || !strings.Contains(errs, "nothing rebuilt") {
		t.Fatalf("rebuild without its source: exit %d\n%s%s", code, out, errs)
	}
	out = h.expect(ExitOK, "state", "rebuild", "--job", "people", "--force")
	if !strings.Contains(out, "rebuilt 6 checkpoints") {
		t.Fatalf("rebuild --force: %s", out)
	}
}
