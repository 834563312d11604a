package main

import (
	"strings"
	"testing"
	"time"
)

func TestPlanUntilListsUpcomingDateTransitions(t *testing.T) {
	h := newHarness(t, csvSource(), `    enabled: sn == "Family" || daysUntil(sn) <= 0`)
	start := time.Now().AddDate(0, 0, 3).Format("2006-01-02")
	h.writeCSV(row(0), strings.Replace(row(1), "Family", start, 1))
	until := time.Now().AddDate(0, 0, 10).Format("2006-01-02")
	out := h.expect(ExitOK, "plan", "--until", until)
	if !strings.Contains(out, start+"  anchor=e001 user001: enabled false -> true") {
		t.Errorf("plan --until does not list e001's start date:\n%s", out)
	}
	if strings.Contains(out, "anchor=e000 user000: enabled") {
		t.Errorf("plan --until lists a user the dates do not change:\n%s", out)
	}
	h.expect(ExitUsage, "plan", "--until", "soon")
}
