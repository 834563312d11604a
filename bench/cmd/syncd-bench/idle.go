package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/syncd/syncd/internal/testenv"
)

// The idle measurement: the real binaries, each a process of its own, so
// that what is measured is syncd alone — not the emulator's users, not the
// harness. bin/pingone-emulator serves PingOne; `bin/syncd run` runs one
// job watching the slapd fixture (watch: true; syncrepl refreshAndPersist,
// or with -idle-delta timestamp a modifyTimestamp poll every
// watch_interval) through a TCP proxy of the harness that counts the LDAP
// messages each way. Once the first run has synced every user and the
// daemon has logged nothing for -idle-settle, the harness samples both
// processes' CPU time (/proc) over -idle-window and counts the API
// requests (the emulator's count and syncd's own metric) and the LDAP
// messages of that window.

// IdleRun is one idle measurement.
type IdleRun struct {
	Users  int    `json:"users"`
	BaseDN string `json:"base_dn"`
	// Delta is the job's ldap.delta ("auto": syncrepl on slapd).
	Delta string `json:"delta"`
	// Created is what the first run created (it must be every user).
	Created         int     `json:"first_run_created"`
	FirstRunSeconds float64 `json:"first_run_seconds"`
	// SettleSeconds is how long the harness waited after the first run
	// before the window: until syncd had logged nothing for -idle-settle.
	SettleSeconds float64 `json:"settle_seconds"`
	WindowSeconds float64 `json:"window_seconds"`
	// CPU is % of one core over the window: from the scheduler's
	// per-thread run time (schedstat, ns) and, as a check, the kernel's
	// utime+stime ticks (/proc/<pid>/stat, 10 ms each).
	SyncdCPUPercent        float64 `json:"syncd_cpu_percent"`
	SyncdCPUPercentTicks   float64 `json:"syncd_cpu_percent_ticks"`
	EmulatorCPUPercent     float64 `json:"emulator_cpu_percent"`
	EmulatorCPUPercentTick float64 `json:"emulator_cpu_percent_ticks"`
	// EmulatorRequests counts what the emulator answered in the window
	// (token requests included); SyncdAPIRequests is syncd's own
	// syncd_api_requests_total over the window.
	EmulatorRequests int     `json:"emulator_requests"`
	SyncdAPIRequests float64 `json:"syncd_api_requests"`
	// LDAP messages and bytes through the proxy in the window: requests
	// (syncd → slapd) and responses (slapd → syncd).
	LDAPRequests      int64   `json:"ldap_requests"`
	LDAPResponses     int64   `json:"ldap_responses"`
	LDAPBytesToServer int64   `json:"ldap_bytes_to_server"`
	SyncdGCCycles     float64 `json:"syncd_gc_cycles"`
	SyncdLogLines     int     `json:"syncd_log_lines"`
	// SyncdRuns counts the runs syncd started in the window (each a
	// read of the source); NeverQuiet says syncd never stopped logging
	// for -idle-settle after the first run (it kept running the job).
	SyncdRuns       int     `json:"syncd_runs"`
	NeverQuiet      bool    `json:"never_quiet,omitempty"`
	SyncdRSSMiB     float64 `json:"syncd_rss_mib"`
	SyncdHeapMiB    float64 `json:"syncd_heap_inuse_mib"`
	EmulatorRSSMiB  float64 `json:"emulator_rss_mib"`
	Load1Before     float64 `json:"load1_before"`
	Load1After      float64 `json:"load1_after"`
	WatchInterval   string  `json:"watch_interval,omitempty"`
	WantLDAPQueries float64 `json:"want_ldap_requests"`
}

// idleEnvID is the emulator's environment in the idle run.
const idleEnvID = "5f1a7c3e-0d4b-4a8e-9b2f-6c1d2e3f4a5b"

func idleRun(o options, dir string) (*IdleRun, error) {
	for _, b := range []string{o.syncdBin, o.emulatorBin} {
		if _, err := os.Stat(b); err != nil {
			return nil, fmt.Errorf("%w (make build)", err)
		}
	}
	base := testenv.Getenv("SYNCD_TEST_LDAP_BASE_DN", "dc=syncd,dc=test")
	sub := o.idleBase
	if sub == "" {
		sub = fmt.Sprintf("ou=bench%d,%s", o.idleN, base)
	}
	ldapURL := testenv.Getenv("SYNCD_TEST_LDAP_URL", "ldap://127.0.0.1:3389")
	host, ok := strings.CutPrefix(ldapURL, "ldap://")
	if !ok {
		return nil, fmt.Errorf("SYNCD_TEST_LDAP_URL %s: want ldap://", ldapURL)
	}
	if err := checkFixture(ldapURL, base, sub); err != nil {
		return nil, err
	}
	proxy, err := newLDAPProxy(host)
	if err != nil {
		return nil, err
	}
	defer proxy.close()

	work := filepath.Join(dir, "idle")
	if err := os.MkdirAll(work, 0o700); err != nil {
		return nil, err
	}
	secret := "idle-bench-secret"
	emuAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	emuLog, err := os.Create(filepath.Join(work, "emulator.log"))
	if err != nil {
		return nil, err
	}
	defer emuLog.Close()
	emu := exec.Command(o.emulatorBin, "-listen", emuAddr, "-env", idleEnvID, "-client-id", "idle-bench",
		"-populations", "Default,Staff", "-max-page-size", "1000")
	emu.Env = append(os.Environ(), "SYNCD_PINGONE_CLIENT_SECRET="+secret)
	emu.Stdout, emu.Stderr = emuLog, emuLog
	if err := emu.Start(); err != nil {
		return nil, err
	}
	defer stopProcess(emu, waitExit(emu))
	if err := waitTCP(emuAddr, 10*time.Second); err != nil {
		return nil, fmt.Errorf("emulator: %w", err)
	}

	httpAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	delta, interval := "", ""
	if o.idleDelta != "auto" {
		delta = "\n        delta: " + o.idleDelta
	}
	if o.idleInterval > 0 {
		interval = "\n    watch_interval: " + o.idleInterval.String()
	}
	conf := fmt.Sprintf(`state:
  url: sqlite://%s
pingone:
  api_url: http://%s/v1
  auth_url: http://%s
  environment_id: %s
  client_id: idle-bench
  rate_limit: %g
  concurrency: 16
log:
  level: info
  format: json
http:
  listen: %s
jobs:
  - name: idle
    schedule: "@every 24h"
    run_at_start: true
    watch: true%s
    source:
      ldap:
        url: ldap://%s
        bind_dn: %s
        base_dn: %s
        filter: (objectClass=inetOrgPerson)
        anchor: entryUUID
        allow_plaintext: true
        page_size: 1000%s
    mapping:
      username: uid
      email: mail
      name.given: givenName
      name.family: sn
    population: Staff
`, filepath.Join(work, "state.db"), emuAddr, emuAddr, idleEnvID, o.idleRate, httpAddr, interval,
		proxy.addr(), testenv.Getenv("SYNCD_TEST_LDAP_BIND_DN", "cn=admin,"+base), sub, delta)
	confPath := filepath.Join(work, "syncd.yaml")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		return nil, err
	}
	syncdLog, err := os.Create(filepath.Join(work, "syncd.log"))
	if err != nil {
		return nil, err
	}
	defer syncdLog.Close()
	sd := exec.Command(o.syncdBin, "run", "--config", confPath)
	sd.Env = append(os.Environ(), "SYNCD_PINGONE_CLIENT_SECRET="+secret,
		"SYNCD_LDAP_BIND_PASSWORD="+testenv.Getenv("SYNCD_TEST_LDAP_BIND_PASSWORD", "syncd-test-admin"))
	stderr, err := sd.StderrPipe()
	if err != nil {
		return nil, err
	}
	sd.Stdout = syncdLog
	logs := &logWatch{}
	started := time.Now()
	if err := sd.Start(); err != nil {
		return nil, err
	}
	go logs.scan(stderr, syncdLog)
	sdExited := waitExit(sd)
	defer stopProcess(sd, sdExited)

	r := &IdleRun{Users: o.idleN, BaseDN: sub, Delta: o.idleDelta}
	// The first run: it creates every user (the state is new).
	deadline := time.Now().Add(o.idleTimeout)
	for {
		if c, ok := logs.firstRun(); ok {
			r.Created = c
			r.FirstRunSeconds = time.Since(started).Seconds()
			break
		}
		select {
		case <-sdExited:
			return nil, fmt.Errorf("syncd run exited before its first run finished; its log: %s", syncdLog.Name())
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("no first run within %s; syncd log: %s", o.idleTimeout, syncdLog.Name())
		}
	}
	if r.Created != o.idleN {
		return nil, fmt.Errorf("the first run created %d users, not %d (is %s complete?)", r.Created, o.idleN, sub)
	}
	fmt.Fprintf(os.Stderr, "idle: first run created %d users in %.1f s; settling until syncd has logged nothing for %s\n", r.Created, r.FirstRunSeconds, o.idleSettle)
	settle0 := time.Now()
	for time.Since(logs.last()) < o.idleSettle {
		if time.Since(settle0) > o.idleSettle+2*time.Minute {
			// Measured anyway: the runs in the window are the finding.
			r.NeverQuiet = true
			fmt.Fprintf(os.Stderr, "idle: syncd has not been quiet for %s within %s of the first run: measuring anyway\n", o.idleSettle, o.idleSettle+2*time.Minute)
			break
		}
		time.Sleep(time.Second)
	}
	r.SettleSeconds = time.Since(settle0).Seconds()

	m0, err := scrape("http://" + httpAddr + "/metrics")
	if err != nil {
		return nil, err
	}
	e0, err := emulatorStats(emuAddr)
	if err != nil {
		return nil, err
	}
	// Let the scrape's own work end before the window opens.
	time.Sleep(time.Second)
	lines0, runs0, p0 := logs.count(), logs.runCount(), proxy.snapshot()
	r.Load1Before = load1()
	s0, e0cpu := cpuOf(sd.Process.Pid), cpuOf(emu.Process.Pid)
	w0 := time.Now()
	// The measured window itself, in steps of -idle-step when asked.
	for end := w0.Add(o.idleWindow); time.Now().Before(end); {
		step := time.Until(end)
		if o.idleStep > 0 {
			step = min(step, o.idleStep)
		}
		time.Sleep(step)
		if o.idleStep > 0 {
			c, p := cpuOf(sd.Process.Pid), proxy.snapshot()
			fmt.Fprintf(os.Stderr, "idle +%5.1fs: syncd CPU %.1f ms so far, LDAP messages from slapd %d so far\n",
				time.Since(w0).Seconds(), float64(c.sched-s0.sched)/1e6, p.responses-p0.responses)
		}
	}
	s1, e1cpu := cpuOf(sd.Process.Pid), cpuOf(emu.Process.Pid)
	wall := time.Since(w0)
	p1, lines1, runs1 := proxy.snapshot(), logs.count(), logs.runCount()
	r.Load1After = load1()
	e1, err := emulatorStats(emuAddr)
	if err != nil {
		return nil, err
	}
	m1, err := scrape("http://" + httpAddr + "/metrics")
	if err != nil {
		return nil, err
	}

	r.WindowSeconds = wall.Seconds()
	r.SyncdCPUPercent, r.SyncdCPUPercentTicks = s1.percentSince(s0, wall)
	r.EmulatorCPUPercent, r.EmulatorCPUPercentTick = e1cpu.percentSince(e0cpu, wall)
	r.EmulatorRequests = e1.Stats.Requests - e0.Stats.Requests
	r.SyncdAPIRequests = m1.sum("syncd_api_requests_total") - m0.sum("syncd_api_requests_total")
	r.SyncdGCCycles = m1.sum("go_gc_duration_seconds_count") - m0.sum("go_gc_duration_seconds_count")
	r.SyncdHeapMiB = m1.sum("go_memstats_heap_inuse_bytes") / (1 << 20)
	r.LDAPRequests, r.LDAPResponses = p1.requests-p0.requests, p1.responses-p0.responses
	r.LDAPBytesToServer = p1.toServer - p0.toServer
	r.SyncdLogLines = lines1 - lines0
	r.SyncdRuns = runs1 - runs0
	r.SyncdRSSMiB = rssMiB(sd.Process.Pid)
	r.EmulatorRSSMiB = rssMiB(emu.Process.Pid)
	if o.idleDelta != "auto" && o.idleDelta != "syncrepl" {
		iv := o.idleInterval
		if iv == 0 {
			iv = 10 * time.Second
		}
		r.WatchInterval = iv.String()
		r.WantLDAPQueries = wall.Seconds() / iv.Seconds()
	}
	fmt.Fprintf(os.Stderr, "idle (%d users, %s): syncd %.3f %% of a core (ticks: %.3f %%), emulator %.3f %% (ticks: %.3f %%) over %.0f s; API requests: %d at the emulator, %.0f by syncd's metric; LDAP: %d requests, %d responses; syncd: %d runs, %.0f GC cycles, %d log lines, RSS %.0f MiB, heap in use %.0f MiB; emulator RSS %.0f MiB; load %.1f → %.1f\n",
		r.Users, sub, r.SyncdCPUPercent, r.SyncdCPUPercentTicks, r.EmulatorCPUPercent, r.EmulatorCPUPercentTick, r.WindowSeconds,
		r.EmulatorRequests, r.SyncdAPIRequests, r.LDAPRequests, r.LDAPResponses, r.SyncdRuns, r.SyncdGCCycles, r.SyncdLogLines,
		r.SyncdRSSMiB, r.SyncdHeapMiB, r.EmulatorRSSMiB, r.Load1Before, r.Load1After)
	return r, nil
}

// logWatch follows syncd's JSON log.
type logWatch struct {
	mu      sync.Mutex
	lines   int
	at      time.Time
	created int
	done    bool
	runs    int
}

func (l *logWatch) scan(r io.Reader, copyTo io.Writer) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		_, _ = copyTo.Write(append(line, '\n'))
		var e struct {
			Msg     string `json:"msg"`
			Status  string `json:"status"`
			Created *int   `json:"created"`
			RunID   string `json:"run_id"`
		}
		_ = json.Unmarshal(line, &e)
		l.mu.Lock()
		l.lines++
		l.at = time.Now()
		if e.Msg == "run started" && e.RunID != "" {
			l.runs++
		}
		if !l.done && e.Msg == "run finished" && e.Created != nil {
			l.done, l.created = true, *e.Created
		}
		l.mu.Unlock()
	}
}

func (l *logWatch) firstRun() (int, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.created, l.done
}

func (l *logWatch) last() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.at
}

func (l *logWatch) runCount() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.runs
}

func (l *logWatch) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lines
}

// procCPU is a process's CPU time so far, two ways.
type procCPU struct {
	sched time.Duration // sum of its threads' schedstat run time
	ticks int64         // utime + stime, in clock ticks
}

// clkTck is USER_HZ, 100 on every Linux Go supports.
const clkTck = 100

func cpuOf(pid int) procCPU {
	var c procCPU
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
		// The fields after the command (which may hold spaces) start
		// after the last ')': state is field 3, utime 14, stime 15.
		if i := strings.LastIndexByte(string(b), ')'); i >= 0 {
			f := strings.Fields(string(b[i+1:]))
			if len(f) > 12 {
				u, _ := strconv.ParseInt(f[11], 10, 64)
				s, _ := strconv.ParseInt(f[12], 10, 64)
				c.ticks = u + s
			}
		}
	}
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", pid))
	for _, t := range tasks {
		b, err := os.ReadFile(t)
		if err != nil {
			continue
		}
		if f := strings.Fields(string(b)); len(f) > 0 {
			ns, _ := strconv.ParseInt(f[0], 10, 64)
			c.sched += time.Duration(ns)
		}
	}
	return c
}

// percentSince is the % of one core used since before, over wall.
func (c procCPU) percentSince(before procCPU, wall time.Duration) (sched, ticks float64) {
	sched = 100 * float64(c.sched-before.sched) / float64(wall)
	ticks = 100 * float64(c.ticks-before.ticks) / clkTck / wall.Seconds()
	return round(sched), round(ticks)
}

func rssMiB(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return round(kb / 1024)
		}
	}
	return 0
}

// metricsText is a Prometheus text exposition, by series name.
type metricsText map[string][]float64

func scrape(url string) (metricsText, error) {
	resp, err := http.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	m := metricsText{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		name, rest, _ := strings.Cut(line, " ")
		if i := strings.IndexByte(name, '{'); i >= 0 {
			// Labels may hold spaces: the value follows the closing brace.
			j := strings.LastIndexByte(line, '}')
			name, rest = line[:i], strings.TrimSpace(line[j+1:])
		}
		v, err := strconv.ParseFloat(strings.Fields(rest + " x")[0], 64)
		if err == nil {
			m[name] = append(m[name], v)
		}
	}
	return m, sc.Err()
}

func (m metricsText) sum(name string) float64 {
	s := 0.0
	for _, v := range m[name] {
		s += v
	}
	return s
}

// emulatorLive is bin/pingone-emulator's /_emulator/stats.
type emulatorLive struct {
	Stats struct{ Requests, TokenRequests, Writes int } `json:"stats"`
	Users int                                           `json:"users"`
}

func emulatorStats(addr string) (emulatorLive, error) {
	var s emulatorLive
	resp, err := http.Get("http://" + addr + "/_emulator/stats")
	if err != nil {
		return s, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return s, fmt.Errorf("emulator stats: %s (a bin/pingone-emulator older than /_emulator/stats? make build)", resp.Status)
	}
	return s, json.NewDecoder(resp.Body).Decode(&s)
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func waitTCP(addr string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			return c.Close()
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitExit waits for a started child in the background; the channel
// closes when it has exited.
func waitExit(c *exec.Cmd) <-chan struct{} {
	done := make(chan struct{})
	go func() { _ = c.Wait(); close(done) }()
	return done
}

// stopProcess ends a child with SIGTERM, then SIGKILL after 30 s.
func stopProcess(c *exec.Cmd, exited <-chan struct{}) {
	_ = c.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(30 * time.Second):
		_ = c.Process.Kill()
		<-exited
	}
}

// checkFixture fails unless slapd answers and holds the idle run's
// subtree.
func checkFixture(url, base, sub string) error {
	c, err := ldap.DialURL(url, ldap.DialWithDialer(&net.Dialer{Timeout: 2 * time.Second}))
	if err != nil {
		return fmt.Errorf("slapd at %s: %w (bash .ci/start-slapd.sh)", url, err)
	}
	defer c.Close()
	if err := c.Bind(testenv.Getenv("SYNCD_TEST_LDAP_BIND_DN", "cn=admin,"+base), testenv.Getenv("SYNCD_TEST_LDAP_BIND_PASSWORD", "syncd-test-admin")); err != nil {
		return fmt.Errorf("slapd at %s: bind: %w", url, err)
	}
	if _, err := c.Search(ldap.NewSearchRequest(sub, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, 10, false, "(objectClass=*)", []string{"1.1"}, nil)); err != nil {
		return fmt.Errorf("fixture %s: %w (bash .ci/ldap/seed-bench.sh N)", sub, err)
	}
	return nil
}

// ldapProxy forwards TCP connections to slapd and counts the LDAP
// messages (BER envelopes) and bytes each way.
type ldapProxy struct {
	ln     net.Listener
	target string
	wg     sync.WaitGroup
	cancel context.CancelFunc
	ctx    context.Context

	requests, responses, toServer atomic.Int64
	mu                            sync.Mutex
	conns                         []net.Conn
}

type proxyCounts struct{ requests, responses, toServer int64 }

func newLDAPProxy(target string) (*ldapProxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &ldapProxy{ln: ln, target: target, ctx: ctx, cancel: cancel}
	p.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := (&net.Dialer{Timeout: 5 * time.Second}).DialContext(ctx, "tcp", target)
			if err != nil {
				_ = c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, s)
			p.mu.Unlock()
			p.wg.Go(func() {
				_, _ = io.Copy(&berCounter{w: s, n: &p.requests, bytes: &p.toServer}, c)
				_ = s.Close()
			})
			p.wg.Go(func() {
				_, _ = io.Copy(&berCounter{w: c, n: &p.responses}, s)
				_ = c.Close()
			})
		}
	})
	return p, nil
}

func (p *ldapProxy) addr() string { return p.ln.Addr().String() }

func (p *ldapProxy) snapshot() proxyCounts {
	return proxyCounts{p.requests.Load(), p.responses.Load(), p.toServer.Load()}
}

func (p *ldapProxy) close() {
	p.cancel()
	_ = p.ln.Close()
	p.mu.Lock()
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

// berCounter passes a byte stream on and counts the BER elements at its
// top level (LDAP messages), without buffering their contents.
type berCounter struct {
	w     io.Writer
	n     *atomic.Int64
	bytes *atomic.Int64
	hdr   []byte // the header read so far
	skip  int64  // content bytes of the current element still to pass
}

func (b *berCounter) Write(p []byte) (int, error) {
	if b.bytes != nil {
		b.bytes.Add(int64(len(p)))
	}
	rest := p
	for len(rest) > 0 {
		if b.skip > 0 {
			k := min(b.skip, int64(len(rest)))
			b.skip -= k
			rest = rest[k:]
			continue
		}
		b.hdr = append(b.hdr, rest[0])
		rest = rest[1:]
		if n, ok := berLength(b.hdr); ok {
			b.n.Add(1)
			b.skip, b.hdr = n, b.hdr[:0]
		} else if len(b.hdr) > 10 {
			return 0, errors.New("ldap proxy: not a BER stream")
		}
	}
	return b.w.Write(p)
}

// berLength returns the content length of the element whose tag and
// length octets hdr holds, once it holds all of them.
func berLength(hdr []byte) (int64, bool) {
	if len(hdr) < 2 {
		return 0, false
	}
	l := hdr[1]
	if l < 0x80 {
		return int64(l), true
	}
	k := int(l & 0x7f)
	if len(hdr) < 2+k {
		return 0, false
	}
	var n int64
	for _, c := range hdr[2 : 2+k] {
		n = n<<8 | int64(c)
	}
	return n, true
}
