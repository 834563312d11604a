package chaos

import (
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSecretsNeverPrinted runs syncd at log level debug through a success,
// a rejected record, a safety-gate trip, a wrong PingOne client secret
// (401) and a wrong LDAP bind password, with a PostgreSQL state URL that
// carries a password, and looks for every secret value in every log line,
// every report file and every error message: there must be none.
func TestSecretsNeverPrinted(t *testing.T) {
	srv, base := ldapFixture(t)
	const (
		pgPassword      = "chaos-PG-pw-4tT9"
		wrongSecret     = "chaos-WRONG-client-secret-Hq2"
		wrongLDAPPasswd = "chaos-WRONG-ldap-pw-Lm5"
	)
	pg, err := url.Parse(pgURL(t))
	if err != nil {
		t.Fatal(err)
	}
	pg.User = url.UserPassword(pg.User.Username(), pgPassword) // trust auth ignores it; syncd still holds it
	h, hc := ldapHarness(t, srv, srv.URL, base, lastTwo)
	hc.state = pg.String()
	h.configure(hc)
	secrets := []string{clientSecret, wrongSecret, srv.Password, wrongLDAPPasswd, pgPassword}

	var seen []string
	step := func(name string, want int, env ...string) {
		t.Helper()
		report := filepath.Join(h.dir, name+".json")
		saved := h.env
		h.env = append(append([]string(nil), h.env...), env...)
		code, p := h.run("sync", "--report", report)
		h.env = saved
		if code != want {
			t.Fatalf("%s: exit %d, want %d; stderr:\n%s", name, code, want, tail(p.stderr.String(), 3000))
		}
		out := p.stdout.String() + p.stderr.String()
		if b, err := os.ReadFile(report); err == nil {
			out += string(b)
		} else if want != exitFailed {
			t.Fatalf("%s: no report: %v", name, err)
		}
		if !strings.Contains(out, `"level":"debug"`) {
			t.Errorf("%s: no debug line in the output: the test would not see what debug logging prints", name)
		}
		for _, l := range strings.Split(p.stderr.String(), "\n") {
			if strings.HasPrefix(l, "syncd:") {
				t.Logf("%s: %s", name, l)
			}
		}
		seen = append(seen, name)
		for _, s := range secrets {
			if n := strings.Count(out, s); n > 0 {
				t.Errorf("%s: secret %.6s… printed %d times", name, s, n)
			}
		}
	}

	step("success", exitOK)
	hc.mapping = strings.Replace(hc.mapping, "email: mail", "email: uid", 1) // every record rejected
	h.configure(hc)
	step("reject", exitRejected)
	hc.mapping = strings.Replace(hc.mapping, "email: uid", "email: mail", 1)
	hc.source = strings.Replace(hc.source, lastTwo, "(uid=nobody-at-all)", 1) // empty read: the gate
	h.configure(hc)
	step("gate", exitGated)
	hc.source = strings.Replace(hc.source, "(uid=nobody-at-all)", lastTwo, 1)
	// A change to apply, so that the run needs PingOne (an unchanged run
	// may need no call at all) and meets the 401.
	hc.mapping = strings.Replace(hc.mapping, "name.family: sn", "name.family: upper(sn)", 1)
	h.configure(hc)
	step("bad-client-secret", exitFailed, "SYNCD_PINGONE_CLIENT_SECRET="+wrongSecret)
	step("bad-ldap-password", exitFailed, "SYNCD_LDAP_BIND_PASSWORD="+wrongLDAPPasswd)
	t.Logf("checked %v for %d secret values", seen, len(secrets))
}
