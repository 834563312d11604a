package budgettest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"sync"
	"testing"
	"time"

	"github.com/syncd/syncd/sink/pingone/budget"
)

// Opener returns, on each call, a Pool that shares its storage with the
// pools returned before in the same test: a Memory returns itself, a
// database-backed pool opens another connection (as another process
// would) to the same database.
type Opener func() budget.Pool

// Run runs the suite. setup is called once per subtest.
func Run(t *testing.T, setup func(t *testing.T) Opener) {
	tests := []struct {
		name string
		fn   func(t *testing.T, open Opener)
	}{
		{"RejectsBadArguments", testBadArguments},
		{"StartsWithABurstWindowThenSpacesSlots", testStartsFull},
		{"SharedRateNeverAboveBudget", testSharedRate},
		{"EnvironmentsAreSeparate", testEnvironments},
		{"ThrottleLowersTheRateForEveryone", testThrottle},
		{"ThrottleRecoversGradually", testRecovery},
		{"LowerRateTakesEffect", testLowerRate},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, setup(t))
		})
	}
}

// env returns a fresh environment key, so subtests never share a bucket.
func env(t *testing.T) string {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return "env-" + hex.EncodeToString(b[:])
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

func testBadArguments(t *testing.T, open Opener) {
	p := open()
	for _, c := range []struct {
		env  string
		rate float64
	}{{"", 10}, {" ", 10}, {"e", 0}, {"e", -1}} {
		if _, err := p.Take(ctx(t), c.env, c.rate, 1); err == nil {
			t.Errorf("Take(%q, %g): no error", c.env, c.rate)
		}
		if _, err := p.Throttle(ctx(t), c.env, c.rate); err == nil {
			t.Errorf("Throttle(%q, %g): no error", c.env, c.rate)
		}
	}
}

func testStartsFull(t *testing.T, open Opener) {
	p, e := open(), env(t)
	const rate = 200.0
	t0 := time.Now()
	g, err := p.Take(ctx(t), e, rate, 1000)
	if err != nil {
		t.Fatal(err)
	}
	// The burst window's slots are due at once, then LeaseWindow's
	// worth, 1/rate apart.
	want := int(rate*(budget.BurstWindow+budget.LeaseWindow).Seconds()) + 1
	if g.Tokens < want-1 || g.Tokens > want+1 {
		t.Errorf("first take granted %d slots, want the burst and lease windows' %d", g.Tokens, want)
	}
	if g.Slot(0) != 0 || g.Interval != time.Second/rate {
		t.Errorf("first slot in %v, %v apart: want at once, %v apart", g.Slot(0), g.Interval, time.Second/rate)
	}
	if last := g.Slot(g.Tokens - 1); last > budget.LeaseWindow+g.Interval {
		t.Errorf("last slot %v ahead: beyond the lease window", last)
	}
	if g.Wait <= 0 {
		t.Errorf("a partial grant says Wait %v, want > 0", g.Wait)
	}
	if g.Effective != rate {
		t.Errorf("Effective = %g, want %g", g.Effective, rate)
	}
	// The next slots follow the first take's: however long the second
	// take came after (a loaded machine), its slot is not before the
	// first take's last one.
	g2, err := p.Take(ctx(t), e, rate, 1)
	if err != nil {
		t.Fatal(err)
	}
	after := g.Slot(g.Tokens-1) + g.Interval - time.Since(t0) - time.Millisecond
	if g2.Tokens == 1 && g2.Slot(0) < after {
		t.Errorf("a second take got a slot in %v, before the first take's last (%v from then)", g2.Slot(0), after)
	}
	g, err = p.Take(ctx(t), e, rate, 0)
	if err != nil || g.Tokens != 0 {
		t.Errorf("Take(0) = %+v, %v: want no tokens", g, err)
	}
}

// testSharedRate has two "processes" take as fast as they can: together
// they never get more slots than the burst, the lease window and the rate
// over the time allow.
func testSharedRate(t *testing.T, open Opener) {
	key := env(t)
	const rate = 100.0
	dur := 600 * time.Millisecond
	c := ctx(t)
	var mu sync.Mutex
	got := make([]int, 2)
	pools := []budget.Pool{open(), open()}
	start := time.Now()
	var wg sync.WaitGroup
	for i, p := range pools {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Since(start) < dur {
				g, err := p.Take(c, key, rate, 3)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				got[i] += g.Tokens
				mu.Unlock()
				if g.Tokens < 3 {
					time.Sleep(min(g.Wait, 20*time.Millisecond))
				}
				if g.Tokens > 0 && g.Interval != time.Second/rate {
					t.Errorf("slots %v apart, want %v", g.Interval, time.Second/rate)
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start).Seconds()
	total := got[0] + got[1]
	limit := rate*(budget.BurstWindow+budget.LeaseWindow).Seconds() + rate*elapsed + 2
	if float64(total) > limit {
		t.Errorf("granted %d tokens in %.3fs, above the budget's %.1f", total, elapsed, limit)
	}
	if got[0] == 0 || got[1] == 0 {
		t.Errorf("grants %v: one taker got nothing", got)
	}
	// Lenient lower bound: a busy test machine may stall the takers.
	if float64(total) < rate*elapsed/4 {
		t.Errorf("granted %d tokens in %.3fs: far below the budget (%g/s)", total, elapsed, rate)
	}
}

func testEnvironments(t *testing.T, open Opener) {
	p := open()
	a, b := env(t), env(t)
	if _, err := p.Take(ctx(t), a, 200, 1000); err != nil {
		t.Fatal(err)
	}
	g, err := p.Take(ctx(t), b, 200, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if full := int(200 * budget.BurstWindow.Seconds()); g.Tokens < full || g.Slot(0) != 0 {
		t.Errorf("environment b granted %d slots in %v after a was drained, want its own burst (%d) at once", g.Tokens, g.Slot(0), full)
	}
	if _, err := p.Throttle(ctx(t), a, 50); err != nil {
		t.Fatal(err)
	}
	if g, _ := p.Take(ctx(t), b, 200, 0); g.Effective != 200 {
		t.Errorf("b's effective rate %g after a was throttled, want 200", g.Effective)
	}
}

func testThrottle(t *testing.T, open Opener) {
	p1, p2, key := open(), open(), env(t)
	const rate = 100.0
	if _, err := p1.Take(ctx(t), key, rate, 1); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	eff, err := p1.Throttle(ctx(t), key, rate)
	if err != nil {
		t.Fatal(err)
	}
	if eff > rate*budget.ThrottleFactor+1 || eff < rate*budget.MinShare {
		t.Errorf("Throttle returned effective %g, want about %g", eff, rate*budget.ThrottleFactor)
	}
	g, err := p2.Take(ctx(t), key, rate, 100)
	if err != nil {
		t.Fatal(err)
	}
	if g.Effective > rate*budget.ThrottleFactor+1 {
		t.Errorf("the other process sees effective %g after a throttle, want about %g", g.Effective, rate*budget.ThrottleFactor)
	}
	// No saved-up burst after a throttle: slots at the lowered rate,
	// the first one interval on.
	if max := 1 + (time.Since(start)+budget.LeaseWindow).Seconds()*g.Effective; float64(g.Tokens) > max {
		t.Errorf("the other process got %d slots right after a throttle, want at most %.1f (no burst)", g.Tokens, max)
	}
	if g.Tokens > 0 && float64(g.Interval) < float64(time.Second)/(rate*budget.ThrottleFactor+1) {
		t.Errorf("slots %v apart after a throttle, want the lowered rate's", g.Interval)
	}
	// The 429s of one burst lower the rate once.
	eff2, err := p2.Throttle(ctx(t), key, rate)
	if err != nil {
		t.Fatal(err)
	}
	if eff2 < eff {
		t.Errorf("a second throttle within the debounce lowered the rate again: %g < %g", eff2, eff)
	}
}

func testRecovery(t *testing.T, open Opener) {
	p, key := open(), env(t)
	const rate = 100.0
	eff, err := p.Throttle(ctx(t), key, rate)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		g, err := p.Take(ctx(t), key, rate, 0)
		if err != nil {
			t.Fatal(err)
		}
		if g.Effective > rate {
			t.Fatalf("effective %g above the budget %g", g.Effective, rate)
		}
		if g.Effective > eff+0.5 {
			return // recovering
		}
		if time.Now().After(deadline) {
			t.Fatalf("effective rate still %g 5s after a throttle to %g: no recovery", g.Effective, eff)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func testLowerRate(t *testing.T, open Opener) {
	p, key := open(), env(t)
	if _, err := p.Take(ctx(t), key, 1000, 0); err != nil {
		t.Fatal(err)
	}
	g, err := p.Take(ctx(t), key, 20, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if g.Effective != 20 {
		t.Errorf("Effective = %g after the budget went down to 20", g.Effective)
	}
	if max := int(20*(budget.BurstWindow+budget.LeaseWindow).Seconds()) + 2; g.Tokens > max || g.Interval != time.Second/20 {
		t.Errorf("granted %d slots %v apart at rate 20, want at most %d, 50ms apart", g.Tokens, g.Interval, max)
	}
}
