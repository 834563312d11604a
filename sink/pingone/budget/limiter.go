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
// by Class; slots are reserved from the Pool only while some wait, and each
// goes to the highest-class waiter, which sends at its slot's time. Use one
// Limiter per environment per process (Set), shared by every job writing
// to it.
type Limiter struct {
	pool Pool
	env  string
	log  *zap.Logger
	now  func() time.Time

	mu        sync.Mutex
	rate      float64
	queues    [NumClasses][]*waiter
	nwait     int
	fetching  bool
	effective float64
	throttles int64
	granted   int64
	window    [8]secCount // slots granted per second, for Share
}

// waiter receives its slot (or an error) on ready.
type waiter struct{ ready chan slot }

type slot struct {
	at  time.Time
	err error
}

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
	w := &waiter{ready: make(chan slot, 1)}
	l.mu.Lock()
	l.queues[class] = append(l.queues[class], w)
	l.nwait++
	if !l.fetching {
		l.fetching = true
		go l.fetch()
	}
	l.mu.Unlock()

	var s slot
	select {
	case s = <-w.ready:
	case <-ctx.Done():
		l.mu.Lock()
		removed := l.remove(class, w)
		l.mu.Unlock()
		if removed {
			return ctx.Err()
		}
		s = <-w.ready // served meanwhile: its slot goes unused
		return ctx.Err()
	}
	if s.err != nil {
		return s.err
	}
	if d := s.at.Sub(l.now()); d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
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

// serve hands a slot to the first waiter of the highest class, or returns
// false when none waits. l.mu is held.
func (l *Limiter) serve(at time.Time) bool {
	for c := range l.queues {
		if q := l.queues[c]; len(q) > 0 {
			w := q[0]
			q[0] = nil
			l.queues[c] = q[1:]
			l.nwait--
			l.granted++
			l.count(at, 1)
			w.ready <- slot{at: at}
			return true
		}
	}
	return false
}

// failAll ends every wait with err. l.mu is held.
func (l *Limiter) failAll(err error) {
	for c := range l.queues {
		for _, w := range l.queues[c] {
			w.ready <- slot{err: err}
		}
		l.queues[c] = nil
	}
	l.nwait = 0
}

// fetch reserves slots from the pool while requests wait.
func (l *Limiter) fetch() {
	var failing time.Time
	for {
		l.mu.Lock()
		if l.nwait == 0 {
			l.fetching = false
			l.mu.Unlock()
			return
		}
		want := min(l.nwait, int(math.Ceil(l.effective*LeaseWindow.Seconds()))+1)
		rate := l.rate
		l.mu.Unlock()

		ctx, cancel := context.WithTimeout(context.Background(), takeTimeout)
		g, err := l.pool.Take(ctx, l.env, rate, want)
		cancel()
		now := l.now()
		if err != nil {
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
		l.mu.Lock()
		l.effective = g.Effective
		for i := 0; i < g.Tokens && l.serve(now.Add(g.Slot(i))); i++ {
			// A slot no one waits for any more (its request was
			// cancelled) goes unused: at most LeaseWindow of budget.
		}
		l.mu.Unlock()
		if g.Tokens < want {
			time.Sleep(min(max(g.Wait, time.Millisecond), maxPause))
		}
	}
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

func (l *Limiter) count(at time.Time, n int) {
	sec := at.Unix()
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
	// (request slots it was granted per second).
	Share float64
	// Granted counts the request slots this process was granted.
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
