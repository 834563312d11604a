package chaos

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/syncd/syncd/internal/testenv"
)

// expectFailedRead checks what a run whose source read failed must do:
// exit 1, say on stderr what failed (every fragment in mention), write
// nothing to PingOne, and leave every previously synced user enabled.
func expectFailedRead(t *testing.T, h *harness, synced []string, mention ...string) {
	t.Helper()
	before := h.emu.Stats().Writes
	code, p := h.run("sync")
	stderr := p.stderr.String()
	if code != exitFailed {
		t.Fatalf("exit %d, want %d (run failed); stderr:\n%s", code, exitFailed, tail(stderr, 3000))
	}
	t.Logf("stdout: %s", tail(strings.TrimSpace(p.stdout.String()), 600))
	for _, l := range strings.Split(stderr, "\n") {
		if !strings.HasPrefix(l, "{") && l != "" {
			t.Logf("stderr: %s", l)
		}
	}
	for _, m := range mention {
		if !strings.Contains(strings.ToLower(stderr), strings.ToLower(m)) {
			t.Errorf("stderr does not mention %q:\n%s", m, tail(stderr, 3000))
		}
	}
	if w := h.emu.Stats().Writes - before; w != 0 {
		t.Fatalf("a failed read still wrote %d times to PingOne", w)
	}
	us := usersByExternalID(t, h.emu)
	for _, a := range synced {
		u, ok := us[a]
		if !ok || u["enabled"] != true {
			t.Fatalf("previously synced user %s is %v after a failed read", a, u)
		}
	}
}

func TestTruncatedCSVDisablesNobody(t *testing.T) {
	h := newHarness(t, harnessConfig{job: "    safety: {max_disables: 100000, max_disable_percent: 100}"})
	all := people(40)
	for i := range all {
		all[i].title = `Engineer, "Platform"` // quoted on disk
	}
	h.writeCSV(all)
	if code, p := h.run("sync"); code != exitOK {
		t.Fatalf("first sync: exit %d\n%s", code, tail(p.stderr.String(), 3000))
	}
	var ids []string
	for _, p := range all {
		ids = append(ids, p.id)
	}
	// Cut the export inside the quoted title of the 11th record: the
	// 30 people after it would look like leavers to a careless reader.
	b := csvBytes(all)
	row := bytes.Index(b, []byte("\n"+all[10].id+","))
	cut := row + bytes.Index(b[row:], []byte(`"Engineer, `)) + 5
	h.writeFile("people.csv", b[:cut])
	expectFailedRead(t, h, ids, "read source", "nothing disabled")
}

// ldapHarness syncs two users that the directory returns last, so that a
// read cut short would miss them.
func ldapHarness(t *testing.T, srv testenv.LDAPServer, url, base, filter string) (*harness, harnessConfig) {
	t.Helper()
	hc := harnessConfig{
		source: fmt.Sprintf(`      ldap:
        url: %s
        bind_dn: %s
        base_dn: [%q]
        filter: %q
        anchor: entryUUID
        page_size: 100
        allow_plaintext: true`, url, srv.BindDN, base, filter),
		mapping: `    mapping:
      username: uid
      email: mail
      name.given: givenName
      name.family: sn`,
		job: "    safety: {max_disables: 100000, max_disable_percent: 100}",
	}
	h := newHarness(t, hc)
	h.env = append(h.env, "SYNCD_LDAP_BIND_PASSWORD="+srv.Password)
	return h, hc
}

const ldapFixtureSize = 3000

func ldapFixture(t *testing.T) (testenv.LDAPServer, string) {
	t.Helper()
	srv := testenv.LDAP(t)
	base := srv.Fixture(t, fmt.Sprintf("chaos%d", ldapFixtureSize), "v1", func(parent string) []testenv.LDAPEntry {
		out := make([]testenv.LDAPEntry, ldapFixtureSize)
		for i := range out {
			out[i] = testenv.UserEntry(parent, i, nil)
		}
		return out
	})
	return srv, base
}

// lastTwo are the fixture's last entries, which slapd returns last.
var lastTwo = fmt.Sprintf("(|(uid=user%06d)(uid=user%06d))", ldapFixtureSize-2, ldapFixtureSize-1)

func syncedAnchors(t *testing.T, h *harness) []string {
	t.Helper()
	var out []string
	for a := range usersByExternalID(t, h.emu) {
		out = append(out, a)
	}
	if len(out) != 2 {
		t.Fatalf("first sync made %d users, want 2", len(out))
	}
	return out
}

func TestLDAPConnectionCutMidReadDisablesNobody(t *testing.T) {
	srv, base := ldapFixture(t)
	px := newCutProxy(t, strings.TrimPrefix(srv.URL, "ldap://"))
	h, hc := ldapHarness(t, srv, "ldap://"+px.addr, base, lastTwo)
	if code, p := h.run("sync"); code != exitOK {
		t.Fatalf("first sync: exit %d\n%s", code, tail(p.stderr.String(), 3000))
	}
	synced := syncedAnchors(t, h)

	// Now the whole subtree, 100 entries a page, with the connection cut
	// after about three pages.
	hc.source = strings.Replace(hc.source, fmt.Sprintf("%q", lastTwo), `"(objectClass=inetOrgPerson)"`, 1)
	h.configure(hc)
	px.cutAfter(3 * 100 * 250)
	expectFailedRead(t, h, synced, "read source", "ldap")
	if px.cuts.Load() == 0 {
		t.Fatal("the proxy never cut a connection: the read finished before the cut")
	}
}

func TestWrongBaseDNDisablesNobody(t *testing.T) {
	srv, base := ldapFixture(t)
	h, hc := ldapHarness(t, srv, srv.URL, base, lastTwo)
	if code, p := h.run("sync"); code != exitOK {
		t.Fatalf("first sync: exit %d\n%s", code, tail(p.stderr.String(), 3000))
	}
	synced := syncedAnchors(t, h)
	wrong := "ou=nosuchou," + srv.BaseDN
	hc.source = strings.Replace(hc.source, fmt.Sprintf("%q", base), fmt.Sprintf("%q", wrong), 1)
	h.configure(hc)
	expectFailedRead(t, h, synced, "read source", "nosuchou")
}

// cutProxy forwards TCP connections to a server and, once armed, closes
// every connection after a number of bytes from the server.
type cutProxy struct {
	addr  string
	limit atomic.Int64 // 0: never cut
	cuts  atomic.Int64
}

func newCutProxy(t *testing.T, target string) *cutProxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{addr: l.Addr().String()}
	var wg sync.WaitGroup
	t.Cleanup(func() { l.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				p.serve(c, target)
			}()
		}
	}()
	return p
}

func (p *cutProxy) cutAfter(n int64) { p.limit.Store(n) }

func (p *cutProxy) serve(c net.Conn, target string) {
	defer c.Close()
	s, err := net.Dial("tcp", target)
	if err != nil {
		return
	}
	defer s.Close()
	go func() { _, _ = io.Copy(s, c); s.Close() }()
	limit := p.limit.Load()
	buf := make([]byte, 4096)
	var sent int64
	for {
		n, err := s.Read(buf)
		if n > 0 {
			if limit > 0 && sent+int64(n) > limit {
				_, _ = c.Write(buf[:limit-sent])
				p.cuts.Add(1)
				return
			}
			if _, werr := c.Write(buf[:n]); werr != nil {
				return
			}
			sent += int64(n)
		}
		if err != nil {
			return
		}
	}
}
