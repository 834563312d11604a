package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/syncd/syncd/config"
)

// The watch keys take their defaults when left out; watch_debounce: 0
// stays 0; bad values are refused naming their path.
func TestWatchSettings(t *testing.T) {
	c, err := parse(t, minimal+"    watch: true\n", nil)
	if err != nil {
		t.Fatal(err)
	}
	want := config.Watching{Debounce: time.Second, Interval: 10 * time.Second, StaleAfter: 5 * time.Minute, GateWindow: time.Hour}
	if got := c.Jobs[0].WatchSettings(); !c.Jobs[0].Watch || got != want {
		t.Errorf("defaults: watch %v, %+v; want %+v", c.Jobs[0].Watch, got, want)
	}
	c, err = parse(t, minimal+"    watch: true\n    watch_debounce: 0s\n    watch_gate_window: 0s\n    watch_interval: 2s\n", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Jobs[0].WatchSettings(); got.Debounce != 0 || got.GateWindow != 0 || got.Interval != 2*time.Second {
		t.Errorf("explicit values: %+v", got)
	}
	_, err = parse(t, minimal+"    watch_debounce: -1s\n    watch_interval: 100ms\n    watch_stale_after: 0s\n    watch_gate_window: 10000h\n", nil)
	for _, w := range []string{"jobs[hr].watch_debounce: want 0..1h", "jobs[hr].watch_interval: want 1s..24h",
		"jobs[hr].watch_stale_after: must be longer than 0", "jobs[hr].watch_gate_window: want 0..720h"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("err = %v, want %q", err, w)
		}
	}
}

// A bad source.ldap.watch_method is refused naming its path.
func TestWatchMethodPath(t *testing.T) {
	ldap := strings.Replace(minimal, "      csv: {path: people.csv, key: id}",
		"      ldap: {url: ldaps://dc.example, base_dn: \"DC=example\", anchor: objectGUID, watch_method: %s}", 1)
	if _, err := parse(t, strings.Replace(ldap, "%s", "notify", 1)+"    watch: true\n", nil); err != nil {
		t.Fatalf("watch_method notify: %v", err)
	}
	_, err := parse(t, strings.Replace(ldap, "%s", "push", 1)+"    watch: true\n", nil)
	if want := `jobs[hr].source.ldap.watch_method: "push": want auto, notify or poll`; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("err = %v, want %q", err, want)
	}
}
