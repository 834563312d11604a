package statetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/syncd/syncd/state"
)

// RunLease checks state.Leaser between two stores on one database, as two
// replicas would hold them: one holder at a time, renewal, takeover after
// expiry, release, and a race for a free lease won by exactly one.
func RunLease(t *testing.T, b Backend) {
	tests := []struct {
		name string
		fn   func(t *testing.T, p leasers)
	}{
		{"Exclusive", testLeaseExclusive},
		{"Renew", testLeaseRenew},
		{"ExpiryTakeover", testLeaseExpiry},
		{"Release", testLeaseRelease},
		{"OutlivesItsStore", testLeaseOutlivesStore},
		{"Race", testLeaseRace},
		{"BadArgs", testLeaseBadArgs},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := b.Open(t)
			peer := b.OpenPeer(t, s)
			a, ok := s.(state.Leaser)
			if !ok {
				t.Fatalf("%T does not implement state.Leaser", s)
			}
			bl, ok := peer.(state.Leaser)
			if !ok {
				t.Fatalf("%T does not implement state.Leaser", peer)
			}
			tt.fn(t, leasers{a: a, b: bl, closeB: peer.Close})
		})
	}
}

// leasers are two stores on one database, as two replicas hold them;
// closeB closes b's store.
type leasers struct {
	a, b   state.Leaser
	closeB func() error
}

// acquire calls AcquireLease and fails the test on an error or when the
// answer is not want.
func acquire(t *testing.T, l state.Leaser, name, holder string, ttl time.Duration, want bool) {
	t.Helper()
	got, err := l.AcquireLease(ctx(t), name, holder, ttl)
	if err != nil {
		t.Fatalf("AcquireLease(%s, %s, %s): %v", name, holder, ttl, err)
	}
	if got != want {
		t.Fatalf("AcquireLease(%s, %s, %s) = %t, want %t", name, holder, ttl, got, want)
	}
}

// eventually polls AcquireLease until it returns true, failing after a
// minute: a guard against a hang on a loaded machine, not a speed limit.
func eventually(t *testing.T, l state.Leaser, name, holder string, ttl time.Duration) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		ok, err := l.AcquireLease(ctx(t), name, holder, ttl)
		if err != nil {
			t.Fatalf("AcquireLease(%s, %s): %v", name, holder, err)
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("AcquireLease(%s, %s): still held by another after a minute", name, holder)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func testLeaseExclusive(t *testing.T, p leasers) {
	a, b := p.a, p.b
	acquire(t, a, "watch/hr", "replica-a", time.Hour, true)
	acquire(t, b, "watch/hr", "replica-b", time.Hour, false)
	acquire(t, a, "watch/hr", "replica-b", time.Hour, false) // the holder, not the store, owns it
	acquire(t, b, "watch/it", "replica-b", time.Hour, true)  // leases are independent
	acquire(t, a, "watch/it", "replica-a", time.Hour, false)
}

func testLeaseRenew(t *testing.T, p leasers) {
	a, b := p.a, p.b
	acquire(t, a, "watch/hr", "replica-a", time.Hour, true)
	acquire(t, a, "watch/hr", "replica-a", time.Hour, true)
	// A renewal sets the expiry to now+ttl: from an hour to a millisecond,
	// then back to an hour, which holds however long ago the millisecond
	// lease expired.
	acquire(t, a, "watch/hr", "replica-a", time.Millisecond, true)
	eventually(t, b, "watch/it", "replica-b", time.Hour) // any round trip: the millisecond passes
	acquire(t, a, "watch/hr", "replica-a", time.Hour, true)
	acquire(t, b, "watch/hr", "replica-b", time.Hour, false)
}

func testLeaseExpiry(t *testing.T, p leasers) {
	a, b := p.a, p.b
	acquire(t, a, "watch/hr", "replica-a", 50*time.Millisecond, true)
	eventually(t, b, "watch/hr", "replica-b", time.Hour)
	// Taken over: the old holder cannot renew it.
	acquire(t, a, "watch/hr", "replica-a", time.Hour, false)
}

func testLeaseRelease(t *testing.T, p leasers) {
	a, b := p.a, p.b
	acquire(t, a, "watch/hr", "replica-a", time.Hour, true)
	// Released by someone who does not hold it: nothing happens.
	if err := b.ReleaseLease(ctx(t), "watch/hr", "replica-b"); err != nil {
		t.Fatalf("ReleaseLease by a non-holder: %v", err)
	}
	acquire(t, b, "watch/hr", "replica-b", time.Hour, false)
	if err := a.ReleaseLease(ctx(t), "watch/hr", "replica-a"); err != nil {
		t.Fatalf("ReleaseLease: %v", err)
	}
	acquire(t, b, "watch/hr", "replica-b", time.Hour, true)
	acquire(t, a, "watch/hr", "replica-a", time.Hour, false)
	if err := a.ReleaseLease(ctx(t), "never-taken", "replica-a"); err != nil {
		t.Fatalf("ReleaseLease of a lease never taken: %v", err)
	}
}

// testLeaseOutlivesStore: a lease is not tied to its holder's connection;
// a holder that dies keeps it until it expires (a reconnecting holder
// does not lose it).
func testLeaseOutlivesStore(t *testing.T, p leasers) {
	acquire(t, p.b, "watch/hr", "replica-b", time.Hour, true)
	if err := p.closeB(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	acquire(t, p.a, "watch/hr", "replica-a", time.Hour, false)
}

func testLeaseRace(t *testing.T, p leasers) {
	a, b := p.a, p.b
	const n = 8
	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		won []string
	)
	start := make(chan struct{})
	for i := range n {
		l := a
		if i%2 == 1 {
			l = b
		}
		holder := fmt.Sprintf("replica-%d", i)
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			ok, err := l.AcquireLease(ctx(t), "watch/hr", holder, time.Hour)
			if err != nil {
				t.Errorf("AcquireLease(%s): %v", holder, err)
				return
			}
			if ok {
				mu.Lock()
				won = append(won, holder)
				mu.Unlock()
			}
		}()
	}
	close(start)
	wg.Wait()
	if len(won) != 1 {
		t.Fatalf("%d holders took one lease: %v; want exactly one", len(won), won)
	}
	acquire(t, a, "watch/hr", won[0], time.Hour, true)
}

func testLeaseBadArgs(t *testing.T, p leasers) {
	a := p.a
	for _, tc := range []struct {
		name, holder string
		ttl          time.Duration
	}{
		{"", "replica-a", time.Hour},
		{"watch/hr", "", time.Hour},
		{"watch/hr", "replica-a", 0},
		{"watch/hr", "replica-a", -time.Second},
	} {
		if ok, err := a.AcquireLease(ctx(t), tc.name, tc.holder, tc.ttl); err == nil || ok {
			t.Errorf("AcquireLease(%q, %q, %s) = %t, %v; want an error", tc.name, tc.holder, tc.ttl, ok, err)
		}
	}
}
