package config_test

import (
	"strings"
	"testing"
	"time"
)

func TestDeprovisionDeleteAfterIsOffByDefaultAndReadsDaysAndYears(t *testing.T) {
	c, err := parse(t, minimal, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d := c.Jobs[0].Deprovision.DeleteAfter; d != nil {
		t.Errorf("delete_after defaults to %v, want never (nil)", *d)
	}
	if s := c.Jobs[0].Safety; s.MaxDeletes != 50 || s.MaxDeletePercent != 5 {
		t.Errorf("safety.max_deletes/max_delete_percent default to %d/%g, want 50/5", s.MaxDeletes, s.MaxDeletePercent)
	}
	for in, want := range map[string]time.Duration{"180d": 180 * 24 * time.Hour, "2y": 730 * 24 * time.Hour, "26w": 182 * 24 * time.Hour} {
		c, err := parse(t, minimal+"    deprovision: {delete_after: "+in+"}\n    safety: {max_deletes: 0, max_delete_percent: 1.5}\n", nil)
		if err != nil {
			t.Fatalf("delete_after %s: %v", in, err)
		}
		if got := c.Jobs[0].Deprovision.DeleteAfter; got == nil || got.Duration() != want {
			t.Errorf("delete_after %s = %v, want %v", in, got, want)
		}
		if s := c.Jobs[0].Safety; s.MaxDeletes != 0 || s.MaxDeletePercent != 1.5 {
			t.Errorf("explicit max_deletes 0 / max_delete_percent 1.5 read as %d/%g", s.MaxDeletes, s.MaxDeletePercent)
		}
	}
	for in, want := range map[string]string{
		"{delete_after: 0d}":   "jobs[hr].deprovision.delete_after: must be longer than 0",
		"{delete_after: soon}": "soon",
		"{delete_afte: 30d}":   "delete_afte",
	} {
		_, err := parse(t, minimal+"    deprovision: "+in+"\n", nil)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("deprovision %s: err = %v, want one naming %q", in, err, want)
		}
	}
	_, err = parse(t, minimal+"    safety: {max_deletes: -1, max_delete_percent: 101}\n", nil)
	for _, want := range []string{"jobs[hr].safety.max_deletes: must not be negative", "jobs[hr].safety.max_delete_percent: want 0..100"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v, want %q", err, want)
		}
	}
}
