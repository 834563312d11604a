package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"
	"github.com/jackc/pgx/v5"

	"github.com/syncd/syncd/internal/testenv"
	"github.com/syncd/syncd/sink/pingone/pingonetest"
	"github.com/syncd/syncd/state"
	"github.com/syncd/syncd/state/backend"
)

const testSecret = "pa55-Th1s-Must-Never-Print"

// harness runs syncd in-process against the emulator, with its config,
// CSV and SQLite state in a temporary directory.
type harness struct {
	t        *testing.T
	syncdEnv map[string]string
	emu      *pingonetest.Server
	dir      string
	conf     string
}

func newHarness(t *testing.T, source string, extra string) *harness {
	t.Helper()
	emu := pingonetest.NewServer(t, pingonetest.Options{Populations: []string{"Default", "Staff"}, ClientSecret: testSecret, SpecFile: pingonetest.SpecPath(t)})
	t.Cleanup(func() {
		if v := emu.SpecViolations(); len(v) > 0 {
			t.Errorf("off-spec traffic:\n%s", strings.Join(v, "\n"))
		}
	})
	h := &harness{t: t, emu: emu, dir: t.TempDir()}
	h.conf = filepath.Join(h.dir, "syncd.yaml")
	cfg := fmt.Sprintf(`
state:
  url: sqlite://state.db
pingone:
  api_url: %s
  auth_url: %s
  environment_id: %s
  client_id: %s
  rate_limit: 500
log:
  level: debug
jobs:
  - name: people
    schedule: "@every 1m"
    source:
%s
    mapping:
      username: uid
      email: mail
      name.given: givenName
      name.family: sn
    population: Staff
    safety: {max_disable_percent: 40, max_disable_percent_floor: 1}
%s`, emu.APIURL(), emu.AuthURL(), emu.EnvironmentID(), emu.ClientID(), source, extra)
	if !strings.Contains(extra, "http:\n") {
		// Not the default 127.0.0.1:9464: tests of other packages run
		// `syncd run` at the same time.
		cfg += "\nhttp:\n  listen: 127.0.0.1:0\n"
	}
	if err := os.WriteFile(h.conf, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return h
}

func csvSource() string {
	return "      csv: {path: people.csv, key: id}"
}

func (h *harness) writeCSV(rows ...string) {
	h.t.Helper()
	body := "id,uid,mail,givenName,sn\n" + strings.Join(rows, "\n") + "\n"
	if err := os.WriteFile(filepath.Join(h.dir, "people.csv"), []byte(body), 0o600); err != nil {
		h.t.Fatal(err)
	}
}

func row(i int) string {
	return fmt.Sprintf("e%03d,user%03d,user%03d@example.com,Given%d,Family", i, i, i, i)
}

func rows(n int) []string {
	var out []string
	for i := 0; i < n; i++ {
		out = append(out, row(i))
	}
	return out
}

// syncd runs one command line and returns its exit code and output.
func (h *harness) syncd(args ...string) (int, string, string) {
	h.t.Helper()
	var out, errb bytes.Buffer
	m := NewMain(strings.NewReader(""), &out, &errb)
	m.Getenv = func(k string) string {
		switch k {
		case "SYNCD_PINGONE_CLIENT_SECRET":
			return testSecret
		case "SYNCD_CONFIG":
			return h.conf
		}
		return h.syncdEnv[k]
	}
	code := m.Run(context.Background(), args)
	for _, s := range []string{out.String(), errb.String()} {
		if strings.Contains(s, testSecret) {
			h.t.Errorf("syncd %v printed the client secret", args)
		}
	}
	return code, out.String(), errb.String()
}

func (h *harness) expect(code int, args ...string) string {
	h.t.Helper()
	got, out, errs := h.syncd(args...)
	if got != code {
		h.t.Fatalf("syncd %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), got, code, out, errs)
	}
	return out
}

func TestCSVPlanSyncAndExitCodes(t *testing.T) {
	h := newHarness(t, csvSource(), "")
	h.writeCSV(rows(10)...)

	out := h.expect(ExitOK, "plan")
	if !strings.Contains(out, "create") || h.emu.Stats().Writes != 0 {
		t.Fatalf("plan output/writes wrong (writes %d):\n%s", h.emu.Stats().Writes, out)
	}
	if _, err := os.Stat(filepath.Join(h.dir, "state.db")); err == nil {
		t.Fatal("plan created the state database")
	}
	h.expect(ExitOK, "sync")
	if n := h.emu.UserCount(); n != 10 {
		t.Fatalf("%d users after sync", n)
	}
	w := h.emu.Stats().Writes
	out = h.expect(ExitOK, "sync", "--output", "json")
	var rep struct {
		Jobs []struct {
			Status string         `json:"status"`
			Counts map[string]int `json:"counts"`
		} `json:"jobs"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("json output: %v\n%s", err, out)
	}
	if rep.Jobs[0].Counts["unchanged"] != 10 || h.emu.Stats().Writes != w {
		t.Fatalf("no-change run: %+v, writes %d -> %d", rep.Jobs[0], w, h.emu.Stats().Writes)
	}

	// A rejected record: exit 4, nothing sent for it.
	h.writeCSV(append(rows(10), "e999,bad user name that is fine,not-an-email,X,Y")...)
	out = h.expect(ExitRejected, "sync")
	if !strings.Contains(out, "rejected") {
		t.Errorf("reject not shown:\n%s", out)
	}

	// Mass disable: exit 3 and nothing written; the override applies it.
	h.writeCSV(rows(4)...)
	w = h.emu.Stats().Writes
	_, _, errs := h.syncd("sync")
	if code, _, _ := h.syncd("sync"); code != ExitGated || h.emu.Stats().Writes != w {
		t.Fatalf("gate: exit %d, writes %d -> %d", code, w, h.emu.Stats().Writes)
	}
	if !strings.Contains(errs, "--allow-mass-disable") {
		t.Errorf("gate message does not name the override: %s", errs)
	}
	h.expect(ExitOK, "sync", "--allow-mass-disable")

	out = h.expect(ExitOK, "status")
	if !strings.Contains(out, "4 active, 6 disabled") {
		t.Errorf("status:\n%s", out)
	}
}

func TestConfigAndUsageErrorsExit2(t *testing.T) {
	h := newHarness(t, csvSource(), "")
	if out := h.expect(ExitOK, "sync", "--help"); !strings.Contains(out, "-allow-mass-disable") || !strings.Contains(out, "Exit codes") {
		t.Errorf("sync --help:\n%s", out)
	}
	if out := h.expect(ExitOK, "--help"); !strings.Contains(out, "state rebuild") {
		t.Errorf("--help:\n%s", out)
	}
	h.expect(ExitUsage, "frobnicate")
	h.expect(ExitUsage, "sync", "--config", filepath.Join(h.dir, "missing.yaml"))
	h.expect(ExitUsage, "sync", "--job", "nope")
	h.expect(ExitUsage, "sync", "--output", "xml")
	if err := os.WriteFile(h.conf, []byte("jobs: [{name: x, sheduel: y}]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, _, errs := h.syncd("validate")
	if !strings.Contains(errs, "unknown key sheduel") {
		t.Errorf("validate: %s", errs)
	}
}

func TestLockHeldExit5(t *testing.T) {
	h := newHarness(t, csvSource(), "")
	h.writeCSV(rows(3)...)
	h.expect(ExitOK, "migrate")
	st, err := backend.Open(context.Background(), "sqlite://"+filepath.Join(h.dir, "state.db"), backend.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	unlock, err := st.Lock(context.Background(), "people")
	if err != nil {
		t.Fatal(err)
	}
	h.expect(ExitLocked, "sync")
	if err := unlock(context.Background()); err != nil {
		t.Fatal(err)
	}
	h.expect(ExitOK, "sync")
}

func TestPlanOutThenApply(t *testing.T) {
	h := newHarness(t, csvSource(), "")
	h.writeCSV(rows(5)...)
	plan := filepath.Join(h.dir, "plan.json")
	h.expect(ExitOK, "plan", "--out", plan)
	h.writeCSV(rows(6)...)
	_, _, errs := h.syncd("apply", plan)
	if !strings.Contains(errs, "no longer matches") || h.emu.Stats().Writes != 0 {
		t.Fatalf("stale plan applied (writes %d): %s", h.emu.Stats().Writes, errs)
	}
	h.writeCSV(rows(5)...)
	h.expect(ExitOK, "apply", plan)
	if h.emu.UserCount() != 5 {
		t.Fatalf("apply created %d users", h.emu.UserCount())
	}
}

// apply refuses what is not a whole plan, before touching PingOne: an
// empty job list would otherwise apply every job unchecked.
func TestApplyRefusesBrokenPlans(t *testing.T) {
	h := newHarness(t, csvSource(), "")
	h.writeCSV(rows(5)...)
	good := filepath.Join(h.dir, "plan.json")
	h.expect(ExitOK, "plan", "--out", good)
	b, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	start := strings.Index(string(b), "\"jobs\": [\n") + len("\"jobs\": [\n")
	entry := strings.TrimSuffix(string(b[start:]), "]}\n")
	for name, body := range map[string]string{
		"job twice":    string(b[:start]) + strings.TrimSpace(entry) + ",\n" + entry + "]}\n",
		"padded":       strings.Replace(string(b), "\"jobs\": [", "\"jobs\": "+strings.Repeat(" ", 9<<20)+"[", 1),
		"no jobs":      `{"version":1,"config":"x","jobs":[]}`,
		"jobs null":    `{"version":1,"config":"x","jobs":null}`,
		"no job list":  `{"version":1,"config":"x"}`,
		"version 2":    strings.Replace(string(b), `"version":1`, `"version":2`, 1),
		"truncated":    string(b[:len(b)/2]),
		"trailing":     string(b) + "{}",
		"not json":     "version: 1\n",
		"empty digest": strings.Replace(string(b), `"plan_digest":"`, `"plan_digest":"","x":"`, 1),
	} {
		f := filepath.Join(h.dir, "broken.json")
		if err := os.WriteFile(f, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		code, _, errs := h.syncd("apply", f)
		if code != ExitUsage || h.emu.Stats().Writes != 0 || !strings.Contains(errs, "plan") {
			t.Fatalf("%s: apply exited %d (want %d) after %d writes, saying %q", name, code, ExitUsage, h.emu.Stats().Writes, errs)
		}
	}
	h.expect(ExitOK, "apply", good)
}

func TestMapCommand(t *testing.T) {
	h := newHarness(t, csvSource(), "")
	fixture := filepath.Join(h.dir, "fixture.csv")
	body := "id,uid,mail,givenName,sn\n" + row(1) + "\ne002,user002,broken,A,B\n"
	if err := os.WriteFile(fixture, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	out := h.expect(ExitRejected, "map", "--input", fixture, "--explain")
	var got struct {
		Desired []struct {
			Anchor     string            `json:"anchor"`
			Attributes map[string]string `json:"attributes"`
		} `json:"desired"`
		Rejects []struct {
			Anchor, Attribute string
		} `json:"rejects"`
		Explain map[string]any `json:"explain"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if len(got.Desired) != 1 || got.Desired[0].Attributes["username"] != "user001" || got.Desired[0].Attributes["externalId"] != "e001" {
		t.Errorf("desired = %+v", got.Desired)
	}
	if len(got.Rejects) != 1 || got.Rejects[0].Anchor != "e002" || got.Rejects[0].Attribute != "email" {
		t.Errorf("rejects = %+v", got.Rejects)
	}
	if got.Explain["e001"] == nil {
		t.Errorf("no explanation for e001: %v", got.Explain)
	}
	if h.emu.Stats().Requests != 0 {
		t.Errorf("map talked to PingOne")
	}
}

// TestLDAPRenameAndMoveKeepTheUser runs against the real slapd: a rename
// (new uid, new RDN) and an OU move update the same PingOne user, and an
// entry deleted from the directory is disabled.
func TestLDAPRenameAndMoveKeepTheUser(t *testing.T) {
	srv := testenv.LDAP(t)
	base := srv.Subtree(t)
	conn := srv.Conn(t)
	for _, ou := range []string{"a", "b"} {
		add := ldap.NewAddRequest("ou="+ou+","+base, nil)
		add.Attribute("objectClass", []string{"organizationalUnit"})
		add.Attribute("ou", []string{ou})
		if err := conn.Add(add); err != nil {
			t.Fatal(err)
		}
	}
	var entries []testenv.LDAPEntry
	for i := 0; i < 6; i++ {
		entries = append(entries, testenv.UserEntry("ou=a,"+base, i, nil))
	}
	srv.AddEntries(t, entries)

	src := fmt.Sprintf(`      ldap:
        url: %s
        bind_dn: %s
        base_dn: %s
        filter: (objectClass=inetOrgPerson)
        anchor: entryUUID
        page_size: 2
        tls: {ca_file: %s}`, srv.LDAPSURL, srv.BindDN, base, srv.CAFile)
	h := newHarness(t, src, "")
	h.syncdEnv = map[string]string{"SYNCD_LDAP_BIND_PASSWORD": srv.Password}
	h.expect(ExitOK, "sync")
	before := map[string]string{}
	for _, u := range h.emu.Users() {
		before[u["externalId"].(string)] = u["id"].(string)
	}
	if len(before) != 6 {
		t.Fatalf("%d users after the first sync", len(before))
	}

	// Rename user000 (new RDN and uid), move user001 to ou=b, delete user002.
	mod := ldap.NewModifyDNRequest("uid=user000000,ou=a,"+base, "uid=renamed000", true, "")
	if err := conn.ModifyDN(mod); err != nil {
		t.Fatal(err)
	}
	if err := conn.ModifyDN(ldap.NewModifyDNRequest("uid=user000001,ou=a,"+base, "uid=user000001", true, "ou=b,"+base)); err != nil {
		t.Fatal(err)
	}
	if err := conn.Del(ldap.NewDelRequest("uid=user000002,ou=a,"+base, nil)); err != nil {
		t.Fatal(err)
	}
	h.expect(ExitOK, "sync")
	after := map[string]map[string]any{}
	for _, u := range h.emu.Users() {
		after[u["externalId"].(string)] = u
	}
	if len(after) != 6 {
		t.Fatalf("%d users after rename/move/delete, want still 6", len(after))
	}
	renamed, disabled := 0, 0
	for ext, u := range after {
		if u["id"] != before[ext] {
			t.Errorf("anchor %s now maps to another PingOne user", ext)
		}
		if u["username"] == "renamed000" {
			renamed++
		}
		if u["enabled"] == false {
			disabled++
		}
	}
	if renamed != 1 || disabled != 1 {
		t.Errorf("renamed %d, disabled %d; want 1 and 1", renamed, disabled)
	}
}

func openTestStore(path string) (state.Store, error) {
	return backend.Open(context.Background(), "sqlite://"+path, backend.Options{})
}

func TestVerifyThenRebuildLostState(t *testing.T) {
	h := newHarness(t, csvSource(), "")
	h.writeCSV(rows(5)...)
	h.expect(ExitOK, "sync")
	var id string
	for _, u := range h.emu.Users() {
		if u["externalId"] == "e002" {
			id = u["id"].(string)
		}
	}
	if err := h.emu.EditUser(id, map[string]any{"name": map[string]any{"given": "Someone", "family": "Else"}}); err != nil {
		t.Fatal(err)
	}
	out := h.expect(ExitOK, "sync", "--verify")
	if !strings.Contains(out, "drift (repaired)") || !strings.Contains(out, `name.given: "Someone" in PingOne, syncd wants "Given2"`) {
		t.Fatalf("verify output:\n%s", out)
	}
	if u, _ := h.emu.User(id); u["name"].(map[string]any)["given"] != "Given2" {
		t.Fatalf("not repaired: %v", u["name"])
	}

	// Lose the state database, rebuild it from PingOne.
	matches, _ := filepath.Glob(filepath.Join(h.dir, "state.db*"))
	for _, m := range matches {
		if err := os.Remove(m); err != nil {
			t.Fatal(err)
		}
	}
	out = h.expect(ExitOK, "state", "rebuild", "--job", "people")
	if !strings.Contains(out, "rebuilt 5 checkpoints") {
		t.Fatalf("rebuild: %s", out)
	}
	w, req := h.emu.Stats().Writes, h.emu.Stats().Requests
	out = h.expect(ExitOK, "sync")
	if h.emu.Stats().Writes != w || h.emu.UserCount() != 5 {
		t.Fatalf("after rebuild: writes %d -> %d, users %d\n%s", w, h.emu.Stats().Writes, h.emu.UserCount(), out)
	}
	// At most the token and the per-run population look-up.
	if n := h.emu.Stats().Requests - req; n > 2 {
		t.Errorf("run after rebuild made %d requests", n)
	}
}

func TestValidateOnline(t *testing.T) {
	h := newHarness(t, csvSource(), "")
	h.writeCSV(rows(2)...)
	out := h.expect(ExitOK, "validate", "--online")
	for _, want := range []string{"ok    pingone token and schema", `ok    job people: population "Staff"`, "ok    job people: csv source"} {
		if !strings.Contains(out, want) {
			t.Errorf("validate --online lacks %q:\n%s", want, out)
		}
	}
	// A population that does not exist, and a wrong secret.
	cfg, _ := os.ReadFile(h.conf)
	if err := os.WriteFile(h.conf, []byte(strings.Replace(string(cfg), "population: Staff", "population: Nobody", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	out = h.expect(ExitFailed, "validate", "--online")
	if !strings.Contains(out, `FAIL  job people: population "Nobody"`) {
		t.Errorf("missing population not reported:\n%s", out)
	}
	h.syncdEnv = map[string]string{}
	m := NewMain(strings.NewReader(""), io.Discard, io.Discard)
	m.Getenv = func(k string) string {
		if k == "SYNCD_PINGONE_CLIENT_SECRET" {
			return "wrong-secret"
		}
		return ""
	}
	var out2 bytes.Buffer
	m.Stdout = &out2
	if code := m.Run(context.Background(), []string{"validate", "--online", "--config", h.conf}); code != ExitFailed {
		t.Errorf("wrong secret: exit %d\n%s", code, out2.String())
	}
	if !strings.Contains(out2.String(), "FAIL  pingone token") || strings.Contains(out2.String(), "wrong-secret") {
		t.Errorf("wrong secret output:\n%s", out2.String())
	}
}

// TestPlanOnFreshPostgresWritesNoSchema: a dry run writes nothing to state,
// not even the schema.
func TestPlanOnFreshPostgresWritesNoSchema(t *testing.T) {
	pgURL, schema := testenv.PostgresURL(t), testenv.PostgresSchema(t)
	h := newHarness(t, csvSource(), "")
	h.writeCSV(rows(3)...)
	sep := "?"
	if strings.Contains(pgURL, "?") {
		sep = "&"
	}
	cfg, _ := os.ReadFile(h.conf)
	c := strings.Replace(string(cfg), "url: sqlite://state.db", "url: "+pgURL+sep+"search_path="+schema, 1)
	if err := os.WriteFile(h.conf, []byte(c), 0o600); err != nil {
		t.Fatal(err)
	}
	out := h.expect(ExitOK, "plan")
	if !strings.Contains(out, "create") {
		t.Fatalf("plan:\n%s", out)
	}
	conn, err := pgx.Connect(context.Background(), pgURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var n int
	if err := conn.QueryRow(context.Background(), "SELECT count(*) FROM information_schema.tables WHERE table_schema = $1", schema).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("plan created %d tables in the state database", n)
	}
	h.expect(ExitOK, "sync")
	if err := conn.QueryRow(context.Background(), "SELECT count(*) FROM information_schema.tables WHERE table_schema = $1", schema).Scan(&n); err != nil || n == 0 {
		t.Fatalf("sync did not migrate: %d tables (%v)", n, err)
	}
}
