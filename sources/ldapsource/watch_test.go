package ldapsource

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/syncd/syncd/internal/secret"
	"github.com/syncd/syncd/internal/testenv"
	"github.com/syncd/syncd/sources"
)

// notes records what a watch tells.
type notes struct {
	mu      sync.Mutex
	changes []time.Time
	ups     int
	downs   int
	lastErr error // of the last disconnection
}

func (n *notes) Changed(at time.Time) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.changes = append(n.changes, at)
}

func (n *notes) Connected(up bool, err error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if up {
		n.ups++
	} else {
		n.downs++
		n.lastErr = err
	}
}

// changedSince reports whether a change was received at or after t.
func (n *notes) changedSince(t time.Time) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, c := range n.changes {
		if !c.Before(t) {
			return true
		}
	}
	return false
}

func (n *notes) connections() (ups, downs int) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.ups, n.downs
}

func waitFor(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", within, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// startWatch runs src.Watch from the cursor of a complete read until the
// test ends.
func startWatch(t testing.TB, src *Source, interval time.Duration) *notes {
	t.Helper()
	r, err := src.Open(context.Background(), sources.ReadRequest{Full: true})
	if err != nil {
		t.Fatal(err)
	}
	for r.Next() {
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	cur := r.Cursor()
	_ = r.Close()
	if len(cur) == 0 {
		t.Fatal("the complete read gave no cursor")
	}
	n := &notes{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- src.Watch(ctx, WatchOptions{Interval: interval, MaxBackoff: time.Second,
			Cursor: func(context.Context) ([]byte, error) { return cur, nil }}, n)
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Watch: %v", err)
		}
	})
	waitFor(t, 60*time.Second, "the watch to connect", func() bool { ups, _ := n.connections(); return ups > 0 })
	return n
}

// TestWatchSlapd: on slapd, a syncrepl watch (refreshAndPersist) and a
// timestamp watch (modifyTimestamp polled) each report a modification; the
// syncrepl watch reports a deletion, and after its connection is cut it
// reconnects and reports a change made meanwhile.
func TestWatchSlapd(t *testing.T) {
	srv := testenv.LDAP(t)
	for _, method := range []string{DeltaSyncrepl, DeltaTimestamp} {
		t.Run(method, func(t *testing.T) {
			base := srv.Subtree(t)
			var entries []testenv.LDAPEntry
			for i := range 3 {
				entries = append(entries, testenv.UserEntry(base, i, nil))
			}
			srv.AddEntries(t, entries)
			proxy := newCutProxy(t, strings.TrimPrefix(srv.URL, "ldap://"), -1)
			cfg := Config{URL: proxy.URL(), AllowPlaintext: true, BindDN: srv.BindDN, BindPassword: secret.New(srv.Password),
				BaseDN: DNList{base}, Timeout: time.Minute, Delta: method}
			src := mustNew(t, cfg)
			n := startWatch(t, src, time.Second)
			c := srv.Conn(t)
			modify := func(i int, title string) time.Time {
				at := time.Now()
				m := ldap.NewModifyRequest(entries[i].DN, nil)
				m.Replace("title", []string{title})
				if err := c.Modify(m); err != nil {
					t.Fatal(err)
				}
				return at
			}
			// modifyTimestamp has whole seconds: a poll must see a second
			// modification within the same second as new.
			at := modify(0, "First")
			waitFor(t, 60*time.Second, "the modification to be reported", func() bool { return n.changedSince(at) })
			at = modify(1, "Second")
			waitFor(t, 60*time.Second, "a second modification to be reported", func() bool { return n.changedSince(at) })
			if method != DeltaSyncrepl {
				return
			}
			at = time.Now()
			if err := c.Del(ldap.NewDelRequest(entries[2].DN, nil)); err != nil {
				t.Fatal(err)
			}
			waitFor(t, 60*time.Second, "the deletion to be reported", func() bool { return n.changedSince(at) })

			proxy.kill() // the watch's connection; new ones pass
			waitFor(t, 60*time.Second, "the watch to see the cut", func() bool { _, downs := n.connections(); return downs > 0 })
			at = modify(1, "While away")
			waitFor(t, 60*time.Second, "the watch to reconnect and report the change made meanwhile", func() bool {
				ups, _ := n.connections()
				return ups > 1 && n.changedSince(at)
			})
		})
	}
}

// TestWatchAD: on Samba AD, a uSNChanged watch and a DirSync watch each
// report a modification and a deletion (a tombstone) found by their polls
// (watch_method poll; TestWatchADNotify watches with notifications).
func TestWatchAD(t *testing.T) {
	srv := testenv.AD(t)
	for _, method := range []string{DeltaUSN, DeltaDirSync} {
		t.Run(method, func(t *testing.T) {
			parent := srv.Subtree(t)
			tag := strings.SplitN(parent, ",", 2)[0]
			tag = "w" + tag[strings.LastIndexByte(tag, '-')+1:][:6]
			var users []testenv.LDAPEntry
			for i := range 2 {
				users = append(users, testenv.ADUser(parent, fmt.Sprintf("%s-%d", tag, i), false, nil))
			}
			srv.AddEntries(t, users)
			src := mustNew(t, Config{URL: srv.LDAPSURL, TLS: TLSConfig{CAFile: srv.CAFile}, BindDN: srv.BindDN,
				BindPassword: secret.New(srv.Password), BaseDN: DNList{parent}, Anchor: "objectGUID", Timeout: time.Minute, Delta: method,
				WatchMethod: WatchPoll})
			n := startWatch(t, src, time.Second)
			c := srv.Conn(t)
			at := time.Now()
			m := ldap.NewModifyRequest(users[0].DN, nil)
			m.Replace("title", []string{"Watched"})
			if err := c.Modify(m); err != nil {
				t.Fatal(err)
			}
			waitFor(t, 60*time.Second, "the modification to be reported", func() bool { return n.changedSince(at) })
			at = time.Now()
			if err := c.Del(ldap.NewDelRequest(users[1].DN, nil)); err != nil {
				t.Fatal(err)
			}
			waitFor(t, 60*time.Second, "the deletion to be reported", func() bool { return n.changedSince(at) })
		})
	}
}

// TestWatchTimestampQuietAfterLoad: a timestamp watch over more entries
// than one probe may return, all changed just before the job's last read
// and none since (a bulk load), goes quiet after a few probes instead of
// reporting a change at every one (each a delta run re-reading the load);
// a change made afterwards is still reported.
func TestWatchTimestampQuietAfterLoad(t *testing.T) {
	srv := testenv.LDAP(t)
	base := srv.Subtree(t)
	var entries []testenv.LDAPEntry
	for i := range 10 {
		entries = append(entries, testenv.UserEntry(base, i, nil))
	}
	srv.AddEntries(t, entries)
	src := mustNew(t, Config{URL: srv.URL, AllowPlaintext: true, BindDN: srv.BindDN, BindPassword: secret.New(srv.Password),
		BaseDN: DNList{base}, Timeout: time.Minute, Delta: DeltaTimestamp})
	r, err := src.Open(context.Background(), sources.ReadRequest{Full: true})
	if err != nil {
		t.Fatal(err)
	}
	for r.Next() {
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	cur := r.Cursor()
	_ = r.Close()

	var mu sync.Mutex
	probes := 0
	n := &notes{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- src.Watch(ctx, WatchOptions{Interval: 300 * time.Millisecond, MaxBackoff: time.Second,
			Cursor:     func(context.Context) ([]byte, error) { return cur, nil },
			probeLimit: 5, // the 10 entries are more than a probe may return
			probed:     func() { mu.Lock(); probes++; mu.Unlock() }}, n)
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Watch: %v", err)
		}
	})
	changesAfter := func(k int) int {
		waitFor(t, 2*time.Minute, fmt.Sprintf("%d probes", k), func() bool { mu.Lock(); defer mu.Unlock(); return probes >= k })
		n.mu.Lock()
		defer n.mu.Unlock()
		return len(n.changes)
	}
	// The probes' watermark passes the load once the server's clock is
	// known to be 2 s past it: 300 ms a probe, 7 probes at most.
	settled := changesAfter(20)
	if later := changesAfter(30); later != settled {
		t.Fatalf("probes 21-30 of an unchanged directory reported %d changes (%d in the first 20): each is a delta run", later-settled, settled)
	}
	if settled == 0 {
		t.Fatal("no change reported at all: the first probe sees entries changed since the cursor")
	}
	c := srv.Conn(t)
	at := time.Now()
	m := ldap.NewModifyRequest(entries[3].DN, nil)
	m.Replace("title", []string{"After the load"})
	if err := c.Modify(m); err != nil {
		t.Fatal(err)
	}
	waitFor(t, time.Minute, "the modification to be reported", func() bool { return n.changedSince(at) })
}
