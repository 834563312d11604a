package chaos

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/syncd/syncd/internal/testenv"
)

// privateSlapd is an OpenLDAP server of the test's own, started with
// .ci/start-slapd.sh in a temporary state directory on free ports, which
// the test may kill.
type privateSlapd struct {
	srv testenv.LDAPServer
	dir string
}

func startPrivateSlapd(t *testing.T) *privateSlapd {
	t.Helper()
	script, err := filepath.Abs(filepath.Join("..", "..", ".ci", "start-slapd.sh"))
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "syncd-chaos-slapd-")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", script)
	cmd.Env = append(os.Environ(), "SYNCD_SLAPD_DIR="+dir,
		"SYNCD_SLAPD_PORT="+strconv.Itoa(freePort(t)), "SYNCD_SLAPDS_PORT="+strconv.Itoa(freePort(t)))
	out, err := cmd.Output()
	t.Cleanup(func() {
		stop := exec.Command("bash", filepath.Join(filepath.Dir(script), "stop-slapd.sh"))
		stop.Env = append(os.Environ(), "SYNCD_SLAPD_DIR="+dir, "PURGE=1")
		_ = stop.Run()
		os.RemoveAll(dir)
	})
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		testenv.Unavailable(t, "a private slapd (.ci/start-slapd.sh)", fmt.Errorf("%v\n%s", err, stderr))
	}
	vars := map[string]string{}
	for _, l := range strings.Split(string(out), "\n") {
		if k, v, ok := strings.Cut(strings.TrimPrefix(l, "export "), "="); ok {
			vars[k] = v
		}
	}
	s := testenv.LDAPServer{URL: vars["SYNCD_TEST_LDAP_URL"], BindDN: vars["SYNCD_TEST_LDAP_BIND_DN"],
		Password: vars["SYNCD_TEST_LDAP_BIND_PASSWORD"], BaseDN: vars["SYNCD_TEST_LDAP_BASE_DN"]}
	if s.URL == "" || s.BindDN == "" {
		t.Fatalf("start-slapd.sh printed no exports:\n%s", out)
	}
	return &privateSlapd{srv: s, dir: dir}
}

func (p *privateSlapd) dial() (*ldap.Conn, error) {
	c, err := ldap.DialURL(p.srv.URL)
	if err != nil {
		return nil, err
	}
	if err := c.Bind(p.srv.BindDN, p.srv.Password); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

func (p *privateSlapd) kill(t *testing.T) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(p.dir, "run", "slapd.pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
}

// TestLDAPServerKilledMidReadDisablesNobody kills a private slapd with
// SIGKILL while syncd pages through it: the run must fail with exit 1,
// write nothing and disable nobody (TestLDAPConnectionCutMidReadDisablesNobody
// cuts the connection instead, through a proxy to the shared slapd).
func TestLDAPServerKilledMidReadDisablesNobody(t *testing.T) {
	sl := startPrivateSlapd(t)
	base := "ou=people," + sl.srv.BaseDN
	entries := []testenv.LDAPEntry{{DN: base, Attrs: map[string][]string{"objectClass": {"organizationalUnit"}, "ou": {"people"}}}}
	for i := 0; i < ldapFixtureSize; i++ {
		entries = append(entries, testenv.UserEntry(base, i, nil))
	}
	t0 := time.Now()
	if err := testenv.AddEntries(sl.dial, entries); err != nil {
		t.Fatal(err)
	}
	t.Logf("loaded %d entries in %s", len(entries), time.Since(t0).Round(time.Millisecond))

	h, hc := ldapHarness(t, sl.srv, sl.srv.URL, base, lastTwo)
	if code, p := h.run("sync"); code != exitOK {
		t.Fatalf("first sync: exit %d\n%s", code, tail(p.stderr.String(), 3000))
	}
	synced := syncedAnchors(t, h)

	// Ten entries a page; slapd dies once the fifth page is in.
	hc.source = strings.Replace(hc.source, fmt.Sprintf("%q", lastTwo), `"(objectClass=inetOrgPerson)"`, 1)
	hc.source = strings.Replace(hc.source, "page_size: 100", "page_size: 10", 1)
	h.configure(hc)
	before := h.emu.Stats().Writes
	p := h.start("sync")
	eventually(t, time.Minute, "the fifth page", func() bool { return strings.Contains(p.stderr.String(), `"page":5,`) })
	sl.kill(t)
	code := p.wait(t, 2*time.Minute)
	stderr := p.stderr.String()
	for _, l := range strings.Split(stderr, "\n") {
		if strings.HasPrefix(l, "syncd:") {
			t.Log(l)
		}
	}
	if code != exitFailed {
		t.Fatalf("exit %d, want %d; stderr:\n%s", code, exitFailed, tail(stderr, 3000))
	}
	if !strings.Contains(stderr, "read source") || !strings.Contains(stderr, "nothing disabled") {
		t.Errorf("stderr does not say the read failed:\n%s", tail(stderr, 3000))
	}
	if w := h.emu.Stats().Writes - before; w != 0 {
		t.Fatalf("a failed read wrote %d times", w)
	}
	us := usersByExternalID(t, h.emu)
	for _, a := range synced {
		if us[a]["enabled"] != true {
			t.Fatalf("%s disabled after a failed read: %v", a, us[a])
		}
	}
}
