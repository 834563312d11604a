package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/syncd/syncd/internal/testenv"
)

// tcpProxy forwards connections to target; cut closes the open ones and,
// while down, new ones are closed at once: a network cut or a server that
// is away, as the watch sees them.
type tcpProxy struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	conns []net.Conn
	down  bool
	wg    sync.WaitGroup
}

func newTCPProxy(t *testing.T, target string) *tcpProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpProxy{ln: ln, target: target}
	t.Cleanup(func() {
		_ = ln.Close()
		p.setDown(true)
		p.wg.Wait()
	})
	p.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			down := p.down
			p.mu.Unlock()
			if down {
				_ = c.Close()
				continue
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				_ = c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, s)
			p.mu.Unlock()
			p.wg.Go(func() { _, _ = io.Copy(s, c); _ = s.Close() })
			p.wg.Go(func() { _, _ = io.Copy(c, s); _ = c.Close() })
		}
	})
	return p
}

func (p *tcpProxy) URL() string { return "ldap://" + p.ln.Addr().String() }

// setDown cuts every open connection (down) or lets new ones through.
func (p *tcpProxy) setDown(down bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = down
	if down {
		for _, c := range p.conns {
			_ = c.Close()
		}
		p.conns = nil
	}
}

// watchLDAP is a harness whose job reads a subtree of the test slapd
// through a proxy, watched by `syncd run`.
type watchLDAP struct {
	*harness
	srv   testenv.LDAPServer
	base  string
	conn  *ldap.Conn
	proxy *tcpProxy
	addr  string // syncd run's HTTP address
}

func newWatchLDAP(t *testing.T, users int, extra string) *watchLDAP {
	t.Helper()
	srv := testenv.LDAP(t)
	base := srv.Subtree(t)
	var entries []testenv.LDAPEntry
	for i := range users {
		entries = append(entries, testenv.UserEntry(base, i, map[string][]string{"employeeType": {"staff"}}))
	}
	srv.AddEntries(t, entries)
	target := strings.TrimPrefix(srv.URL, "ldap://")
	w := &watchLDAP{srv: srv, base: base, conn: srv.Conn(t), proxy: newTCPProxy(t, target), addr: freePort(t)}
	src := fmt.Sprintf(`      ldap:
        url: %s
        bind_dn: %s
        base_dn: %s
        filter: (objectClass=inetOrgPerson)
        anchor: entryUUID
        allow_plaintext: true`, w.proxy.URL(), srv.BindDN, base)
	w.harness = newHarness(t, src, `    enabled: employeeType != "leaver"
    watch: true
    watch_debounce: 200ms
    watch_stale_after: 1s
`+extra+"http:\n  listen: "+w.addr+"\n")
	w.syncdEnv = map[string]string{"SYNCD_LDAP_BIND_PASSWORD": srv.Password}
	// Only the watch may apply what the tests change: no scheduled run
	// while they last.
	w.editConf(`schedule: "@every 1m"`, `schedule: "@every 24h"`)
	return w
}

func (w *watchLDAP) dn(i int) string { return fmt.Sprintf("uid=user%06d,%s", i, w.base) }

func (w *watchLDAP) setEmployeeType(t *testing.T, i int, v string) {
	t.Helper()
	mod := ldap.NewModifyRequest(w.dn(i), nil)
	mod.Replace("employeeType", []string{v})
	if err := w.conn.Modify(mod); err != nil {
		t.Fatal(err)
	}
}

func (w *watchLDAP) del(t *testing.T, i int) {
	t.Helper()
	if err := w.conn.Del(ldap.NewDelRequest(w.dn(i), nil)); err != nil {
		t.Fatal(err)
	}
}

// enabled returns the emulator's users' enabled flags by username.
func (w *watchLDAP) enabled() map[string]bool {
	out := map[string]bool{}
	for _, u := range w.emu.Users() {
		e, _ := u["enabled"].(bool)
		out[fmt.Sprint(u["username"])] = e
	}
	return out
}

func (w *watchLDAP) waitDisabled(t *testing.T, within time.Duration, users ...int) {
	t.Helper()
	eventually(t, within, fmt.Sprintf("users %v disabled in PingOne", users), func() bool {
		en := w.enabled()
		for _, i := range users {
			if v, ok := en[fmt.Sprintf("user%06d", i)]; !ok || v {
				return false
			}
		}
		return true
	})
}

func (w *watchLDAP) get(path string) (int, string) {
	resp, err := http.Get("http://" + w.addr + path)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// run starts `syncd run` and waits for its watch to listen.
func (w *watchLDAP) run(t *testing.T) *proc {
	t.Helper()
	p := w.start(t, []string{"SYNCD_LDAP_BIND_PASSWORD=" + w.srv.Password}, "run")
	eventually(t, 60*time.Second, "the watch to listen", func() bool {
		select {
		case err := <-p.done:
			t.Fatalf("syncd run exited: %v\n%s", err, p.output())
		default:
		}
		return strings.Contains(p.output(), "ldap watch listening")
	})
	return p
}

func (w *watchLDAP) stop(t *testing.T, p *proc) {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	if code := p.wait(t, 60*time.Second); code != 0 {
		t.Fatalf("syncd run exited %d after SIGTERM", code)
	}
}

// TestWatchAppliesLeaverAndDeletion: while `syncd run` watches slapd, a
// user whose enabled rule turns false and a deleted user are disabled in
// PingOne by the watch (no scheduled run happens meanwhile), the others
// are left alone, and the lag histogram counts the writes.
func TestWatchAppliesLeaverAndDeletion(t *testing.T) {
	w := newWatchLDAP(t, 8, "")
	w.expect(ExitOK, "sync")
	if n := len(w.enabled()); n != 8 {
		t.Fatalf("%d users after the first sync, want 8", n)
	}
	p := w.run(t)

	w.setEmployeeType(t, 1, "leaver")
	w.del(t, 2)
	w.waitDisabled(t, 60*time.Second, 1, 2)
	en := w.enabled()
	if !en["user000000"] || !en["user000003"] {
		t.Errorf("users not changed in the directory were disabled: %v", en)
	}
	// The emulator holds the disable a moment before syncd reads its answer
	// and observes the lag: wait for the histogram rather than read it once.
	eventually(t, 30*time.Second, "syncd_change_lag_seconds to count the watch's writes", func() bool {
		_, body := w.get("/metrics")
		return strings.Contains(body, `syncd_change_lag_seconds_count{sync_job="people"}`)
	})
	if code, _ := w.get("/readyz"); code != 200 {
		t.Errorf("/readyz %d while the watch listens", code)
	}
	w.stop(t, p)
	if strings.Contains(p.output(), `"run started","job":"people","mode":"full"`) {
		t.Errorf("the watch read the directory completely; want delta reads:\n%s", p.output())
	}
}

// TestWatchResumesAfterACutAndARestart: a change made while the watch's
// connection is cut is applied after it reconnects, and /readyz fails
// while it stays disconnected past watch_stale_after; a change made while
// syncd is stopped is applied when it starts again, from the cookie.
func TestWatchResumesAfterACutAndARestart(t *testing.T) {
	w := newWatchLDAP(t, 8, "")
	w.expect(ExitOK, "sync")
	p := w.run(t)

	w.proxy.setDown(true)
	w.setEmployeeType(t, 0, "leaver")
	eventually(t, 60*time.Second, "/readyz to fail while the watch is disconnected", func() bool {
		code, body := w.get("/readyz")
		return code == 503 && strings.Contains(body, "watch of job people disconnected")
	})
	if !w.enabled()["user000000"] {
		t.Fatal("the change was applied while the directory was unreachable?")
	}
	w.proxy.setDown(false)
	w.waitDisabled(t, 90*time.Second, 0)
	eventually(t, 60*time.Second, "/readyz to recover", func() bool {
		code, _ := w.get("/readyz")
		return code == 200
	})
	w.stop(t, p)

	w.del(t, 3)
	p = w.run(t)
	w.waitDisabled(t, 60*time.Second, 3)
	w.stop(t, p)
	en := w.enabled()
	if !en["user000001"] || !en["user000002"] {
		t.Errorf("unchanged users disabled: %v", en)
	}
}

// TestWatchGateHoldsABurstOfDeletions: a burst of deletions above the
// job's thresholds is held whole by the watch's gate — none reaches
// PingOne, `syncd status` lists them, the gate trip is counted and logged
// — while the batch's other change applies; `sync --allow-mass-disable`
// then applies them.
func TestWatchGateHoldsABurstOfDeletions(t *testing.T) {
	w := newWatchLDAP(t, 8, "")
	w.editConf("watch_debounce: 200ms", "watch_debounce: 3s") // one batch
	w.expect(ExitOK, "sync")
	p := w.run(t)
	for i := range 4 { // 50 % of the managed users; the harness allows 40 %
		w.del(t, i)
	}
	mod := ldap.NewModifyRequest(w.dn(5), nil)
	mod.Replace("givenName", []string{"Renamed"})
	if err := w.conn.Modify(mod); err != nil {
		t.Fatal(err)
	}
	var status string
	eventually(t, 90*time.Second, "syncd status to list 4 held disables", func() bool {
		_, status, _ = w.syncd("status")
		return strings.Contains(status, "safety gate: 4 disables held")
	})
	eventually(t, 30*time.Second, "the batch's rename to apply", func() bool {
		for _, u := range w.emu.Users() {
			if u["username"] == "user000005" {
				name, _ := u["name"].(map[string]any)
				return name["given"] == "Renamed"
			}
		}
		return false
	})
	for name, en := range w.enabled() {
		if !en {
			t.Errorf("%s disabled although the gate held its disable", name)
		}
	}
	if !strings.Contains(p.output(), "safety gate") {
		t.Error(`no log line says "safety gate"`)
	}
	// The run records its metrics as it ends, a moment after status lists
	// what it held: wait for the count rather than read it once.
	var metrics string
	eventually(t, 30*time.Second, "syncd_safety_gate_trips_total to count the held batch", func() bool {
		_, metrics = w.get("/metrics")
		return strings.Contains(metrics, `syncd_safety_gate_trips_total{sync_job="people"} `) &&
			!strings.Contains(metrics, `syncd_safety_gate_trips_total{sync_job="people"} 0`)
	})
	w.stop(t, p)

	// A scheduled run does not apply them either.
	w.expect(ExitOK, "sync")
	if n := countDisabled(w.enabled()); n != 0 {
		t.Fatalf("a run without --allow-mass-disable disabled %d held users", n)
	}
	w.expect(ExitOK, "sync", "--allow-mass-disable")
	w.waitDisabled(t, time.Second, 0, 1, 2, 3)
	if n := countDisabled(w.enabled()); n != 4 {
		t.Fatalf("%d users disabled, want the 4 deleted", n)
	}
	if _, status, _ = w.syncd("status"); strings.Contains(status, "held") {
		t.Errorf("held disables still listed after --allow-mass-disable:\n%s", status)
	}
}

func countDisabled(en map[string]bool) int {
	n := 0
	for _, v := range en {
		if !v {
			n++
		}
	}
	return n
}

// TestWatchHAOneReplicaWatchesAndTheOtherTakesOver: two `syncd run` on one
// PostgreSQL: one holds the job's watch lease and watches, the standby is
// ready and does not watch; after the watcher is killed (SIGKILL: no
// release) the standby takes the lease over and applies a change made
// meanwhile.
func TestWatchHAOneReplicaWatchesAndTheOtherTakesOver(t *testing.T) {
	pgURL, schema := testenv.PostgresURL(t), testenv.PostgresSchema(t)
	w := newWatchLDAP(t, 8, "")
	w.useStateURL(t, withSearchPath(pgURL, schema))
	w.expect(ExitOK, "sync")
	pw := "SYNCD_LDAP_BIND_PASSWORD=" + w.srv.Password
	addrs := []string{freePort(t), freePort(t)}
	procs := []*proc{
		w.start(t, []string{pw, "SYNCD_HTTP_LISTEN=" + addrs[0]}, "run"),
		w.start(t, []string{pw, "SYNCD_HTTP_LISTEN=" + addrs[1]}, "run"),
	}
	const listening = "ldap watch listening"
	holder := -1
	eventually(t, 60*time.Second, "one replica to watch", func() bool {
		for i, p := range procs {
			if strings.Contains(p.output(), listening) {
				holder = i
				return true
			}
		}
		return false
	})
	standby := 1 - holder
	ready := func(i int) bool {
		resp, err := http.Get("http://" + addrs[i] + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	}
	eventually(t, 60*time.Second, "both replicas ready", func() bool { return ready(0) && ready(1) })

	w.setEmployeeType(t, 0, "leaver")
	w.waitDisabled(t, 60*time.Second, 0)
	if strings.Contains(procs[standby].output(), listening) {
		t.Fatalf("both replicas watch the job:\n%s", procs[standby].output())
	}

	_ = procs[holder].cmd.Process.Kill()
	procs[holder].wait(t, 30*time.Second)
	w.del(t, 1)
	w.waitDisabled(t, 120*time.Second, 1)
	if !strings.Contains(procs[standby].output(), listening) {
		t.Errorf("the change was applied, but the standby never took the watch over:\n%s", procs[standby].output())
	}
	w.stop(t, procs[standby])
}
