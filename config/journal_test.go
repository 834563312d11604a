package config_test

import (
	"strings"
	"testing"
	"time"
)

func TestJournalRetention(t *testing.T) {
	c, err := parse(t, minimal, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.State.Retention(); got != 400*24*time.Hour {
		t.Errorf("default journal_retention = %v, want 400 days", got)
	}
	c, err = parse(t, "state: {journal_retention: 90d}\n"+minimal, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.State.Retention(); got != 90*24*time.Hour {
		t.Errorf("journal_retention: 90d = %v", got)
	}
	for _, bad := range []string{"0d", "-5d", "ninety days"} {
		_, err := parse(t, "state: {journal_retention: "+bad+"}\n"+minimal, nil)
		if err == nil || !strings.Contains(err.Error(), "journal_retention") && !strings.Contains(err.Error(), bad) {
			t.Errorf("journal_retention: %s: err = %v, want one naming it", bad, err)
		}
	}
}
