package reconcile_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/syncd/syncd/reconcile"
)

// --verify streams PingOne's listings against a summary of each managed
// user and keeps whole only those that differ: drift on users the plan
// had nothing for (an unchanged record, a leaver already disabled) is
// found and repaired with the same minimal calls as drift on a user whose
// record also changed, whether the drifted users are kept from the
// listing or read again by id (the fetched-whole case: one GET each).
func TestVerifyStreamingFindsAndRepairsDriftExactly(t *testing.T) {
	for _, tc := range []struct {
		name     string
		hold     int
		wantGets int
	}{
		{"held from the listing", 0, 0},
		{"read again by id", -1, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			backends(t, func(t *testing.T, backend string) {
				e := newEnv(t, backend)
				reconcile.SetDriftHold(e.eng, tc.hold)
				e.mustRun(reconcile.Options{})
				rows := people(10)
				e.write(rows[:9]) // id-j leaves: disabled
				if rep := e.mustRun(reconcile.Options{}); rep.Counts.Disabled != 1 {
					t.Fatalf("leaver run: %+v", rep.Counts)
				}
				us := e.users()
				id := func(a string) string { return us[a]["id"].(string) }
				if err := e.emu.EditUser(id("id-a"), map[string]any{"title": "Edited By Hand"}); err != nil {
					t.Fatal(err)
				}
				if err := e.emu.SetEnabled(id("id-b"), false); err != nil {
					t.Fatal(err)
				}
				if err := e.emu.SetEnabled(id("id-j"), true); err != nil { // the leaver, re-enabled by hand
					t.Fatal(err)
				}
				if err := e.emu.EditUser(id("id-i"), map[string]any{"name": map[string]any{"given": "Hand", "family": "Family"}}); err != nil {
					t.Fatal(err)
				}
				rows[8][5] = "Lead" // id-i also changes in the source
				e.write(rows[:9])

				e.rec.take()
				rep := e.mustRun(reconcile.Options{Verify: true})
				byAnchor := map[string]reconcile.Drift{}
				for _, d := range rep.Drift {
					byAnchor[d.Anchor] = d
				}
				if len(rep.Drift) != 4 {
					t.Errorf("drift = %+v, want id-a, id-b, id-i, id-j", rep.Drift)
				}
				if d := byAnchor["id-a"]; len(d.Changes) != 1 || d.Changes[0] != (reconcile.Change{Attribute: "title", Old: "Edited By Hand", New: "Engineer"}) || !d.Repaired {
					t.Errorf("id-a drift = %+v", d)
				}
				if d := byAnchor["id-b"]; d.Enabled != "false → true" || len(d.Changes) != 0 {
					t.Errorf("id-b drift = %+v", d)
				}
				if d := byAnchor["id-j"]; d.Enabled != "true → false" {
					t.Errorf("id-j drift = %+v", d)
				}
				if d := byAnchor["id-i"]; len(d.Changes) != 1 || d.Changes[0] != (reconcile.Change{Attribute: "name.given", Old: "Hand", New: "GivenI"}) {
					t.Errorf("id-i drift = %+v", d)
				}

				calls := e.rec.take()
				gets := 0
				for _, c := range calls {
					if c.Method == http.MethodGet && strings.Contains(c.Path, "/users/") {
						gets++
					}
				}
				if gets != tc.wantGets {
					t.Errorf("%d users read by id, want %d", gets, tc.wantGets)
				}
				byPath := map[string][]string{}
				for _, c := range writes(calls) {
					byPath[c.Path] = append(byPath[c.Path], c.Method+" "+c.Body)
				}
				want := map[string]string{
					"/users/" + id("id-a"):              `PATCH {"title":"Engineer"}`,
					"/users/" + id("id-b") + "/enabled": `PUT {"enabled":true}`,
					"/users/" + id("id-j") + "/enabled": `PUT {"enabled":false}`,
				}
				n := 0
				for p, ws := range byPath {
					for suffix, w := range want {
						if strings.HasSuffix(p, suffix) {
							n++
							if len(ws) != 1 || ws[0] != w {
								t.Errorf("%s: %v, want %s", suffix, ws, w)
							}
						}
					}
					if strings.HasSuffix(p, "/users/"+id("id-i")) {
						n++
						if len(ws) != 1 {
							t.Errorf("id-i: %v, want one PATCH", ws)
						}
					}
				}
				if n != 4 || len(byPath) != 4 {
					t.Errorf("repair writes %v, want one per drifted user", byPath)
				}
				if rep.Counts.Unchanged != 6 { // 10 anchors, 4 drifted
					t.Errorf("counts %+v, want 6 unchanged", rep.Counts)
				}

				us = e.users()
				got := func(a, k string) any {
					if g, sub, ok := strings.Cut(k, "."); ok {
						return us[a][g].(map[string]any)[sub]
					}
					return us[a][k]
				}
				for _, c := range []struct {
					anchor, attr string
					want         any
				}{
					{"id-a", "title", "Engineer"}, {"id-b", "enabled", true}, {"id-j", "enabled", false},
					{"id-i", "title", "Lead"}, {"id-i", "name.given", "GivenI"}, {"id-i", "name.family", "Family"},
				} {
					if v := got(c.anchor, c.attr); v != c.want {
						t.Errorf("%s %s = %v, want %v", c.anchor, c.attr, v, c.want)
					}
				}
				rep = e.mustRun(reconcile.Options{Verify: true})
				if len(rep.Drift) != 0 || len(writes(e.rec.take())) != 0 {
					t.Errorf("after repair: drift %+v", rep.Drift)
				}
			})
		})
	}
}
