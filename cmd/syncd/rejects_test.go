package main

import (
	"strings"
	"testing"
)

// Rejects stand: a delta run that reads no record still exits 4 while a
// reject stands, `syncd status` lists it, and the exit is 0 once the
// source fixes it.
func TestStandingRejectsExit4UntilFixed(t *testing.T) {
	h := newHarness(t, csvSource(), "    full_every: 24h\n")
	h.writeCSV(append(rows(3), "e900,ok900,broken-email,A,B")...)
	h.expect(ExitRejected, "sync")
	out := h.expect(ExitRejected, "sync") // the same file: a delta read of nothing
	if !strings.Contains(out, "1 more records stand rejected") {
		t.Errorf("the delta run does not say a reject stands:\n%s", out)
	}
	out = h.expect(ExitOK, "status")
	if !strings.Contains(out, "1 rejected") || !strings.Contains(out, "e900 email") {
		t.Errorf("status does not list the standing reject:\n%s", out)
	}
	h.writeCSV(append(rows(3), "e900,ok900,ok900@example.com,A,B")...)
	h.expect(ExitOK, "sync")
	if out = h.expect(ExitOK, "status"); !strings.Contains(out, "0 rejected") {
		t.Errorf("status after the fix:\n%s", out)
	}
}
