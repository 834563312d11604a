package ldapsource

import (
	"fmt"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/syncd/syncd/internal/secret"
	"github.com/syncd/syncd/internal/testenv"
)

// BenchmarkWatchADNotify measures the AD notification watch on Samba:
// while idle for 10 s (connected, nothing changing), the process's CPU,
// the bytes it sends to the DC and the runs it asks for; then the time
// from an LDAP modify's answer (a user disabled) to the watch's Changed,
// for 10 users one after another (p50, max). Samba re-runs pending
// notification searches every 5 s, so that bounds the lag here.
//
//	go test -run '^$' -bench BenchmarkWatchADNotify -benchtime 1x ./sources/ldapsource/
func BenchmarkWatchADNotify(b *testing.B) {
	if b.N > 1 {
		b.Skip("one measured pass is the figure (-benchtime 1x)")
	}
	var t testing.TB = b
	srv := testenv.AD(t)
	parent := srv.Subtree(t)
	tag := samPrefix(parent)
	const changes = 10
	var users []testenv.LDAPEntry
	for i := range changes {
		users = append(users, testenv.ADUser(parent, fmt.Sprintf("%s-%d", tag, i), false, nil))
	}
	srv.AddEntries(t, users)
	proxy := newCutProxy(b, strings.TrimPrefix(srv.URL, "ldap://"), -1)
	src := mustNew(t, Config{URL: proxy.URL(), AllowPlaintext: true, BindDN: srv.BindDN, BindPassword: secret.New(srv.Password),
		BaseDN: DNList{parent}, Anchor: "objectGUID", Timeout: time.Minute, WatchMethod: WatchNotify})
	n := startWatch(b, src, 10*time.Minute)

	sent0, cpu0, wall0 := proxy.sent.Load(), processCPU(t), time.Now()
	changes0 := n.changesSince(time.Time{})
	time.Sleep(10 * time.Second) // the measured window itself, not a wait for something
	idle := float64(processCPU(t)-cpu0) / float64(time.Since(wall0))
	idleSent, idleRuns := proxy.sent.Load()-sent0, n.changesSince(time.Time{})-changes0

	c := srv.Conn(t)
	var lags []time.Duration
	for _, u := range users {
		m := ldap.NewModifyRequest(u.DN, nil)
		m.Replace("userAccountControl", []string{"546"})
		if err := c.Modify(m); err != nil {
			t.Fatal(err)
		}
		at := time.Now()
		waitFor(b, time.Minute, "the disable to be notified", func() bool { return n.changedSince(at) })
		n.mu.Lock()
		lags = append(lags, n.changes[len(n.changes)-1].Sub(at))
		n.mu.Unlock()
	}
	slices.Sort(lags)
	b.ReportMetric(100*idle, "idle-cpu-%")
	b.ReportMetric(float64(idleSent), "idle-bytes-sent")
	b.ReportMetric(lags[len(lags)/2].Seconds(), "lag-p50-s")
	b.ReportMetric(lags[len(lags)-1].Seconds(), "lag-max-s")
	b.Logf("idle 10 s: CPU %.3f%% of a core, %d bytes sent, %d runs asked for; disable -> Changed: p50 %s, max %s (%d changes)",
		100*idle, idleSent, idleRuns, lags[len(lags)/2].Round(time.Millisecond), lags[len(lags)-1].Round(time.Millisecond), len(lags))
}

// processCPU is the process's user and system CPU time so far.
func processCPU(t testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
