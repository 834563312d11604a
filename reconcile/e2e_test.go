package reconcile_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/syncd/syncd/internal/secret"
	"github.com/syncd/syncd/internal/testenv"
	"github.com/syncd/syncd/mapper"
	"github.com/syncd/syncd/reconcile"
	"github.com/syncd/syncd/sink/pingone"
	"github.com/syncd/syncd/sink/pingone/pingonetest"
	"github.com/syncd/syncd/sources/csvsource"
	"github.com/syncd/syncd/state"
	"github.com/syncd/syncd/state/pgstate"
	"github.com/syncd/syncd/state/sqlitestate"
)

// call is one request the client sent, as the recording transport saw it.
type call struct {
	Method, Path string
	Body         string
}

// recorder is an http.RoundTripper that keeps every API request the client
// sends (not token requests), so tests can assert on calls and bodies.
type recorder struct {
	mu    sync.Mutex
	calls []call
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	if strings.Contains(req.URL.Path, "/v1/") {
		var body []byte
		if req.Body != nil {
			body, _ = io.ReadAll(req.Body)
			req.Body = io.NopCloser(bytes.NewReader(body))
		}
		r.mu.Lock()
		r.calls = append(r.calls, call{req.Method, req.URL.Path, string(body)})
		r.mu.Unlock()
	}
	return http.DefaultTransport.RoundTrip(req)
}

func (r *recorder) take() []call {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.calls
	r.calls = nil
	return c
}

func writes(cs []call) []call {
	var out []call
	for _, c := range cs {
		if c.Method != http.MethodGet {
			out = append(out, c)
		}
	}
	return out
}

// env is one end-to-end setup: the emulator, a client, a state store and a
// CSV file the test rewrites between runs.
type env struct {
	t     *testing.T
	emu   *pingonetest.Server
	rec   *recorder
	store state.Store
	eng   *reconcile.Engine
	csv   string
	job   *reconcile.Job
}

var header = []string{"id", "uid", "mail", "givenName", "sn", "title", "active", "dept"}

func openStore(t *testing.T, backend string) state.Store {
	t.Helper()
	ctx := context.Background()
	var (
		st  state.Store
		err error
	)
	switch backend {
	case "postgres":
		st, err = pgstate.Open(ctx, testenv.PostgresURL(t), pgstate.Options{Schema: testenv.PostgresSchema(t)})
	case "sqlite":
		st, err = sqlitestate.Open(ctx, filepath.Join(t.TempDir(), "state.db"), sqlitestate.Options{})
	}
	if err != nil {
		t.Fatalf("open %s state: %v", backend, err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return st
}

func newEnv(t *testing.T, backend string, opts ...func(*mapper.Config)) *env {
	t.Helper()
	emu := pingonetest.NewServer(t, pingonetest.Options{Populations: []string{"Default", "Staff", "Contractors"}, SpecFile: pingonetest.SpecPath(t)})
	t.Cleanup(func() {
		if v := emu.SpecViolations(); len(v) > 0 {
			t.Errorf("requests or responses off the spec:\n%s", strings.Join(v, "\n"))
		}
	})
	rec := &recorder{}
	client, err := pingone.New(pingone.Config{
		APIURL: emu.APIURL(), AuthURL: emu.AuthURL(), EnvironmentID: emu.EnvironmentID(),
		ClientID: emu.ClientID(), ClientSecret: secret.New(emu.ClientSecret()), RateLimit: 1000, Concurrency: 8,
	}, zaptest.NewLogger(t), pingone.WithHTTPClient(&http.Client{Transport: rec}))
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, emu: emu, rec: rec, store: openStore(t, backend), csv: filepath.Join(t.TempDir(), "people.csv")}
	e.eng = &reconcile.Engine{Store: e.store, Target: client, Logger: zaptest.NewLogger(t), Calls: func() int64 { return client.Stats().Total() }}

	mc := mapper.Config{
		Mapping: map[string]string{
			"username": "uid", "email": "mail", "name.given": "givenName", "name.family": "sn", "title": "title",
		},
		Population: mapper.Population{Rules: []mapper.PopulationRule{
			{When: `dept == "contract"`, Population: "Contractors"},
			{Population: "Staff"},
		}},
		Enabled: `active != "no"`,
		Scope:   `dept != "robots"`,
	}
	for _, o := range opts {
		o(&mc)
	}
	m, err := mapper.Compile(mc)
	if err != nil {
		t.Fatal(err)
	}
	e.write(people(10))
	src, err := csvsource.New(csvsource.Config{Path: e.csv, Key: "id"}, zaptest.NewLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	e.job = &reconcile.Job{Name: "hr", Source: src, Mapper: m, BatchSize: 4, Workers: 4}
	e.job.SetDefaults()
	e.job.Safety.MaxDisablePercent = 50 // small fixtures: one leaver is 10 %
	return e
}

func person(i int) []string {
	n := string(rune('a'+i%26)) + strings.Repeat("x", i/26)
	return []string{"id-" + n, "user." + n, n + "@example.com", "Given" + strings.ToUpper(n), "Family", "Engineer", "yes", "eng"}
}

func people(n int) [][]string {
	var rows [][]string
	for i := 0; i < n; i++ {
		rows = append(rows, person(i))
	}
	return rows
}

func (e *env) write(rows [][]string) {
	e.t.Helper()
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	_ = w.Write(header)
	_ = w.WriteAll(rows)
	if err := os.WriteFile(e.csv, b.Bytes(), 0o600); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) run(opts reconcile.Options) (*reconcile.Report, error) {
	e.t.Helper()
	return e.eng.Run(context.Background(), e.job, opts)
}

func (e *env) mustRun(opts reconcile.Options) *reconcile.Report {
	e.t.Helper()
	rep, err := e.run(opts)
	if err != nil {
		e.t.Fatalf("run: %v", err)
	}
	return rep
}

// users returns the emulator's users by externalId, failing on duplicates.
func (e *env) users() map[string]map[string]any {
	e.t.Helper()
	out := map[string]map[string]any{}
	for _, u := range e.emu.Users() {
		ext, _ := u["externalId"].(string)
		if ext == "" {
			continue // not syncd's
		}
		if _, dup := out[ext]; dup {
			e.t.Fatalf("two PingOne users carry externalId %q", ext)
		}
		out[ext] = u
	}
	return out
}

func backends(t *testing.T, f func(t *testing.T, backend string)) {
	for _, b := range []string{"sqlite", "postgres"} {
		t.Run(b, func(t *testing.T) { f(t, b) })
	}
}

func TestInitialSyncThenNoChangeCostsNoWrites(t *testing.T) {
	backends(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend)
		rep := e.mustRun(reconcile.Options{})
		if rep.Counts.Created != 10 || rep.Counts.Failed != 0 {
			t.Fatalf("first run: %+v", rep.Counts)
		}
		users := e.users()
		if len(users) != 10 {
			t.Fatalf("PingOne has %d users, want 10", len(users))
		}
		u := users["id-a"]
		if u["username"] != "user.a" || u["email"] != "a@example.com" {
			t.Errorf("user id-a = %v", u)
		}
		if pop := u["population"].(map[string]any)["id"]; pop != e.emu.PopulationID("Staff") {
			t.Errorf("population = %v, want Staff", pop)
		}
		// A create costs one call: one POST per user, nothing else written.
		ws := writes(e.rec.take())
		if len(ws) != 10 {
			t.Errorf("first run wrote %d times, want 10 (one POST per user)", len(ws))
		}
		for _, w := range ws {
			if w.Method != http.MethodPost {
				t.Errorf("first run sent %s %s", w.Method, w.Path)
			}
		}

		before := e.emu.Stats().Writes
		rep = e.mustRun(reconcile.Options{})
		calls := e.rec.take()
		if rep.Counts.Unchanged != 10 || e.emu.Stats().Writes != before {
			t.Fatalf("second run: counts %+v, writes %d -> %d", rep.Counts, before, e.emu.Stats().Writes)
		}
		// Nothing changed, so nothing to resolve either: no call at all.
		if len(calls) != 0 {
			t.Errorf("no-change run made %d calls: %v", len(calls), calls)
		}
	})
}

func TestOneAttributeChangeIsOnePatchWithOnlyThatAttribute(t *testing.T) {
	backends(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend)
		e.mustRun(reconcile.Options{})
		rows := people(10)
		rows[3][5] = "Principal Engineer"
		e.write(rows)
		e.rec.take()
		rep := e.mustRun(reconcile.Options{})
		if rep.Counts.Updated != 1 || rep.Counts.Unchanged != 9 {
			t.Fatalf("counts %+v", rep.Counts)
		}
		// One call in all: the PATCH. The population did not change, so its
		// name is not even looked up.
		ws := e.rec.take()
		if len(ws) != 1 || ws[0].Method != http.MethodPatch || ws[0].Body != `{"title":"Principal Engineer"}` {
			t.Fatalf("calls = %+v, want one PATCH of title only", ws)
		}
	})
}

func TestRenameKeepsTheSameUser(t *testing.T) {
	backends(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend)
		e.mustRun(reconcile.Options{})
		id := e.users()["id-b"]["id"]
		rows := people(10)
		rows[1][1], rows[1][2] = "user.b.renamed", "b.renamed@example.com"
		e.write(rows)
		rep := e.mustRun(reconcile.Options{})
		if rep.Counts.Updated != 1 || rep.Counts.Created != 0 {
			t.Fatalf("counts %+v", rep.Counts)
		}
		u := e.users()["id-b"]
		if u["id"] != id || u["username"] != "user.b.renamed" {
			t.Fatalf("after rename: %v (was id %v)", u, id)
		}
	})
}

func TestLeaverDisabledReturnerEnabledAndMoves(t *testing.T) {
	backends(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend)
		e.mustRun(reconcile.Options{})

		rows := people(10)
		e.write(append(rows[:2:2], rows[3:]...)) // id-c leaves
		rep := e.mustRun(reconcile.Options{})
		if rep.Counts.Disabled != 1 {
			t.Fatalf("leaver: %+v", rep.Counts)
		}
		if en := e.users()["id-c"]["enabled"]; en != false {
			t.Fatalf("leaver enabled = %v", en)
		}

		rows = people(10)
		rows[4][7] = "contract" // id-e moves population
		rows[5][6] = "no"       // id-f is disabled in the source
		e.write(rows)           // id-c returns
		rep = e.mustRun(reconcile.Options{})
		if rep.Counts.Enabled != 1 || rep.Counts.Moved != 1 || rep.Counts.Disabled != 1 {
			t.Fatalf("returner/move/disable: %+v", rep.Counts)
		}
		us := e.users()
		if us["id-c"]["enabled"] != true || us["id-f"]["enabled"] != false {
			t.Errorf("enabled flags: c=%v f=%v", us["id-c"]["enabled"], us["id-f"]["enabled"])
		}
		if pop := us["id-e"]["population"].(map[string]any)["id"]; pop != e.emu.PopulationID("Contractors") {
			t.Errorf("id-e population = %v", pop)
		}
	})
}

func TestRejectedRecordsNeverReachPingOneAndManagedOnesAreLeftAlone(t *testing.T) {
	backends(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend)
		e.mustRun(reconcile.Options{})
		rows := people(12)
		rows[2][2] = "not-an-email" // managed user, now rejected: left as it is
		rows[10][2] = "also@bad@x"  // new user, rejected: never sent
		rows[11][1] = rows[0][1]    // claims user.a: both rejected
		e.write(rows)
		rep := e.mustRun(reconcile.Options{})
		if rep.Counts.Rejected < 3 || rep.Counts.Disabled != 0 || rep.Counts.Updated != 0 {
			t.Fatalf("counts %+v rejects %+v", rep.Counts, rep.Rejects)
		}
		for s, n := range e.emu.Stats().ByStatus {
			if s >= 400 && s != 401 {
				t.Errorf("PingOne answered %d %d times: a rejected record reached it", s, n)
			}
		}
		if e.users()["id-c"]["email"] != "c@example.com" {
			t.Errorf("rejected managed user was changed")
		}
	})
}

// An anchor read twice is synced from neither row, whether both rows are in
// scope or one is out of it, and a managed user with that anchor is left
// as it is: neither updated nor disabled.
func TestAnchorReadTwiceIsNeitherSyncedNorDisabled(t *testing.T) {
	backends(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend)
		e.mustRun(reconcile.Options{})
		rows := people(12)
		twinB := append([]string{}, rows[1]...) // managed id-b, read twice
		twinB[1], twinB[5] = "user.b2", "Director"
		robotC := append([]string{}, rows[2]...) // managed id-c, read again out of scope
		robotC[1], robotC[7] = "user.c2", "robots"
		twinK := append([]string{}, rows[10]...) // new id-k, read twice
		twinK[1] = "user.k2"
		rows = append(rows, twinB, robotC, twinK)
		e.write(rows)
		rep := e.mustRun(reconcile.Options{})
		rejected := map[string]int{}
		for _, r := range rep.Rejects {
			if strings.Contains(r.Reason, "duplicate anchor") {
				rejected[r.Anchor]++
			}
		}
		if rejected["id-b"] != 2 || rejected["id-c"] != 1 || rejected["id-k"] != 2 {
			t.Fatalf("duplicate-anchor rejects by anchor = %v, want id-b 2, id-c 1, id-k 2; all rejects %+v", rejected, rep.Rejects)
		}
		if rep.Counts.Disabled != 0 || rep.Counts.Updated != 0 || rep.Counts.Created != 1 {
			t.Fatalf("counts %+v: want only id-l created, nothing updated or disabled", rep.Counts)
		}
		us := e.users()
		if _, ok := us["id-k"]; ok {
			t.Errorf("id-k, read twice, was created")
		}
		for _, a := range []string{"id-b", "id-c"} {
			if u := us[a]; u["enabled"] != true || u["title"] != "Engineer" {
				t.Errorf("managed %s read twice was changed: %v", a, u)
			}
		}
	})
}

func TestSafetyGateWritesNothing(t *testing.T) {
	backends(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend)
		e.job.Safety.MaxDisablePercent = 10
		e.job.Safety.MaxDisablePercentFloor = 3 // small fixture: let 3 disables count as a percentage
		e.mustRun(reconcile.Options{})
		before := e.emu.Stats().Writes

		e.write(people(7)) // 3 of 10 leave: 30 % > 10 %
		_, err := e.run(reconcile.Options{})
		var g *reconcile.GateError
		if !errors.As(err, &g) || g.Disables != 3 || g.Active != 10 {
			t.Fatalf("err = %v, want a gate error for 3 of 10", err)
		}
		e.write(nil) // empty complete read
		_, err = e.run(reconcile.Options{})
		if !errors.As(err, &g) || !g.EmptySource {
			t.Fatalf("empty source: err = %v", err)
		}
		if e.emu.Stats().Writes != before {
			t.Fatalf("the gate let %d writes through", e.emu.Stats().Writes-before)
		}
		e.write(people(7))
		rep := e.mustRun(reconcile.Options{AllowMassDisable: true})
		if rep.Counts.Disabled != 3 {
			t.Fatalf("override: %+v", rep.Counts)
		}
	})
}

func TestPlanWritesNothing(t *testing.T) {
	backends(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend)
		rep := e.mustRun(reconcile.Options{DryRun: true})
		if rep.Counts.Created != 10 || rep.Status != reconcile.StatusPlanned {
			t.Fatalf("plan: %+v", rep)
		}
		if n := e.emu.Stats().Writes; n != 0 {
			t.Fatalf("plan wrote %d times to PingOne", n)
		}
		runs, err := e.store.Runs(context.Background(), "hr", 10)
		if err != nil || len(runs) != 0 {
			t.Fatalf("plan recorded runs %v (%v)", runs, err)
		}
		n := 0
		_ = e.store.Checkpoints(context.Background(), "hr", func(state.Checkpoint) error { n++; return nil })
		if n != 0 {
			t.Fatalf("plan wrote %d checkpoints", n)
		}
		// Applying the same plan digest works; a changed source is refused.
		if _, err := e.run(reconcile.Options{ExpectPlan: rep.PlanDigest}); err != nil {
			t.Fatalf("apply saved plan: %v", err)
		}
		e.write(people(11))
		if _, err := e.run(reconcile.Options{ExpectPlan: rep.PlanDigest}); !errors.Is(err, reconcile.ErrPlanChanged) {
			t.Fatalf("stale plan: err = %v", err)
		}
	})
}

// crashingStore loses the checkpoints of every batch after the first, as if
// the process died between PingOne's answers and the state commit.
type crashingStore struct {
	state.Store
	saves int
}

func (c *crashingStore) SaveCheckpoints(ctx context.Context, job string, cps []state.Checkpoint) error {
	c.saves++
	if c.saves > 1 {
		return errors.New("simulated crash before commit")
	}
	return c.Store.SaveCheckpoints(ctx, job, cps)
}

func TestCrashBeforeCheckpointConvergesWithoutDuplicates(t *testing.T) {
	backends(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend)
		real := e.eng.Store
		e.eng.Store = &crashingStore{Store: real}
		if _, err := e.run(reconcile.Options{}); err == nil {
			t.Fatal("the crashed run reported success")
		}
		if n := len(e.emu.Users()); n == 0 || n > 10 {
			t.Fatalf("after crash PingOne has %d users", n)
		}
		e.eng.Store = real
		rep := e.mustRun(reconcile.Options{})
		if rep.Counts.Created+rep.Counts.Adopted+rep.Counts.Unchanged != 10 || rep.Counts.Failed != 0 {
			t.Fatalf("re-run: %+v %v", rep.Counts, rep.Failures)
		}
		if us := e.users(); len(us) != 10 {
			t.Fatalf("PingOne has %d users, want 10", len(us))
		}
		rep = e.mustRun(reconcile.Options{})
		if rep.Counts.Unchanged != 10 {
			t.Fatalf("third run not all no-ops: %+v", rep.Counts)
		}
	})
}

func TestAdoptionOnlyByAllowedMatchRule(t *testing.T) {
	backends(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend)
		// Pre-existing users: one carrying the anchor, one with a matching
		// username only, one matching by email only.
		staff := map[string]any{"id": e.emu.PopulationID("Staff")} // inside the job's populations: adoptable
		mk := func(u map[string]any) string {
			u["population"] = staff
			id, err := e.emu.AddUser(u)
			if err != nil {
				t.Fatal(err)
			}
			return id
		}
		byExt := mk(map[string]any{"username": "old.a", "email": "old@example.com", "externalId": "id-a"})
		byName := mk(map[string]any{"username": "user.b", "email": "b@example.com"})
		byMail := mk(map[string]any{"username": "someone.c", "email": "c@example.com"})

		e.job.Match = []string{reconcile.MatchExternalID}
		rep := e.mustRun(reconcile.Options{})
		us := e.users()
		if us["id-a"]["id"] != byExt || us["id-a"]["username"] != "user.a" {
			t.Errorf("externalId match not adopted: %v", us["id-a"])
		}
		if rep.Counts.Adopted != 1 || rep.Counts.Conflicts+rep.Counts.Failed == 0 {
			t.Errorf("counts %+v", rep.Counts)
		}
		if _, ok := us["id-b"]; ok {
			t.Errorf("user.b adopted without a username match rule")
		}
		if len(e.emu.Users()) != 3+8 {
			t.Errorf("PingOne has %d users, want 11 (no duplicate of user.b)", len(e.emu.Users()))
		}

		e.job.Match = []string{reconcile.MatchExternalID, reconcile.MatchUsername}
		// The conflict is retried only when the record changes.
		rows := people(10)
		rows[1][5] = "Manager"
		e.write(rows)
		rep = e.mustRun(reconcile.Options{})
		us = e.users()
		if us["id-b"]["id"] != byName || us["id-b"]["title"] != "Manager" {
			t.Errorf("username match not adopted: %v", us["id-b"])
		}
		if u, _ := e.emu.User(byMail); u["username"] != "someone.c" || u["externalId"] != nil {
			t.Errorf("email-only match was touched: %v", u)
		}
		if rep.Counts.Adopted != 1 {
			t.Errorf("second run counts %+v", rep.Counts)
		}
	})
}

func TestUnchangedFileIsADeltaUntilTheMappingChanges(t *testing.T) {
	e := newEnv(t, "sqlite")
	e.job.ConfigDigest, e.job.FullEvery = "v1", time.Hour
	e.mustRun(reconcile.Options{})
	rep := e.mustRun(reconcile.Options{})
	if rep.Mode != "delta" || rep.Counts.Unchanged != 10 {
		t.Fatalf("second run over the same file: mode %s counts %+v", rep.Mode, rep.Counts)
	}
	m, err := mapper.Compile(mapper.Config{
		Mapping:    map[string]string{"username": "uid", "email": "mail", "title": `upper(title)`},
		Population: mapper.Population{Name: "Staff"},
	})
	if err != nil {
		t.Fatal(err)
	}
	e.job.Mapper, e.job.ConfigDigest = m, "v2"
	rep = e.mustRun(reconcile.Options{})
	if rep.Mode != "full" || rep.Counts.Updated != 10 {
		t.Fatalf("after a mapping change: mode %s counts %+v", rep.Mode, rep.Counts)
	}
	if got := e.users()["id-a"]["title"]; got != "ENGINEER" {
		t.Errorf("title = %v", got)
	}
}

func TestVerifyReportsAndRepairsDrift(t *testing.T) {
	backends(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend)
		e.mustRun(reconcile.Options{})
		us := e.users()
		if err := e.emu.EditUser(us["id-a"]["id"].(string), map[string]any{"title": "Edited By Hand"}); err != nil {
			t.Fatal(err)
		}
		if err := e.emu.SetEnabled(us["id-b"]["id"].(string), false); err != nil {
			t.Fatal(err)
		}

		// Without --verify syncd trusts its checkpoints: nothing to do.
		rep := e.mustRun(reconcile.Options{})
		if len(rep.Drift) != 0 || rep.Counts.Unchanged != 10 {
			t.Fatalf("run without verify: %+v drift %v", rep.Counts, rep.Drift)
		}

		// Report only.
		e.job.Drift = reconcile.DriftReport
		w := e.emu.Stats().Writes
		rep = e.mustRun(reconcile.Options{Verify: true})
		if len(rep.Drift) != 2 || e.emu.Stats().Writes != w {
			t.Fatalf("report mode: drift %+v, writes %d -> %d", rep.Drift, w, e.emu.Stats().Writes)
		}

		// Repair: one minimal call per drifted user.
		e.job.Drift = ""
		e.rec.take()
		rep = e.mustRun(reconcile.Options{Verify: true})
		if len(rep.Drift) != 2 {
			t.Fatalf("drift = %+v", rep.Drift)
		}
		d := rep.Drift[0]
		if d.Anchor != "id-a" || len(d.Changes) != 1 || d.Changes[0].Old != "Edited By Hand" || d.Changes[0].New != "Engineer" {
			t.Errorf("drift[0] = %+v", d)
		}
		ws := writes(e.rec.take())
		if len(ws) != 2 {
			t.Fatalf("repair writes = %+v, want 2", ws)
		}
		for _, w := range ws {
			switch {
			case w.Method == http.MethodPatch && w.Body == `{"title":"Engineer"}`:
			case w.Method == http.MethodPut && strings.HasSuffix(w.Path, "/enabled") && w.Body == `{"enabled":true}`:
			default:
				t.Errorf("unexpected repair call %+v", w)
			}
		}
		us = e.users()
		if us["id-a"]["title"] != "Engineer" || us["id-b"]["enabled"] != true {
			t.Errorf("not repaired: %v %v", us["id-a"]["title"], us["id-b"]["enabled"])
		}
		rep = e.mustRun(reconcile.Options{Verify: true})
		if len(rep.Drift) != 0 || len(writes(e.rec.take())) != 0 {
			t.Errorf("after repair: drift %+v", rep.Drift)
		}
	})
}
