package reconcile_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/syncd/syncd/reconcile"
	"github.com/syncd/syncd/state"
)

// journalOf returns the journal entries of one run, by anchor.
func journalOf(t *testing.T, st state.Store, run int64) map[string][]state.JournalEntry {
	t.Helper()
	j, ok := st.(state.Journal)
	if !ok {
		t.Fatalf("%T keeps no journal", st)
	}
	out := map[string][]state.JournalEntry{}
	err := j.JournalEntries(context.Background(), state.JournalFilter{RunID: run}, func(e state.JournalEntry) error {
		out[e.Anchor] = append(out[e.Anchor], e)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func values(t *testing.T, b []byte) map[string]any {
	t.Helper()
	if b == nil {
		return nil
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("journal value %s: %v", b, err)
	}
	return m
}

func TestJournalRecordsEveryWriteWithBeforeAndAfter(t *testing.T) {
	backends(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend)
		e.job.Match = []string{reconcile.MatchExternalID}
		rep := e.mustRun(reconcile.Options{})
		created := journalOf(t, e.store, rep.RunID)
		if len(created) != 10 {
			t.Fatalf("journal of the initial sync has %d anchors, want 10", len(created))
		}
		us := e.users()
		a := created["id-a"]
		if len(a) != 1 || a[0].Op != state.OpCreate || a[0].Status != 201 || a[0].UserID != us["id-a"]["id"] ||
			a[0].Job != "hr" || a[0].Before != nil || a[0].At.IsZero() || a[0].Error != "" {
			t.Errorf("create of id-a journaled as %+v", a)
		}
		after := values(t, a[0].After)
		if attrs := after["attributes"].(map[string]any); attrs["username"] != "user.a" || attrs["externalId"] != "id-a" ||
			after["population_id"] != e.emu.PopulationID("Staff") || after["enabled"] != true {
			t.Errorf("create of id-a: after = %s", a[0].After)
		}
		// user.k's username is taken by a user syncd may not adopt: its
		// create fails, and the failure is journaled too.
		if _, err := e.emu.AddUser(map[string]any{"username": "user.k", "email": "other.k@example.com", "population": map[string]any{"id": e.emu.PopulationID("Default")}}); err != nil {
			t.Fatal(err)
		}
		rows := people(11)
		rows[0][5] = "Manager"                   // id-a: title changes
		rows[4][7] = "contract"                  // id-e moves
		rows[5][6] = "no"                        // id-f is disabled in the source
		e.write(append(rows[:2:2], rows[3:]...)) // id-c leaves; id-k is new
		rep, _ = e.run(reconcile.Options{})
		got := journalOf(t, e.store, rep.RunID)
		k := got["id-k"]
		if len(k) == 0 || k[0].Op != state.OpCreate || k[0].Status != 400 || k[0].Error == "" || k[0].CorrelationID == "" || k[0].Succeeded() {
			t.Errorf("failed create of id-k journaled as %+v", k)
		}
		delete(got, "id-k")
		check := func(anchor, op string, before, after string) {
			t.Helper()
			es := got[anchor]
			if len(es) != 1 {
				t.Errorf("%s: %d entries, want 1: %+v", anchor, len(es), es)
				return
			}
			en := es[0]
			if en.Op != op || en.Status/100 != 2 || en.UserID != us[anchor]["id"] || en.RunID != rep.RunID ||
				string(en.Before) != before || string(en.After) != after {
				t.Errorf("%s: entry %+v (before %s, after %s); want %s %s -> %s", anchor, en, en.Before, en.After, op, before, after)
			}
		}
		check("id-a", state.OpUpdate, `{"attributes":{"title":"Engineer"}}`, `{"attributes":{"title":"Manager"}}`)
		check("id-e", state.OpMove, `{"population_id":"`+e.emu.PopulationID("Staff")+`"}`, `{"population_id":"`+e.emu.PopulationID("Contractors")+`"}`)
		check("id-f", state.OpDisable, `{"enabled":true}`, `{"enabled":false}`)
		check("id-c", state.OpDisable, `{"enabled":true}`, `{"enabled":false}`)
		if len(got) != 4 {
			t.Errorf("journal of the second run names %d more anchors, want 4: %v", len(got), got)
		}
		if rep := e.mustRun(reconcile.Options{}); len(journalOf(t, e.store, rep.RunID)) != 0 {
			t.Errorf("a run that wrote nothing journaled something")
		}
	})
}
