package budget

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"go.uber.org/zap"
)

const (
	// takeTimeout bounds one Pool.Take.
	takeTimeout = 5 * time.Second
	// failAfter: when the pool keeps failing this long, the waiting
	// requests fail with its error instead of waiting for ever.
	failAfter = 10 * time.Second
	// maxPause caps how long the Limiter sleeps between Takes, so a
	// higher rate (a recovery, another process going idle) is used soon.
	maxPause = 100 * time.Millisecond
)

// Limiter paces one process's requests to one environment. Requests wait
// by Class; tokens come from the Pool only while some wait, and each goes
// straight to the highest-class waiter. Use one Limiter per environment
// per process (Set), shared by every job writing to it.
type Limiter struct {
	pool Pool
	env  string
	rate float64
	log  *zap.Logger
	now  func() time.Time

	mu         sync.Mutex
	queues     [NumClasses][]*waiter
	nwait      int
	spare      int // tokens taken for a waiter that left
	spareUntil time.Time
	fetching   bool
	effective  float64
	throttles  int64
	granted    int64
	window     [8]secCount // tokens granted per second, for Share
}

type waiter struct{ ready chan error }

type secCount struct {
	sec int64
	n   int
}

// NewLimiter returns a Limiter drawing env's budget of rate requests per
// second from pool. env identifies the environment across processes (its
// PingOne environment ID).
func NewLimiter(pool Pool, env string, rate float64, log *zap.Logger) *Limiter {
	if log == nil {
		log = zap.NewNop()
	}
	return &Limiter{pool: pool, env: env, rate: rate, log: log, now: time.Now, effective: rate}
}

// Environment returns the key the Limiter shares the budget under.
func (l *Limiter) Environment() string { return l.env }

// Wait blocks until the request may be sent, or ctx ends. Requests of a
// lower class are served first.
func (l *Limiter) Wait(ctx context.Context, class Class) error {
	if int(class) >= NumClasses {
		class = ClassUpdate
	}
	l.mu.Lock()
	if l.nwait == 0 && l.takeSpare() {
		l.mu.Unlock()
		return nil
	}
	w := &waiter{ready: make(chan error, 1)}
	l.queues[class] = append(l.queues[class], w)
	l.nwait++
	if !l.fetching {
		l.fetching = true
		go l.fetch()
	}
	l.mu.Unlock()

	select {
	case err := <-w.ready:
		return err
	case <-ctx.Done():
		l.mu.Lock()
		defer l.mu.Unlock()
		if l.remove(class, w) {
			return ctx.Err()
		}
		// Served meanwhile: keep the token for the next request.
		if err := <-w.ready; err == nil {
			l.spare++
			l.granted--
			l.count(l.now(), -1)
			if l.spareUntil.IsZero() || l.spareUntil.Before(l.now()) {
				l.spareUntil = l.now().Add(LeaseTTL)
			}
		}
		return ctx.Err()
	}
}

// takeSpare uses a spare token if one is still valid. l.mu is held.
func (l *Limiter) takeSpare() bool {
	if l.spare == 0 {
		return false
	}
	now := l.now()
	if now.After(l.spareUntil) {
		l.spare = 0 // expired: an idle process holds no budget
		return false
	}
	l.spare--
	l.granted++
	l.count(now, 1)
	return true
}

func (l *Limiter) remove(class Class, w *waiter) bool {
	q := l.queues[class]
	for i, x := range q {
		if x == w {
			l.queues[class] = append(q[:i:i], q[i+1:]...)
			l.nwait--
			return true
		}
	}
	return false
}

// serve hands one token to the first waiter of the highest class, or
// returns false when none waits. l.mu is held.
func (l *Limiter) serve(now time.Time) bool {
	for c := range l.queues {
		if q := l.queues[c]; len(q) > 0 {
			w := q[0]
			q[0] = nil
			l.queues[c] = q[1:]
			l.nwait--
			l.granted++
			l.count(now, 1)
			w.ready <- nil
			return true
		}
	}
	return false
}

// failAll ends every wait with err. l.mu is held.
func (l *Limiter) failAll(err error) {
	for c := range l.queues {
		for _, w := range l.queues[c] {
			w.ready <- err
		}
		l.queues[c] = nil
	}
	l.nwait = 0
}

// fetch takes tokens from the pool while requests wait.
func (l *Limiter) fetch() {
	var failing time.Time
	for {
		l.mu.Lock()
		for l.nwait > 0 && l.takeSpareFor() {
		}
		if l.nwait == 0 {
			l.fetching = false
			l.mu.Unlock()
			return
		}
		want := min(l.nwait, max(1, int(math.Floor(l.effective*LeaseWindow.Seconds()))))
		rate := l.rate
		l.mu.Unlock()

		ctx, cancel := context.WithTimeout(context.Background(), takeTimeout)
		g, err := l.pool.Take(ctx, l.env, rate, want)
		cancel()
		if err != nil {
			now := l.now()
			if failing.IsZero() {
				failing = now
				l.log.Warn("pingone rate budget unavailable: requests wait", zap.String("environment", l.env), zap.Error(err))
			}
			if now.Sub(failing) >= failAfter {
				l.mu.Lock()
				l.failAll(fmt.Errorf("pingone rate budget for environment %s: %w", l.env, err))
				l.mu.Unlock()
				failing = time.Time{}
			}
			time.Sleep(maxPause)
			continue
		}
		failing = time.Time{}
		now := l.now()
		l.mu.Lock()
		l.effective = g.Effective
		left := g.Tokens
		for left > 0 && l.serve(now) {
			left--
		}
		if left > 0 {
			l.spare += left
			l.spareUntil = now.Add(LeaseTTL)
		}
		l.mu.Unlock()
		if g.Tokens < want {
			time.Sleep(min(max(g.Wait, time.Millisecond), maxPause))
		}
	}
}

// takeSpareFor serves one waiter from a spare token. l.mu is held.
func (l *Limiter) takeSpareFor() bool {
	if l.spare == 0 || l.now().After(l.spareUntil) {
		l.spare = 0
		return false
	}
	l.spare--
	return l.serve(l.now())
}

// Throttled tells the environment that PingOne answered 429: the
// effective rate drops for every process sharing the pool.
func (l *Limiter) Throttled(ctx context.Context) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), takeTimeout)
	defer cancel()
	l.mu.Lock()
	rate := l.rate
	l.mu.Unlock()
	eff, err := l.pool.Throttle(ctx, l.env, rate)
	if err != nil {
		l.log.Warn("pingone rate budget: could not lower the shared rate after a 429", zap.String("environment", l.env), zap.Error(err))
		return
	}
	l.mu.Lock()
	l.effective = eff
	l.throttles++
	l.mu.Unlock()
}

func (l *Limiter) count(now time.Time, n int) {
	sec := now.Unix()
	s := &l.window[sec%int64(len(l.window))]
	if s.sec != sec {
		s.sec, s.n = sec, 0
	}
	s.n += n
}

// Stat is a snapshot of a Limiter, for metrics.
type Stat struct {
	// Environment is the key the budget is shared under.
	Environment string
	// Limit is the configured budget (requests per second).
	Limit float64
	// Effective is the environment's effective rate as last seen: Limit,
	// or less after a 429.
	Effective float64
	// Share is this process's rate over the last few whole seconds
	// (requests per second it was granted).
	Share float64
	// Granted counts the tokens this process was granted.
	Granted int64
	// Throttles counts the 429s this process reported.
	Throttles int64
}

// shareSeconds is how many whole seconds Share averages.
const shareSeconds = 5

// Stat returns the Limiter's numbers now.
func (l *Limiter) Stat() Stat {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now().Unix()
	n := 0
	for _, s := range l.window {
		if s.sec < now && s.sec >= now-shareSeconds {
			n += s.n
		}
	}
	return Stat{Environment: l.env, Limit: l.rate, Effective: l.effective, Share: float64(n) / shareSeconds,
		Granted: l.granted, Throttles: l.throttles}
}
