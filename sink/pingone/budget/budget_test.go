package budget_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/syncd/syncd/sink/pingone/budget"
	"github.com/syncd/syncd/sink/pingone/budget/budgettest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestMemoryConformance(t *testing.T) {
	budgettest.Run(t, func(t *testing.T) budgettest.Opener {
		m := budget.NewMemory()
		return func() budget.Pool { return m }
	})
}

func TestBucketSchedulesSlotsAtTheEffectiveRate(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	b := budget.NewBucket(t0)
	// 200/s: slots 5ms apart; 50ms saved up (10 due now), 100ms ahead (20
	// more, and the one at the horizon).
	g := b.Take(t0, 200, 100)
	if g.Tokens != 31 || g.Slot(0) != 0 || g.Interval != 5*time.Millisecond || g.Wait != 5*time.Millisecond {
		t.Fatalf("first take = %+v, want 31 slots 5ms apart from now, ask again in 5ms", g)
	}
	if g.Slot(10) != 0 || g.Slot(11) != 5*time.Millisecond || g.Slot(30) != 100*time.Millisecond {
		t.Errorf("slots %v %v %v", g.Slot(10), g.Slot(11), g.Slot(30))
	}
	if g := b.Take(t0.Add(25*time.Millisecond), 200, 100); g.Tokens != 5 || g.Delay != 80*time.Millisecond {
		t.Errorf("25ms later: %d slots from %v, want 5 from 80ms", g.Tokens, g.Delay)
	}
	if g := b.Take(t0.Add(10*time.Second), 200, 100); g.Tokens != 31 || g.Slot(0) != 0 {
		t.Errorf("after an idle 10s: %+v, want the 50ms burst again, no more (idle time is not saved up)", g)
	}
	// Throttle halves, debounces, and recovers 5% of the budget a second.
	t1 := t0.Add(20 * time.Second)
	if eff := b.Throttle(t1, 100); eff != 50 {
		t.Errorf("throttle: effective %g, want 50", eff)
	}
	if eff := b.Throttle(t1.Add(500*time.Millisecond), 100); eff != 52.5 {
		t.Errorf("throttle within the debounce: effective %g, want 52.5 (unchanged, recovering)", eff)
	}
	if eff := b.Effective(t1.Add(4*time.Second), 100); eff != 70 {
		t.Errorf("4s after: effective %g, want 70", eff)
	}
	if eff := b.Effective(t1.Add(time.Minute), 100); eff != 100 {
		t.Errorf("a minute after: effective %g, want 100", eff)
	}
	// Throttles never stop the environment.
	for i := range 20 {
		b.Throttle(t1.Add(time.Duration(2*i+2)*time.Second), 100)
	}
	if eff := b.Effective(t1.Add(42*time.Second), 100); eff < 100*budget.MinShare {
		t.Errorf("after many throttles: effective %g, below the floor", eff)
	}
}

func TestBucketClockSteppingBackGrantsNothingExtra(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	b := budget.NewBucket(t0)
	b.Take(t0, 100, 100)
	if g := b.Take(t0.Add(-time.Hour), 100, 10); g.Tokens != 0 {
		t.Errorf("clock stepped back: %d slots", g.Tokens)
	}
}

// TestLimiterServesTheHighestClassFirst queues many membership requests,
// then one disable: the disable gets the next token.
func TestLimiterServesTheHighestClassFirst(t *testing.T) {
	pool := budget.NewMemory()
	// Reserve the schedule ahead so every request queues.
	if _, err := pool.Take(context.Background(), "env", 20, 100); err != nil {
		t.Fatal(err)
	}
	l := budget.NewLimiter(pool, "env", 20, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var (
		mu    sync.Mutex
		order []budget.Class
		wg    sync.WaitGroup
	)
	wait := func(c budget.Class) {
		defer wg.Done()
		if err := l.Wait(ctx, c); err != nil {
			return
		}
		mu.Lock()
		order = append(order, c)
		mu.Unlock()
	}
	for range 200 {
		wg.Add(1)
		go wait(budget.ClassMembership)
	}
	waitQueued(t, l, 150)
	wg.Add(2)
	go wait(budget.ClassVerify)
	go wait(budget.ClassDisable)
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		n := len(order)
		var got []budget.Class
		got = append(got, order...)
		mu.Unlock()
		if n >= 8 {
			idx := -1
			for i, c := range got {
				if c == budget.ClassDisable {
					idx = i
				}
			}
			// The disable arrived after some slots may have gone
			// to memberships already (at most a lease window's),
			// but then it jumps the queue.
			if idx < 0 || idx > 4 {
				t.Errorf("disable served at position %d of %v, want among the first", idx, got)
			}
			for _, c := range got {
				if c == budget.ClassVerify {
					t.Errorf("a verify read was served before queued memberships: %v", got)
				}
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d requests served in 10s at 20/s", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	wg.Wait()
	if st := l.Stat(); st.Granted < int64(len(order)) {
		t.Errorf("Stat().Granted = %d, below the %d served", st.Granted, len(order))
	}
}

// waitQueued waits until the Limiter's pool has seen n waiters queue
// (polling Stat would race with serving: poll the goroutines' progress).
func waitQueued(t *testing.T, l *budget.Limiter, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for budget.Waiting(l) < n {
		if time.Now().After(deadline) {
			t.Fatalf("only %d waiters queued", budget.Waiting(l))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestLimitersShareOnePool: two processes' limiters on one pool together
// stay within the budget, and both are served.
func TestLimitersShareOnePool(t *testing.T) {
	pool := budget.NewMemory()
	const rate = 200.0
	a, b := budget.NewLimiter(pool, "env", rate, nil), budget.NewLimiter(pool, "env", rate, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 600*time.Millisecond)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	counts := make([]int, 2)
	for i, l := range []*budget.Limiter{a, b} {
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for l.Wait(ctx, budget.ClassUpdate) == nil {
					mu.Lock()
					counts[i]++
					mu.Unlock()
				}
			}()
		}
	}
	wg.Wait()
	el := time.Since(start).Seconds()
	total := counts[0] + counts[1]
	if max := rate*budget.BurstWindow.Seconds() + rate*el + 2; float64(total) > max {
		t.Errorf("%d requests in %.2fs, above the budget's %.0f", total, el, max)
	}
	if counts[0] == 0 || counts[1] == 0 {
		t.Errorf("counts %v: one process starved", counts)
	}
}

var mu sync.Mutex

// TestIdleLimiterHoldsNoBudget: a limiter reserves only for its waiters,
// so once idle, another process finds the whole budget.
func TestIdleLimiterHoldsNoBudget(t *testing.T) {
	pool := budget.NewMemory()
	l := budget.NewLimiter(pool, "env", 200, nil)
	if err := l.Wait(context.Background(), budget.ClassUpdate); err != nil {
		t.Fatal(err)
	}
	waitIdle(t, l)
	time.Sleep(budget.BurstWindow)
	g, err := pool.Take(context.Background(), "env", 200, 100)
	if err != nil {
		t.Fatal(err)
	}
	if g.Tokens < 30 || g.Slot(0) != 0 {
		t.Errorf("another process got %d slots from %v after the first went idle, want the whole budget (31, at once)", g.Tokens, g.Delay)
	}
}

func waitIdle(t *testing.T, l *budget.Limiter) {
	deadline := time.Now().Add(5 * time.Second)
	for budget.Fetching(l) {
		if time.Now().After(deadline) {
			t.Fatal("the limiter keeps fetching with nobody waiting")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestSlotsHandAFreedSlotToTheHighestClass(t *testing.T) {
	s := budget.NewSlots(1)
	ctx := context.Background()
	if err := s.Acquire(ctx, budget.ClassUpdate); err != nil {
		t.Fatal(err)
	}
	got := make(chan budget.Class, 2)
	for i, c := range []budget.Class{budget.ClassMembership, budget.ClassDisable} {
		go func() {
			if s.Acquire(ctx, c) == nil {
				got <- c
			}
		}()
		for budget.SlotWaiters(s) < i+1 { // the membership queues first
			time.Sleep(time.Millisecond)
		}
	}
	s.Release()
	if c := <-got; c != budget.ClassDisable {
		t.Errorf("freed slot went to %v, want disable", c)
	}
	s.Release()
	<-got
	s.Release()
	// Cancelled waiters leave the queue.
	cctx, cancel := context.WithCancel(ctx)
	if err := s.Acquire(ctx, budget.ClassUpdate); err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() { done <- s.Acquire(cctx, budget.ClassDisable) }()
	for budget.SlotWaiters(s) < 1 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; err == nil {
		t.Error("a cancelled Acquire returned nil")
	}
	s.Release()
	if err := s.Acquire(ctx, budget.ClassVerify); err != nil {
		t.Fatal(err)
	}
}

func TestClassFromContext(t *testing.T) {
	if c := budget.ClassOf(context.Background()); c != budget.ClassUpdate {
		t.Errorf("default class %v, want update", c)
	}
	if c := budget.ClassOf(budget.WithClass(context.Background(), budget.ClassDisable)); c != budget.ClassDisable {
		t.Errorf("class %v, want disable", c)
	}
	if s := budget.ClassMembership.String(); s != "membership" {
		t.Errorf("String() = %q", s)
	}
}
