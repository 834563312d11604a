package ldapsource

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/syncd/syncd/internal/secret"
	"github.com/syncd/syncd/internal/testenv"
	"github.com/syncd/syncd/sources"
)

// BenchmarkWatchForeignWrites measures what an idle syncrepl watch pays
// for writes elsewhere in the directory: slapd's syncprov sends every
// persistent search a SyncInfo "new cookie" for each write to the
// database, in scope or not. It reports the process's CPU per such write
// with the watch running, less the same writes without it.
//
//	go test -run '^$' -bench BenchmarkWatchForeignWrites -benchtime 1x ./sources/ldapsource/
func BenchmarkWatchForeignWrites(b *testing.B) {
	if b.N > 1 {
		b.Skip("one measured pass is the figure (-benchtime 1x)")
	}
	const writes = 3000
	srv := testenv.LDAP(b)
	watched, other := srv.Subtree(b), srv.Subtree(b)
	srv.AddEntries(b, []testenv.LDAPEntry{testenv.UserEntry(watched, 0, nil), testenv.UserEntry(other, 0, nil)})
	c := srv.Conn(b)
	write := func() time.Duration {
		cpu0 := processCPU(b)
		for i := range writes {
			m := ldap.NewModifyRequest(fmt.Sprintf("uid=user000000,%s", other), nil)
			m.Replace("title", []string{fmt.Sprint(i)})
			if err := c.Modify(m); err != nil {
				b.Fatal(err)
			}
		}
		return processCPU(b) - cpu0
	}
	without := write()

	src, err := New(Config{URL: srv.URL, AllowPlaintext: true, BindDN: srv.BindDN, BindPassword: secret.New(srv.Password),
		BaseDN: DNList{watched}, Timeout: time.Minute}, nil)
	if err != nil {
		b.Fatal(err)
	}
	r, err := src.Open(context.Background(), sources.ReadRequest{Full: true})
	if err != nil {
		b.Fatal(err)
	}
	for r.Next() {
	}
	cur := r.Cursor()
	_ = r.Close()
	n := &notes{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- src.Watch(ctx, WatchOptions{Cursor: func(context.Context) ([]byte, error) { return cur, nil }}, n)
	}()
	b.Cleanup(func() { cancel(); <-done })
	deadline := time.Now().Add(time.Minute)
	for ups, _ := n.connections(); ups == 0; ups, _ = n.connections() {
		if time.Now().After(deadline) {
			b.Fatal("the watch did not connect")
		}
		time.Sleep(20 * time.Millisecond)
	}
	b.ResetTimer()
	with := write()
	b.StopTimer()
	n.mu.Lock()
	changes := len(n.changes)
	n.mu.Unlock()
	per := float64(with-without) / writes / 1e3
	b.ReportMetric(per, "watch-cpu-µs/foreign-write")
	b.Logf("%d writes outside the watched subtree: process CPU %s without the watch, %s with it: %.1f µs per write for the watch; changes reported %d",
		writes, without.Round(time.Millisecond), with.Round(time.Millisecond), per, changes)
}
