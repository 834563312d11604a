package chaos

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	_ "modernc.org/sqlite" // read-only look at the state file syncd left

	"github.com/syncd/syncd/internal/testenv"
	"github.com/syncd/syncd/sink/pingone/pingonetest"
)

var (
	longFlag = flag.Bool("chaos.long", false, "run the long chaos suite (20 trials, bigger data sets)")
	seedFlag = flag.Uint64("chaos.seed", 0, "seed for the random choices (0: from the clock)")
)

// long reports whether the long suite was asked for.
func long() bool { return *longFlag || os.Getenv("SYNCD_CHAOS_LONG") != "" }

// pick returns short or long by mode.
func pick[T any](short, lng T) T {
	if long() {
		return lng
	}
	return short
}

// rng returns a seeded generator and logs the seed, so a failing trial can
// be replayed with -chaos.seed.
func rng(t *testing.T) *rand.Rand {
	t.Helper()
	seed := *seedFlag
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (replay with -chaos.seed=%d)", seed, seed)
	return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
}

// Exit codes of syncd (README).
const (
	exitOK       = 0
	exitFailed   = 1
	exitGated    = 3
	exitRejected = 4
)

// syncdBinary builds cmd/syncd once per test process ($SYNCD_CHAOS_BIN
// names a prebuilt binary instead).
func syncdBinary(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("SYNCD_CHAOS_BIN"); p != "" {
		return p
	}
	return testenv.SyncdBinary(t)
}

// clientSecret is the emulator's worker-app secret; no log line, report or
// error message may ever contain it.
const clientSecret = "chaos-S3cret-pingone-Zq7W"

// harness is one syncd configuration in a temporary directory, talking to
// an emulator served (through a recording wrapper) from this process.
type harness struct {
	t    *testing.T
	dir  string
	conf string
	emu  *pingonetest.Emulator
	rec  *wireLog
	url  string
	// env is added to every syncd process's environment.
	env []string
}

// harnessConfig is what differs between tests.
type harnessConfig struct {
	mapping  string // the job's mapping and enabled keys, indented four spaces; default: the CSV columns
	emu      pingonetest.Options
	state    string // state.url; default sqlite://state.db
	source   string // the job's source: block, indented six spaces
	pingone  string // extra pingone: keys, indented two spaces
	job      string // extra job keys, indented four spaces
	logLevel string
}

func newHarness(t *testing.T, hc harnessConfig) *harness {
	t.Helper()
	o := hc.emu
	if o.Populations == nil {
		o.Populations = []string{"Default", "Staff"}
	}
	o.ClientSecret = clientSecret
	o.SpecFile = pingonetest.SpecPath(t)
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
	emu, err := pingonetest.New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if v := emu.SpecViolations(); len(v) > 0 {
			t.Errorf("%d requests or responses off the spec, e.g.:\n%s", len(v), strings.Join(v[:min(len(v), 5)], "\n"))
		}
	})
	rec := &wireLog{}
	srv := httptest.NewServer(rec.wrap(emu))
	t.Cleanup(srv.Close)
	emu.SetBaseURL(srv.URL + "/v1")
	h := &harness{t: t, dir: t.TempDir(), emu: emu, rec: rec, url: srv.URL}
	h.conf = filepath.Join(h.dir, "syncd.yaml")
	h.configure(hc)
	return h
}

// configure (re)writes the config file from hc.
func (h *harness) configure(hc harnessConfig) {
	h.t.Helper()
	if hc.state == "" {
		hc.state = "sqlite://state.db"
	}
	if hc.source == "" {
		hc.source = "      csv: {path: people.csv, key: id}"
	}
	if hc.logLevel == "" {
		hc.logLevel = "debug"
	}
	if hc.mapping == "" {
		hc.mapping = `    mapping:
      username: uid
      email: mail
      name.given: givenName
      name.family: sn
      title: title
    enabled: active != "no"`
	}
	cfg := fmt.Sprintf(`state:
  url: %s
pingone:
  api_url: %s/v1
  auth_url: %s
  environment_id: %s
  client_id: %s
%s
log:
  level: %s
  format: json
jobs:
  - name: people
    source:
%s
%s
    population: Staff
%s
`, hc.state, h.url, h.url, h.emu.EnvironmentID(), h.emu.ClientID(), hc.pingone, hc.logLevel, hc.source, hc.mapping, hc.job)
	if err := os.WriteFile(h.conf, []byte(cfg), 0o600); err != nil {
		h.t.Fatal(err)
	}
}

// person is one row of the CSV export.
type person struct {
	id, uid, mail, given, family, title, active string
}

func newPerson(i int) person {
	return person{
		id: fmt.Sprintf("e%05d", i), uid: fmt.Sprintf("user%05d", i), mail: fmt.Sprintf("user%05d@example.com", i),
		given: fmt.Sprintf("Given%d", i), family: "Family", title: "Engineer", active: "yes",
	}
}

func people(n int) []person {
	out := make([]person, n)
	for i := range out {
		out[i] = newPerson(i)
	}
	return out
}

func csvField(s string) string {
	if strings.ContainsAny(s, "\",\n") {
		return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
	}
	return s
}

func csvBytes(ps []person) []byte {
	var b bytes.Buffer
	b.WriteString("id,uid,mail,givenName,sn,title,active\n")
	for _, p := range ps {
		for i, f := range []string{p.id, p.uid, p.mail, p.given, p.family, p.title, p.active} {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(csvField(f))
		}
		b.WriteByte('\n')
	}
	return b.Bytes()
}

func (h *harness) writeCSV(ps []person) {
	h.t.Helper()
	h.writeFile("people.csv", csvBytes(ps))
}

func (h *harness) writeFile(name string, b []byte) {
	h.t.Helper()
	if err := os.WriteFile(filepath.Join(h.dir, name), b, 0o600); err != nil {
		h.t.Fatal(err)
	}
}

// proc is one syncd process with stdout and stderr captured apart.
type proc struct {
	cmd            *exec.Cmd
	stdout, stderr lockedBuffer
	done           chan struct{}
	code           int
	waitErr        error
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// start starts syncd with args; the secret comes from the environment.
func (h *harness) start(args ...string) *proc {
	h.t.Helper()
	p := &proc{cmd: exec.Command(syncdBinary(h.t), args...), done: make(chan struct{})}
	p.cmd.Dir = h.dir
	p.cmd.Env = append(append(os.Environ(), "SYNCD_CONFIG="+h.conf, "SYNCD_PINGONE_CLIENT_SECRET="+clientSecret), h.env...)
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	if err := p.cmd.Start(); err != nil {
		h.t.Fatal(err)
	}
	go func() {
		defer close(p.done)
		err := p.cmd.Wait()
		p.code = p.cmd.ProcessState.ExitCode()
		if _, ok := err.(*exec.ExitError); !ok {
			p.waitErr = err
		}
	}()
	h.t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.done
	})
	return p
}

// wait waits for the process and returns its exit code (-1: killed).
func (p *proc) wait(t *testing.T, within time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(within):
		_ = p.cmd.Process.Kill()
		<-p.done
		t.Fatalf("syncd did not exit within %s; stderr:\n%s", within, tail(p.stderr.String(), 3000))
	}
	if p.waitErr != nil {
		t.Fatal(p.waitErr)
	}
	return p.code
}

// run runs syncd to completion and returns its exit code and output.
func (h *harness) run(args ...string) (int, *proc) {
	h.t.Helper()
	p := h.start(args...)
	return p.wait(h.t, 3*time.Minute), p
}

// syncUntilOK re-runs `syncd sync` until it exits 0 (a run may leave
// per-user failures, exit 4, under injected faults), at most n times.
func (h *harness) syncUntilOK(n int) {
	h.t.Helper()
	var p *proc
	var code int
	for i := 0; i < n; i++ {
		code, p = h.run("sync")
		if code == exitOK {
			return
		}
		if code != exitRejected && code != exitFailed {
			break
		}
	}
	h.t.Fatalf("syncd sync did not converge in %d runs: last exit %d; stderr:\n%s", n, code, tail(p.stderr.String(), 4000))
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", within, what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// usersByExternalID returns the emulator's users keyed by externalId,
// failing the test on a duplicate externalId or username.
func usersByExternalID(t *testing.T, emu *pingonetest.Emulator) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	names := map[string]string{}
	for _, u := range emu.Users() {
		ext, _ := u["externalId"].(string)
		name := strings.ToLower(fmt.Sprint(u["username"]))
		if other, dup := names[name]; dup {
			t.Fatalf("duplicate: users %s and %v share username %q", other, u["id"], name)
		}
		names[name] = fmt.Sprint(u["id"])
		if ext == "" {
			continue
		}
		if _, dup := out[ext]; dup {
			t.Fatalf("duplicate: two PingOne users carry externalId %q", ext)
		}
		out[ext] = u
	}
	return out
}

// checkConverged checks that PingOne holds exactly the export: every
// person once, with the export's attributes and enabled flag; every
// previously synced person no longer exported disabled; nobody else.
func checkConverged(t *testing.T, emu *pingonetest.Emulator, want []person, gone []person) {
	t.Helper()
	us := usersByExternalID(t, emu)
	for _, p := range want {
		u, ok := us[p.id]
		if !ok {
			t.Fatalf("%s (%s) missing from PingOne", p.id, p.uid)
		}
		name, _ := u["name"].(map[string]any)
		got := []any{u["username"], u["email"], name["given"], name["family"], u["title"], u["enabled"]}
		exp := []any{p.uid, p.mail, p.given, p.family, p.title, p.active != "no"}
		for i := range exp {
			if got[i] != exp[i] {
				t.Fatalf("%s: PingOne has %v, want %v", p.id, got, exp)
			}
		}
	}
	for _, p := range gone {
		u, ok := us[p.id]
		if !ok {
			t.Fatalf("%s was deleted: leavers must be disabled, never deleted", p.id)
		}
		if u["enabled"] != false {
			t.Fatalf("%s left the export but is enabled", p.id)
		}
	}
	if len(us) != len(want)+len(gone) {
		t.Fatalf("PingOne holds %d syncd users, want %d", len(us), len(want)+len(gone))
	}
}

// checkStateAgrees opens the SQLite state read-only and checks that every
// checkpoint with a user id names a PingOne user whose username, enabled
// flag and managed attributes are the ones checkpointed.
func checkStateAgrees(t *testing.T, emu *pingonetest.Emulator, dbPath, job string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+dbPath+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT anchor, user_id, username, enabled, status, attributes FROM checkpoints WHERE job = ?`, job)
	if err != nil {
		t.Fatalf("read checkpoints: %v", err)
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		var anchor, id, username, status string
		var enabled bool
		var attrs []byte
		if err := rows.Scan(&anchor, &id, &username, &enabled, &status, &attrs); err != nil {
			t.Fatal(err)
		}
		if id == "" {
			continue
		}
		n++
		u, ok := emu.User(id)
		if !ok {
			t.Fatalf("checkpoint %s names user %s, which PingOne does not have", anchor, id)
		}
		if u["externalId"] != anchor {
			t.Fatalf("checkpoint %s names user %s whose externalId is %v", anchor, id, u["externalId"])
		}
		if status == "failed" || status == "conflict" {
			continue // retried next run: its values may lag
		}
		if !strings.EqualFold(fmt.Sprint(u["username"]), username) || u["enabled"] != enabled {
			t.Fatalf("checkpoint %s: username %q enabled %v; PingOne: %v %v", anchor, username, enabled, u["username"], u["enabled"])
		}
		var m map[string]any
		if len(attrs) > 0 {
			if err := json.Unmarshal(attrs, &m); err != nil {
				t.Fatalf("checkpoint %s attributes %q: %v", anchor, attrs, err)
			}
		}
		for path, v := range m {
			if got := lookup(u, path); fmt.Sprint(got) != fmt.Sprint(v) && !(got == nil && v == "") {
				t.Fatalf("checkpoint %s: %s = %v, PingOne has %v", anchor, path, v, got)
			}
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatal("state holds no checkpoint with a user id")
	}
}

// lookup reads a dotted attribute path (name.given) from a user.
func lookup(u map[string]any, path string) any {
	var cur any = u
	for _, part := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[part]
	}
	return cur
}

// wireEntry is one API request as the recording wrapper saw it: key
// identifies the call (the run's transaction id, method, path and body
// digest), so a retry of one create is told apart from another user's
// create on the same path, and from the same create in a later run.
type wireEntry struct {
	key        string
	arrived    time.Time
	answered   time.Time
	status     int
	retryAfter time.Duration
}

// wireLog wraps the emulator's handler and records every API request.
type wireLog struct {
	mu      sync.Mutex
	entries []wireEntry
}

func (w *wireLog) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/v1/") {
			next.ServeHTTP(rw, r)
			return
		}
		arrived := time.Now()
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		sum := sha256.Sum256(body)
		method := r.Method
		if o := r.Header.Get("X-HTTP-Method-Override"); o != "" {
			method = strings.ToUpper(o)
		}
		sw := &statusWriter{ResponseWriter: rw}
		next.ServeHTTP(sw, r)
		e := wireEntry{key: r.Header.Get("X-Ping-External-Transaction-ID") + " " + method + " " + r.URL.RequestURI() + " " + hex.EncodeToString(sum[:8]),
			arrived: arrived, answered: time.Now(), status: sw.status}
		if ra := sw.Header().Get("Retry-After"); ra != "" {
			var secs int
			_, _ = fmt.Sscan(ra, &secs)
			e.retryAfter = time.Duration(secs) * time.Second
		}
		w.mu.Lock()
		w.entries = append(w.entries, e)
		w.mu.Unlock()
	})
}

func (w *wireLog) snapshot() []wireEntry {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]wireEntry(nil), w.entries...)
}

// statusWriter remembers the status; it passes hijacking through, which
// the emulator uses to drop a connection (a lost response).
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	hj, ok := s.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("the response writer cannot be hijacked")
	}
	return hj.Hijack()
}

// freePort returns a loopback port nobody listens on right now.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
