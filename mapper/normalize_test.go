package mapper

import (
	"testing"

	"golang.org/x/text/unicode/norm"
)

// The same person exported composed (NFC) one day and decomposed (NFD, a
// macOS export) the next is one anchor and one outcome: the same scope,
// population and enabled flag, the same hash.
func TestNFDAndNFCExportsAreOnePersonWithOneOutcome(t *testing.T) {
	t.Parallel()
	cfg := baseConfig()
	cfg.Scope = `dept != "Sécurité"`
	cfg.Enabled = `status == "Employé"`
	cfg.Population = Population{Rules: []PopulationRule{
		{When: `site == "Zürich"`, Population: "Zurich"},
		{Population: "Elsewhere"},
	}}
	m := mustCompile(t, cfg)
	record := func(f norm.Form) Result {
		return m.Map(rec(f.String("Zoë-1001"), "uid", "zoe", "mail", "zoe@example.com", "givenname", f.String("Zoë"), "sn", "X",
			"dept", f.String("Développement"), "status", f.String("Employé"), "site", f.String("Zürich")))
	}
	nfc, nfd := record(norm.NFC), record(norm.NFD)
	if nfc.Outcome != Mapped || nfd.Outcome != Mapped {
		t.Fatalf("outcomes %v / %v (%+v)", nfc.Outcome, nfd.Outcome, nfd.Reject)
	}
	want := norm.NFC.String("Zoë-1001")
	if nfd.Desired.Anchor != want || nfc.Desired.Anchor != want {
		t.Errorf("anchors %q / %q, want the NFC form %q", nfc.Desired.Anchor, nfd.Desired.Anchor, want)
	}
	if nfd.Desired.Population != "Zurich" || !nfd.Desired.Enabled {
		t.Errorf("NFD record: population %q enabled %t, want Zurich, true (rules compare NFC literals)", nfd.Desired.Population, nfd.Desired.Enabled)
	}
	if nfd.Desired.Hash != nfc.Desired.Hash {
		t.Errorf("hashes differ: the two exports would be two changes")
	}

	out := m.Map(rec(norm.NFD.String("Zoë-1002"), "uid", "zoe2", "mail", "zoe2@example.com", "dept", norm.NFD.String("Sécurité")))
	if out.Outcome != OutOfScope || out.Desired.Anchor != norm.NFC.String("Zoë-1002") {
		t.Errorf("NFD out-of-scope record: %v anchor %q, want out of scope under the NFC anchor", out.Outcome, out.Desired.Anchor)
	}
	bad := m.Map(rec(norm.NFD.String("Zoë-1003"), "uid", "zoe3"))
	if bad.Outcome != Rejected || bad.Reject.Anchor != norm.NFC.String("Zoë-1003") {
		t.Errorf("NFD rejected record: %v anchor %q, want rejected under the NFC anchor", bad.Outcome, bad.Reject.Anchor)
	}
}

// Normalising never writes into the source's own slices.
func TestNormalizingLeavesTheSourceRecordAlone(t *testing.T) {
	t.Parallel()
	r := rec("a", "cn", norm.NFD.String("Zoë"), "cn", "plain")
	before := r.Attrs["cn"][0]
	got := normalizeRecord(r)
	if r.Attrs["cn"][0] != before || got.Attrs["cn"][0] != norm.NFC.String("Zoë") || got.Attrs["cn"][1] != "plain" {
		t.Errorf("source %q, normalised %q", r.Attrs["cn"], got.Attrs["cn"])
	}
}
