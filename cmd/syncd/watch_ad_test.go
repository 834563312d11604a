package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/syncd/syncd/internal/testenv"
)

// TestWatchADNotifyDisablesLeaverAndDeletion: while `syncd run` watches
// Samba AD with change notifications (watch_interval 10m, schedule 24h:
// neither a poll nor a scheduled run happens during the test), a user
// disabled in AD (userAccountControl |= 2) and a user deleted are disabled
// in PingOne by watch runs reading deltas; the third user is left alone.
func TestWatchADNotifyDisablesLeaverAndDeletion(t *testing.T) {
	srv := testenv.AD(t)
	parent := srv.Subtree(t)
	rdn := strings.SplitN(parent, ",", 2)[0]
	tag := "n" + rdn[strings.LastIndexByte(rdn, '-')+1:][:6]
	var users []testenv.LDAPEntry
	for i := range 6 { // two disables stay under the harness's 40 % gate
		users = append(users, testenv.ADUser(parent, fmt.Sprintf("%s-%d", tag, i), false, nil))
	}
	srv.AddEntries(t, users)
	src := fmt.Sprintf(`      ldap:
        url: %s
        tls: {ca_file: %s}
        bind_dn: %s
        base_dn: %s
        anchor: objectGUID
        watch_method: notify`, srv.LDAPSURL, srv.CAFile, srv.BindDN, parent)
	addr := freePort(t)
	h := newHarness(t, src, `    enabled: adEnabled(userAccountControl)
    watch: true
    watch_debounce: 200ms
    watch_interval: 10m
http:
  listen: `+addr+"\n")
	h.editConf("username: uid", "username: lower(sAMAccountName)")
	h.editConf(`schedule: "@every 1m"`, `schedule: "@every 24h"`)
	h.syncdEnv = map[string]string{"SYNCD_LDAP_BIND_PASSWORD": srv.Password}
	h.expect(ExitOK, "sync")
	enabled := func() map[string]bool {
		out := map[string]bool{}
		for _, u := range h.emu.Users() {
			e, _ := u["enabled"].(bool)
			out[fmt.Sprint(u["username"])] = e
		}
		return out
	}
	if en := enabled(); len(en) != 6 {
		t.Fatalf("after the first sync PingOne has %v, want 6 enabled users", en)
	}

	p := h.start(t, []string{"SYNCD_LDAP_BIND_PASSWORD=" + srv.Password}, "run")
	eventually(t, 60*time.Second, "the watch to listen", func() bool {
		select {
		case err := <-p.done:
			t.Fatalf("syncd run exited: %v\n%s", err, p.output())
		default:
		}
		return strings.Contains(p.output(), "ldap watch listening (Active Directory change notifications)")
	})
	c := srv.Conn(t)
	m := ldap.NewModifyRequest(users[0].DN, nil)
	m.Replace("userAccountControl", []string{"546"}) // 544 | ACCOUNTDISABLE
	if err := c.Modify(m); err != nil {
		t.Fatal(err)
	}
	if err := c.Del(ldap.NewDelRequest(users[1].DN, nil)); err != nil {
		t.Fatal(err)
	}
	eventually(t, 60*time.Second, "the disabled and the deleted user disabled in PingOne", func() bool {
		en := enabled()
		v0, ok0 := en[tag+"-0"]
		v1, ok1 := en[tag+"-1"]
		return ok0 && ok1 && !v0 && !v1 && len(en) == 6
	})
	if en := enabled(); !en[tag+"-2"] {
		t.Errorf("the user left alone was disabled: %v", en)
	}
	out := p.output()
	if strings.Contains(out, `"mode":"full"`) || !strings.Contains(out, `"mode":"delta"`) {
		t.Errorf("want watch runs reading deltas only:\n%s", out)
	}
	if strings.Contains(out, "ldap watch polling") {
		t.Errorf("the watch polled:\n%s", out)
	}
}
