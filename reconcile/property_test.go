package reconcile_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"flag"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"go.uber.org/zap"
	"pgregory.net/rapid"

	"github.com/syncd/syncd/internal/secret"
	"github.com/syncd/syncd/mapper"
	"github.com/syncd/syncd/reconcile"
	"github.com/syncd/syncd/sink/pingone"
	"github.com/syncd/syncd/sink/pingone/pingonetest"
	"github.com/syncd/syncd/sources/csvsource"
	"github.com/syncd/syncd/state/sqlitestate"
)

// propPool is how many distinct people the property tests draw from.
const propPool = 10

// propPerson is one person's row in one source snapshot.
type propPerson struct {
	id, uid, mail, given, family, title, active, dept string
}

func (p propPerson) row() []string {
	return []string{p.id, p.uid, p.mail, p.given, p.family, p.title, p.active, p.dept}
}

// genSnapshot draws one export: a random subset of the pool, each person
// with random edits. Usernames and emails stay unique per person (a rename
// is to a variant of the person's own name), so no two records ever claim
// one username and every snapshot is valid.
func genSnapshot(t *rapid.T, label string) []propPerson {
	var out []propPerson
	present := rapid.SliceOfN(rapid.Bool(), propPool, propPool).Draw(t, label+".present")
	for i := 0; i < propPool; i++ {
		if !present[i] {
			continue
		}
		v := rapid.IntRange(0, 2).Draw(t, fmt.Sprintf("%s.p%d.rename", label, i))
		p := propPerson{
			id:     fmt.Sprintf("id-%02d", i),
			uid:    fmt.Sprintf("user.%02d", i),
			mail:   fmt.Sprintf("p%02d@example.com", i),
			given:  rapid.SampledFrom([]string{"Ann", "Bo", "Cy", "Émile"}).Draw(t, fmt.Sprintf("%s.p%d.given", label, i)),
			family: "Family",
			title:  rapid.SampledFrom([]string{"Engineer", "Manager", "Director", ""}).Draw(t, fmt.Sprintf("%s.p%d.title", label, i)),
			active: rapid.SampledFrom([]string{"yes", "yes", "yes", "no"}).Draw(t, fmt.Sprintf("%s.p%d.active", label, i)),
			dept:   rapid.SampledFrom([]string{"eng", "eng", "contract", "robots"}).Draw(t, fmt.Sprintf("%s.p%d.dept", label, i)),
		}
		if v > 0 {
			p.uid = fmt.Sprintf("user.%02d.v%d", i, v)
			p.mail = fmt.Sprintf("p%02d.v%d@example.com", i, v)
		}
		out = append(out, p)
	}
	return out
}

func writeSnapshot(t *rapid.T, path string, people []propPerson) {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	_ = w.Write([]string{"id", "uid", "mail", "givenName", "sn", "title", "active", "dept"})
	for _, p := range people {
		_ = w.Write(p.row())
	}
	w.Flush()
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatalf("write snapshot: %v", err)
	}
}

// setPropChecks lowers rapid's default 100 checks (each one starts an
// emulator and a state database) unless -rapid.checks was given.
func setPropChecks(t *testing.T, n int) {
	t.Helper()
	for _, a := range os.Args[1:] {
		if strings.Contains(a, "rapid.checks") {
			return // given on the command line
		}
	}
	old := flag.Lookup("rapid.checks").Value.String()
	if err := flag.Set("rapid.checks", fmt.Sprint(n)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = flag.Set("rapid.checks", old) })
}

// TestPropertySyncReachesDesiredAndThenPlansNothing checks, over random
// sequences of exports (people joining and leaving, renames, attribute
// edits and clears, scope, enabled and population flips), that every
// plan-then-apply run leaves PingOne exactly as the export says and that a
// plan made right after it is all no-ops.
func TestPropertySyncReachesDesiredAndThenPlansNothing(t *testing.T) {
	checks := 60
	if testing.Short() {
		checks = 10
	}
	setPropChecks(t, checks)
	rapid.Check(t, func(rt *rapid.T) { checkSyncProperty(rt, false) })
}

// TestPropertyConvergesDespiteLostResponsesAndFaults is the same property
// with PingOne losing responses to committed writes and failing requests
// at random rates: each export is re-synced until a run reports no
// failure, and then PingOne must hold exactly the export, with no
// duplicate (a lost create answer is found again by externalId).
func TestPropertyConvergesDespiteLostResponsesAndFaults(t *testing.T) {
	checks := 15
	if testing.Short() {
		checks = 3
	}
	setPropChecks(t, checks)
	rapid.Check(t, func(rt *rapid.T) { checkSyncProperty(rt, true) })
}

func checkSyncProperty(rt *rapid.T, faulty bool) {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "syncd-prop-")
	if err != nil {
		rt.Fatal(err)
	}
	defer os.RemoveAll(dir)

	var faults, lost float64
	if faulty {
		faults = rapid.Float64Range(0, 0.15).Draw(rt, "faultRate")
		lost = rapid.Float64Range(0, 0.3).Draw(rt, "lostRate")
	}
	spec, err := pingonetest.DefaultSpecPath()
	if err != nil {
		rt.Fatal(err)
	}
	emu, err := pingonetest.New(pingonetest.Options{Populations: []string{"Default", "Staff", "Contractors"},
		Seed: rapid.Int64Range(1, 1<<40).Draw(rt, "emuSeed"), SpecFile: spec})
	if err != nil {
		rt.Fatal(err)
	}
	defer func() {
		if v := emu.SpecViolations(); len(v) > 0 {
			rt.Fatalf("%d requests or responses off the spec, e.g.:\n%s", len(v), strings.Join(v[:min(len(v), 5)], "\n"))
		}
	}()
	srv := newLoopbackServer(emu)
	defer srv.close()
	client, err := pingone.New(pingone.Config{
		APIURL: srv.url + "/v1", AuthURL: srv.url, EnvironmentID: emu.EnvironmentID(),
		ClientID: emu.ClientID(), ClientSecret: secret.New(emu.ClientSecret()), RateLimit: 5000, Concurrency: 4, MaxRetries: 2,
	}, zap.NewNop())
	if err != nil {
		rt.Fatal(err)
	}
	st, err := sqlitestate.Open(ctx, filepath.Join(dir, "state.db"), sqlitestate.Options{})
	if err != nil {
		rt.Fatal(err)
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		rt.Fatal(err)
	}
	path := filepath.Join(dir, "people.csv")
	src, err := csvsource.New(csvsource.Config{Path: path, Key: "id"}, zap.NewNop())
	if err != nil {
		rt.Fatal(err)
	}
	m, err := mapper.Compile(mapper.Config{
		Mapping: map[string]string{
			"username": "uid", "email": "mail", "name.given": "givenName", "name.family": "sn", "title": "title",
		},
		Population: mapper.Population{Rules: []mapper.PopulationRule{
			{When: `dept == "contract"`, Population: "Contractors"},
			{Population: "Staff"},
		}},
		Enabled: `active != "no"`,
		Scope:   `dept != "robots"`,
	})
	if err != nil {
		rt.Fatal(err)
	}
	job := &reconcile.Job{Name: "prop", Source: src, Mapper: m,
		BatchSize: rapid.IntRange(1, 6).Draw(rt, "batch"), Workers: rapid.IntRange(1, 4).Draw(rt, "workers")}
	job.SetDefaults()
	job.Safety.MaxDisablePercent, job.Safety.MaxDisables = 100, 1_000_000
	eng := &reconcile.Engine{Store: st, Target: client, Logger: zap.NewNop()}

	// synced: anchors PingOne holds a user for (created at some point).
	synced := map[string]bool{}
	steps := rapid.IntRange(1, 5).Draw(rt, "steps")
	for step := 0; step < steps; step++ {
		snap := genSnapshot(rt, fmt.Sprintf("s%d", step))
		writeSnapshot(rt, path, snap)
		emu.SetFaults(faults, lost, 0)
		for attempt := 1; ; attempt++ {
			rep, err := eng.Run(ctx, job, reconcile.Options{AllowMassDisable: true})
			if faulty && (err != nil || rep.Counts.Failed != 0) && attempt < 20 {
				continue // failed users and failed runs are retried by the next run
			}
			if err != nil {
				rt.Fatalf("step %d: run %d: %v", step, attempt, err)
			}
			if rep.Counts.Failed != 0 || rep.Counts.Rejected != 0 {
				rt.Fatalf("step %d: run %d: counts %+v failures %v rejects %v", step, attempt, rep.Counts, rep.Failures, rep.Rejects)
			}
			break
		}
		emu.SetFaults(0, 0, 0)
		checkDesired(rt, emu, snap, synced, step)

		plan, err := eng.Run(ctx, job, reconcile.Options{DryRun: true, AllowMassDisable: true})
		if err != nil {
			rt.Fatalf("step %d: plan after apply: %v", step, err)
		}
		c := plan.Counts
		if n := c.Created + c.Adopted + c.Updated + c.Enabled + c.Disabled + c.Moved; n != 0 {
			rt.Fatalf("step %d: the plan right after an apply is not all no-ops: %+v", step, c)
		}
	}
}

// checkDesired compares the emulator with one snapshot: every in-scope
// person is there once with the snapshot's values and enabled flag (a
// person disabled in the source before ever being synced is never
// created); every previously synced person now absent or out of scope is
// disabled; nobody else exists.
func checkDesired(t *rapid.T, emu *pingonetest.Emulator, snap []propPerson, synced map[string]bool, step int) {
	byExt := map[string]map[string]any{}
	for _, u := range emu.Users() {
		ext, _ := u["externalId"].(string)
		if ext == "" {
			t.Fatalf("step %d: a user without externalId: %v", step, u)
		}
		if _, dup := byExt[ext]; dup {
			t.Fatalf("step %d: two users carry externalId %q", step, ext)
		}
		byExt[ext] = u
	}
	want := map[string]propPerson{}
	for _, p := range snap {
		if p.dept != "robots" {
			want[p.id] = p
		}
	}
	for _, p := range want {
		u, ok := byExt[p.id]
		if !ok {
			if p.active == "no" && !synced[p.id] {
				continue // disabled in the source and never synced: not created
			}
			t.Fatalf("step %d: %s missing from PingOne", step, p.id)
		}
		synced[p.id] = true
		name, _ := u["name"].(map[string]any)
		got := map[string]any{"username": u["username"], "email": u["email"], "title": u["title"],
			"name.given": name["given"], "name.family": name["family"], "enabled": u["enabled"]}
		exp := map[string]any{"username": p.uid, "email": p.mail, "title": p.title,
			"name.given": p.given, "name.family": p.family, "enabled": p.active != "no"}
		if p.title == "" {
			exp["title"] = nil
		}
		for k, v := range exp {
			if got[k] != v {
				t.Fatalf("step %d: %s %s = %v, want %v (user %v)", step, p.id, k, got[k], v, u)
			}
		}
		pop := emu.PopulationID("Staff")
		if p.dept == "contract" {
			pop = emu.PopulationID("Contractors")
		}
		if gp, _ := u["population"].(map[string]any); gp["id"] != pop {
			t.Fatalf("step %d: %s population %v, want %s", step, p.id, gp["id"], pop)
		}
	}
	var extra []string
	for ext, u := range byExt {
		if _, ok := want[ext]; ok {
			continue
		}
		if !synced[ext] {
			extra = append(extra, ext)
			continue
		}
		if u["enabled"] != false {
			t.Fatalf("step %d: %s left the export but is still enabled", step, ext)
		}
	}
	if len(extra) > 0 {
		sort.Strings(extra)
		t.Fatalf("step %d: PingOne holds users nobody asked for: %s", step, strings.Join(extra, ", "))
	}
}

// loopbackServer serves an emulator on 127.0.0.1 for one rapid check
// (pingonetest.NewServer ties the server to a testing.TB's cleanup, and a
// rapid check is shorter than its *testing.T).
type loopbackServer struct {
	url   string
	close func()
}

func newLoopbackServer(emu *pingonetest.Emulator) loopbackServer {
	ts := httptest.NewServer(emu)
	emu.SetBaseURL(ts.URL + "/v1")
	return loopbackServer{url: ts.URL, close: ts.Close}
}
