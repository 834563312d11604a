package reconcile_test

import (
	"context"
	"testing"

	"golang.org/x/text/unicode/norm"

	"github.com/syncd/syncd/mapper"
	"github.com/syncd/syncd/reconcile"
	"github.com/syncd/syncd/state"
)

// accented returns the fixture with non-ASCII anchors and department, in
// the normalisation form f.
func accented(f norm.Form) [][]string {
	rows := people(4)
	for i, r := range rows {
		r[0] = f.String("zoë-" + r[0])
		if i%2 == 0 {
			r[7] = f.String("Développement")
		}
	}
	return rows
}

func anchorsInState(t *testing.T, st state.Store) []string {
	t.Helper()
	var as []string
	if err := st.Checkpoints(context.Background(), "hr", func(c state.Checkpoint) error { as = append(as, c.Anchor); return nil }); err != nil {
		t.Fatal(err)
	}
	return as
}

// The same export written composed (NFC) one run and decomposed (NFD, as a
// macOS tool writes it) the next is the same people: one checkpoint and
// one PingOne user per anchor, the same population by a rule written in
// NFC, and nothing to do on the second run.
func TestAnchorsExportedNFCThenNFDAreOnePersonEach(t *testing.T) {
	backends(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend, func(c *mapper.Config) {
			c.Population.Rules[0].When = `dept == "Développement"`
		})
		e.write(accented(norm.NFC))
		rep := e.mustRun(reconcile.Options{})
		if rep.Counts.Created != 4 {
			t.Fatalf("first run: %+v", rep.Counts)
		}
		e.write(accented(norm.NFD))
		rep = e.mustRun(reconcile.Options{})
		if rep.Counts.Unchanged != 4 || rep.Counts.Created+rep.Counts.Disabled+rep.Counts.Moved+rep.Counts.Updated != 0 {
			t.Fatalf("NFD export of the same people: %+v %+v", rep.Counts, rep.Operations)
		}
		us := e.users()
		if len(us) != 4 || len(e.emu.Users()) != 4 {
			t.Fatalf("PingOne has %d users, want 4", len(e.emu.Users()))
		}
		for ext, u := range us {
			if !norm.NFC.IsNormalString(ext) {
				t.Errorf("externalId %q is not NFC", ext)
			}
			if u["enabled"] != true {
				t.Errorf("%s disabled", ext)
			}
		}
		if pop := us[norm.NFC.String("zoë-id-a")]["population"].(map[string]any)["id"]; pop != e.emu.PopulationID("Contractors") {
			t.Errorf("NFD department: population %v, want Contractors (the NFC rule)", pop)
		}
		for _, a := range anchorsInState(t, e.store) {
			if !norm.NFC.IsNormalString(a) {
				t.Errorf("state keys anchor %q, not NFC", a)
			}
		}
	})
}

// A checkpoint written under a decomposed anchor before anchors were
// normalised keeps its user: it moves to the normal form, and its record
// is neither created again nor its user disabled.
func TestCheckpointUnderAnUnnormalisedAnchorMovesToItsNormalForm(t *testing.T) {
	backends(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend)
		e.write(accented(norm.NFC))
		e.mustRun(reconcile.Options{})
		nfc, nfd := norm.NFC.String("zoë-id-b"), norm.NFD.String("zoë-id-b")
		if err := e.store.(state.Owners).RenameAnchors(context.Background(), "hr", map[string]string{nfc: nfd}); err != nil {
			t.Fatal(err)
		}
		e.write(accented(norm.NFD))
		plan := e.mustRun(reconcile.Options{DryRun: true})
		if plan.Counts.Unchanged != 4 {
			t.Fatalf("plan over a legacy anchor: %+v %+v", plan.Counts, plan.Operations)
		}
		rep := e.mustRun(reconcile.Options{})
		if rep.Counts.Unchanged != 4 || len(e.emu.Users()) != 4 {
			t.Fatalf("run over a legacy anchor: %+v, %d users", rep.Counts, len(e.emu.Users()))
		}
		as := anchorsInState(t, e.store)
		if len(as) != 4 {
			t.Fatalf("state holds %d checkpoints: %q", len(as), as)
		}
		for _, a := range as {
			if a == nfd {
				t.Errorf("the legacy anchor is still a state key")
			}
		}
	})
}
