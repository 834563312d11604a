package budget

import (
	"context"
	"time"
)

// Tuning of the shared schedule. They are constants, not config: they
// shape how the budget is shared, not how big it is (that is rate_limit).
const (
	// BurstWindow is how much unused budget an idle environment saves up:
	// after a pause, at most BurstWindow × rate requests go at once. Kept
	// well under what PingOne's own limiter tolerates, so requests that
	// reach it a little later than their slot (scheduling, connection
	// set-up) never add up to a 429.
	BurstWindow = 50 * time.Millisecond
	// LeaseWindow is how far ahead a process may reserve slots: enough
	// to hide the round trip to the state database behind the requests
	// it already holds, short enough that a process going idle strands
	// at most this much of the budget.
	LeaseWindow = 100 * time.Millisecond
	// ThrottleFactor multiplies the effective rate when PingOne answers
	// 429 (another client spends the same licence).
	ThrottleFactor = 0.5
	// ThrottleDebounce: the 429s of one burst (every request in flight
	// gets one) lower the rate once.
	ThrottleDebounce = time.Second
	// RecoveryPerSecond is the fraction of the configured rate the
	// effective rate regains each second after a throttle: from half the
	// budget back to all of it in 10 s.
	RecoveryPerSecond = 0.05
	// MinShare is the lowest effective rate, as a fraction of the
	// configured one: throttling never stops an environment entirely.
	MinShare = 0.05
)

// Pool is an environment's shared request schedule: the part of the budget
// that every process writing to the environment shares. Implementations
// are safe for concurrent use by several processes.
type Pool interface {
	// Take reserves up to want request slots of env's budget: the next
	// free ones, spaced 1/effective rate apart, none further than
	// LeaseWindow ahead. rate is the configured budget in requests per
	// second. When it grants fewer than want, Grant.Wait says when to ask
	// again.
	Take(ctx context.Context, env string, rate float64, want int) (Grant, error)
	// Throttle lowers env's effective rate after PingOne answered 429,
	// for every process, and returns the new effective rate.
	Throttle(ctx context.Context, env string, rate float64) (float64, error)
}

// Grant is the answer of Pool.Take: Tokens slots, the first at Delay from
// now, the others Interval apart; slots in the past are due at once.
type Grant struct {
	// Tokens is how many requests may be sent.
	Tokens int
	// Delay is the first slot's offset from now; negative when the
	// environment was idle (a saved-up burst, due at once).
	Delay time.Duration
	// Interval separates the slots.
	Interval time.Duration
	// Wait, when Tokens < want, is how long until more can be reserved.
	Wait time.Duration
	// Effective is the environment's effective rate now (requests per
	// second): the configured rate, or less after a 429.
	Effective float64
}

// Slot returns when the i-th granted request may go, relative to now.
func (g Grant) Slot(i int) time.Duration { return max(0, g.Delay+time.Duration(i)*g.Interval) }

// Bucket is the state of one environment's shared schedule (a generic cell
// rate algorithm: Next is the theoretical arrival time of the next
// request). The Pool implementations store its fields and let its methods
// do the arithmetic, so every backend shares the budget the same way.
type Bucket struct {
	// Next is when the schedule is next free.
	Next time.Time
	// Floor is the effective rate right after the last throttle.
	Floor float64
	// Throttled is when PingOne last answered 429; zero: never.
	Throttled time.Time
}

// NewBucket returns the schedule of an environment no one used yet.
func NewBucket(now time.Time) Bucket { return Bucket{Next: now.Add(-BurstWindow)} }

// Effective returns the effective rate at now for the configured rate:
// after a throttle it rises linearly from Floor back to rate.
func (b *Bucket) Effective(now time.Time, rate float64) float64 {
	if b.Throttled.IsZero() {
		return rate
	}
	since := max(0, now.Sub(b.Throttled).Seconds())
	return min(rate, b.Floor+since*rate*RecoveryPerSecond)
}

// Take reserves up to want slots at now (see Pool.Take).
func (b *Bucket) Take(now time.Time, rate float64, want int) Grant {
	eff := b.Effective(now, rate)
	interval := time.Duration(float64(time.Second) / eff)
	g := Grant{Effective: eff, Interval: interval}
	base := b.Next
	if early := now.Add(-BurstWindow); base.Before(early) {
		base = early // idle time saves up one burst window, no more
	}
	horizon := now.Add(LeaseWindow)
	if want > 0 && !base.After(horizon) {
		g.Tokens = min(want, int(horizon.Sub(base)/interval)+1)
		g.Delay = base.Sub(now)
		b.Next = base.Add(time.Duration(g.Tokens) * interval)
	}
	if g.Tokens < want {
		next := base.Add(time.Duration(g.Tokens) * interval)
		g.Wait = max(time.Millisecond, next.Sub(horizon))
	}
	return g
}

// Throttle lowers the effective rate at now after a 429 (see Pool.Throttle).
// Throttles less than ThrottleDebounce apart count once. The saved-up
// burst is dropped: the next request waits for a whole interval.
func (b *Bucket) Throttle(now time.Time, rate float64) float64 {
	eff := b.Effective(now, rate)
	if since := now.Sub(b.Throttled); !b.Throttled.IsZero() && since < ThrottleDebounce && since >= 0 {
		return eff
	}
	b.Floor = max(rate*MinShare, eff*ThrottleFactor)
	b.Throttled = now
	if b.Next.Before(now) {
		b.Next = now
	}
	b.Next = b.Next.Add(time.Duration(float64(time.Second) / b.Floor))
	return b.Floor
}
