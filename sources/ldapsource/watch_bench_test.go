package ldapsource_test

import (
	"context"
	"flag"
	"fmt"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
	"go.uber.org/zap"

	"github.com/syncd/syncd/daemon"
	"github.com/syncd/syncd/internal/testenv"
	"github.com/syncd/syncd/mapper"
	"github.com/syncd/syncd/reconcile"
	"github.com/syncd/syncd/sources"
	"github.com/syncd/syncd/sources/ldapsource"
)

var (
	watchN       = flag.Int("watch.n", 2000, "BenchmarkWatchLag: managed users")
	watchChanges = flag.Int("watch.changes", 20, "BenchmarkWatchLag: leavers, one after the other")
)

// BenchmarkWatchLag measures the real-time path: slapd pushes a change
// (syncrepl refreshAndPersist), the daemon's watch gathers it for the
// default watch_debounce (1s) and the engine applies it as a delta run,
// until the emulator holds the user disabled. It reports the lag from
// the LDAP modify's answer to the disable seen in PingOne (p50, p99 — the
// largest of -watch.changes), the API calls per change (reads included),
// and the process's CPU while the watch is idle (10 s, connected).
//
//	go test -run '^$' -bench BenchmarkWatchLag -benchtime 1x ./sources/ldapsource/ [-watch.n 2000]
func BenchmarkWatchLag(b *testing.B) {
	if b.N > 1 {
		b.Skip("one measured pass is the figure (-benchtime 1x)")
	}
	var t testing.TB = b
	srv := testenv.LDAP(t)
	base := srv.Subtree(t)
	var entries []testenv.LDAPEntry
	for i := range *watchN {
		entries = append(entries, testenv.UserEntry(base, i, map[string][]string{"employeeType": {"staff"}}))
	}
	srv.AddEntries(t, entries)
	src := slapdSource(t, srv, []string{base}, zap.NewNop())
	e := newDeltaEnv(t, src, zap.NewNop())
	var err error
	e.job.Mapper, err = mapper.Compile(mapper.Config{
		Mapping:    map[string]string{"username": "uid", "email": "mail", "name.given": "givenName", "name.family": "sn"},
		Population: mapper.Population{Name: "Staff"},
		Enabled:    `employeeType != "leaver"`,
	})
	if err != nil {
		t.Fatal(err)
	}
	if rep := e.run(t); rep.Counts.Created != *watchN {
		t.Fatalf("first run: %+v", rep.Counts)
	}

	d := daemon.New(daemon.Options{Logger: zap.NewNop()})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- d.Run(ctx, []daemon.Job{{Name: e.job.Name, Schedule: "@every 24h"}}, func(context.Context, string) error { return nil })
	}()
	t.Cleanup(func() { cancel(); <-done })
	<-d.Started()
	connected := make(chan struct{}, 1)
	watch := func(ctx context.Context, n sources.Notify) error {
		return src.(*ldapsource.Source).Watch(ctx, ldapsource.WatchOptions{Cursor: func(ctx context.Context) ([]byte, error) {
			return reconcile.SourceCursor(ctx, e.eng.Store, e.job)
		}}, connectedNotify{n, connected})
	}
	run := func(ctx context.Context, _ string, _ daemon.WatchBatch) error {
		_, err := e.eng.Run(ctx, e.job, reconcile.Options{Watch: true, WatchGateWindow: time.Hour})
		return err
	}
	if err := d.Watch([]daemon.Watch{{Job: e.job.Name, Source: watch, Debounce: time.Second, StaleAfter: time.Hour}}, run); err != nil {
		t.Fatal(err)
	}
	select {
	case <-connected:
	case <-time.After(time.Minute):
		t.Fatal("the watch did not connect within a minute")
	}

	// Idle: connected, nothing changes.
	cpu0, wall0 := cpuTime(t), time.Now()
	time.Sleep(10 * time.Second) // the measured window itself, not a wait for something
	idle := float64(cpuTime(t)-cpu0) / float64(time.Since(wall0))

	c := srv.Conn(t)
	// Poll one user by id: a copy of every user each 5 ms (Users) would
	// hold the emulator's lock and the CPU the engine needs, so the
	// figure would grow with the directory for the bench's own sake.
	ids := map[string]string{}
	for _, u := range e.emu.Users() {
		name, _ := u["username"].(string)
		id, _ := u["id"].(string)
		ids[name] = id
	}
	disabled := func(uid string) bool {
		u, ok := e.emu.User(ids[uid])
		return ok && u["enabled"] == false
	}
	e.emu.ResetStats()
	var lags []time.Duration
	for k := range *watchChanges {
		i := k + 1
		m := ldap.NewModifyRequest(fmt.Sprintf("uid=user%06d,%s", i, base), nil)
		m.Replace("employeeType", []string{"leaver"})
		if err := c.Modify(m); err != nil {
			t.Fatal(err)
		}
		t0 := time.Now()
		uid := fmt.Sprintf("user%06d", i)
		deadline := t0.Add(time.Minute)
		for !disabled(uid) {
			if time.Now().After(deadline) {
				t.Fatalf("%s not disabled within a minute", uid)
			}
			time.Sleep(5 * time.Millisecond)
		}
		lags = append(lags, time.Since(t0))
	}
	calls := e.calls()
	total := 0
	var keys []string
	for k, n := range calls {
		total += n
		keys = append(keys, fmt.Sprintf("%s=%d", k, n))
	}
	slices.Sort(keys)
	slices.Sort(lags)
	p50 := lags[len(lags)/2]
	p99 := lags[min(len(lags)-1, len(lags)*99/100)]
	b.ReportMetric(float64(p50.Milliseconds()), "p50-ms")
	b.ReportMetric(float64(p99.Milliseconds()), "p99-ms")
	b.ReportMetric(float64(total)/float64(len(lags)), "calls/change")
	b.ReportMetric(100*idle, "idle-cpu-%")
	t.Logf("%d managed users, %d leavers one after the other: lag p50 %s, p99 %s, max %s; API calls %s (%d, %.2f per change); idle CPU %.2f%% of a core",
		*watchN, len(lags), p50.Round(time.Millisecond), p99.Round(time.Millisecond), lags[len(lags)-1].Round(time.Millisecond),
		strings.Join(keys, " "), total, float64(total)/float64(len(lags)), 100*idle)
}

// connectedNotify passes a watch's news on and says when it connected.
type connectedNotify struct {
	sources.Notify
	c chan struct{}
}

func (n connectedNotify) Connected(up bool, err error) {
	n.Notify.Connected(up, err)
	if up {
		select {
		case n.c <- struct{}{}:
		default:
		}
	}
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime(t testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
