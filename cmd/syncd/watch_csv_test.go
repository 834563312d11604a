package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestWatchCSVReplacedAndRewritten: `syncd run` watching a CSV export
// applies an export replaced by a rename (written beside, moved over) and
// one rewritten in place, each once it has settled.
func TestWatchCSVReplacedAndRewritten(t *testing.T) {
	addr := freePort(t)
	h := newHarness(t, "      csv: {path: people.csv, key: id, settle: 300ms}",
		"    watch: true\n    watch_debounce: 100ms\nhttp:\n  listen: "+addr+"\n")
	h.editConf(`schedule: "@every 1m"`, `schedule: "@every 24h"`) // only the watch applies
	h.writeCSV(rows(3)...)
	h.expect(ExitOK, "sync")
	p := h.start(t, nil, "run")
	eventually(t, 60*time.Second, "the csv watch to listen", func() bool {
		return strings.Contains(p.output(), "csv watch listening")
	})
	users := func() map[string]map[string]any {
		out := map[string]map[string]any{}
		for _, u := range h.emu.Users() {
			out[u["username"].(string)] = u
		}
		return out
	}

	// Replaced by a rename: a fourth row.
	tmp := filepath.Join(h.dir, ".people.csv.tmp")
	body := "id,uid,mail,givenName,sn\n" + strings.Join(rows(4), "\n") + "\n"
	if err := os.WriteFile(tmp, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(h.dir, "people.csv")); err != nil {
		t.Fatal(err)
	}
	eventually(t, 60*time.Second, "the renamed export's new user in PingOne", func() bool {
		_, ok := users()["user003"]
		return ok
	})

	// Rewritten in place (same inode): user001 renamed.
	f, err := os.OpenFile(filepath.Join(h.dir, "people.csv"), os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		t.Fatal(err)
	}
	body = strings.Replace(body, "Given1,", "Rewritten1,", 1)
	if _, err := f.WriteString(body); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	eventually(t, 60*time.Second, "the rewritten export's change in PingOne", func() bool {
		u, ok := users()["user001"]
		if !ok {
			return false
		}
		name, _ := u["name"].(map[string]any)
		return name["given"] == "Rewritten1"
	})
	if n := len(users()); n != 4 {
		t.Errorf("%d users, want 4", n)
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	if code := p.wait(t, 60*time.Second); code != 0 {
		t.Fatalf("exit %d after SIGTERM", code)
	}
}
