package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// TestApplyUnderThePlansModes: a plan made with --verify (drift in it) or
// --full is applied under the same mode; without it the digest could never
// match while drift exists.
func TestApplyUnderThePlansModes(t *testing.T) {
	h := newHarness(t, csvSource(), "")
	h.writeCSV(rows(4)...)
	h.expect(ExitOK, "sync")
	var id string
	for _, u := range h.emu.Users() {
		if u["username"] == "user002" {
			id = u["id"].(string)
		}
	}
	if err := h.emu.EditUser(id, map[string]any{"name": map[string]any{"given": "Drifted", "family": "Family"}}); err != nil {
		t.Fatal(err)
	}
	plan := filepath.Join(h.dir, "plan.json")
	h.expect(ExitOK, "plan", "--verify", "--full", "--out", plan)
	b, err := os.ReadFile(plan)
	if err != nil {
		t.Fatal(err)
	}
	var head struct{ Full, Verify bool }
	if err := json.Unmarshal(b, &head); err != nil || !head.Full || !head.Verify {
		t.Fatalf("plan head %+v (%v): want full and verify recorded", head, err)
	}
	h.expect(ExitOK, "apply", plan)
	u, _ := h.emu.User(id)
	if g := u["name"].(map[string]any)["given"]; g != "Given2" {
		t.Errorf("after apply, name.given = %v: the drift was not repaired", g)
	}
}
