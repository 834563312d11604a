package config_test

import (
	"strings"
	"testing"
)

// A safety key set to 0 means 0; only a key left out takes its default.
func TestExplicitZeroSafetyKeysAreHonoured(t *testing.T) {
	c, err := parse(t, minimal+"    safety: {max_disables: 0, max_failures: 0, max_disable_percent_floor: 0, max_adoptions: 0}\n", nil)
	if err != nil {
		t.Fatal(err)
	}
	s := c.Jobs[0].Safety
	if s.MaxDisables != 0 || s.MaxFailures.IsPct || s.MaxFailures.Count != 0 || s.MaxDisablePercentFloor != 0 || s.MaxAdoptions != 0 {
		t.Errorf("explicit zeros replaced: %+v", s)
	}
	if s.MaxDisablePercent != 10 || s.MaxFailuresFloor != 3 {
		t.Errorf("unset keys did not take their defaults: %+v", s)
	}

	c, err = parse(t, minimal, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s := c.Jobs[0].Safety; s.MaxDisables != 500 || s.MaxFailures.String() != "5%" || s.MaxAdoptions != 100 ||
		s.MaxDisablePercentFloor != 10 || s.MaxFailuresFloor != 3 {
		t.Errorf("defaults: %+v", s)
	}
}

func TestSafetyBlockRefusesUnknownKeysAndNegatives(t *testing.T) {
	_, err := parse(t, minimal+"    safety: {max_disabled: 3}\n", nil)
	if err == nil || !strings.Contains(err.Error(), "unknown key max_disabled") {
		t.Errorf("unknown key: err = %v", err)
	}
	_, err = parse(t, minimal+"    safety: {max_adoptions: -1, max_failures_floor: -2}\n", nil)
	for _, want := range []string{"jobs[hr].safety.max_adoptions: must not be negative", "jobs[hr].safety.max_failures_floor: must not be negative"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v, want %q", err, want)
		}
	}
}
