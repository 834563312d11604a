package reconcile_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/syncd/syncd/reconcile"
)

// TestNestedAttributeUpdateIsOneRequest: a change of name.given is one
// PATCH (SCIM form) touching that member alone; name.middle, set by an
// admin and not managed by syncd, survives.
func TestNestedAttributeUpdateIsOneRequest(t *testing.T) {
	e := newEnv(t, "sqlite")
	e.mustRun(reconcile.Options{})
	id := e.users()["id-d"]["id"].(string)
	if err := e.emu.EditUser(id, map[string]any{"name": map[string]any{"given": "GivenD", "family": "Family", "middle": "Admin-Set"}}); err != nil {
		t.Fatal(err)
	}
	rows := people(10)
	rows[3][3] = "Dorothea"
	e.write(rows)
	e.rec.take()
	rep := e.mustRun(reconcile.Options{})
	if rep.Counts.Updated != 1 {
		t.Fatalf("counts %+v", rep.Counts)
	}
	calls := e.rec.take()
	if len(calls) != 1 || calls[0].Method != http.MethodPatch || !strings.Contains(calls[0].Body, `"Operations"`) ||
		!strings.Contains(calls[0].Body, `"path":"name.given"`) || strings.Contains(calls[0].Body, "family") {
		t.Fatalf("calls = %+v, want one SCIM PATCH of name.given alone", calls)
	}
	name := e.users()["id-d"]["name"].(map[string]any)
	if name["given"] != "Dorothea" || name["middle"] != "Admin-Set" || name["family"] != "Family" {
		t.Errorf("name = %v, want given changed and the rest kept", name)
	}
}
