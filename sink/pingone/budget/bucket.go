package budget

import (
	"context"
	"math"
	"time"
)

// Tuning of the shared bucket. They are constants, not config: they shape
// how the budget is shared, not how big it is (that is rate_limit).
const (
	// BurstWindow sizes the bucket: it holds at most BurstWindow of the
	// effective rate, so no process can send a burst the environment's
	// own limiter (PingOne counts per second) would refuse.
	BurstWindow = 100 * time.Millisecond
	// LeaseWindow bounds one Take: a Limiter asks for at most LeaseWindow
	// of the effective rate at a time, so the processes that are busy
	// share the bucket in small slices.
	LeaseWindow = 50 * time.Millisecond
	// LeaseTTL is how long a token a Limiter could not hand out at once
	// (its request was cancelled) stays usable; after that it is dropped,
	// so an idle process holds no budget.
	LeaseTTL = 250 * time.Millisecond
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

// Pool is an environment's shared token bucket: the part of the budget
// that every process writing to the environment shares. Implementations
// are safe for concurrent use by several processes.
type Pool interface {
	// Take grants up to want tokens of env's budget now, refilling the
	// bucket at env's effective rate (at most rate, the configured
	// budget in requests per second). When it grants fewer than want,
	// Grant.Wait says when the rest is likely there.
	Take(ctx context.Context, env string, rate float64, want int) (Grant, error)
	// Throttle lowers env's effective rate after PingOne answered 429,
	// for every process, and returns the new effective rate.
	Throttle(ctx context.Context, env string, rate float64) (float64, error)
}

// Grant is the answer of Pool.Take.
type Grant struct {
	// Tokens is how many requests may be sent now.
	Tokens int
	// Wait is how long until the tokens not granted are likely there.
	Wait time.Duration
	// Effective is the environment's effective rate now (requests per
	// second): the configured rate, or less after a 429.
	Effective float64
}

// Bucket is the state of one environment's shared token bucket. The Pool
// implementations store its fields and let its methods do the arithmetic,
// so every backend shares the budget the same way.
type Bucket struct {
	// Tokens in the bucket at Updated.
	Tokens float64
	// Updated is when Tokens was computed.
	Updated time.Time
	// Floor is the effective rate right after the last throttle.
	Floor float64
	// Throttled is when PingOne last answered 429; zero: never.
	Throttled time.Time
}

// NewBucket returns a full bucket for rate.
func NewBucket(now time.Time, rate float64) Bucket {
	return Bucket{Tokens: capacity(rate), Updated: now}
}

// capacity is how many tokens a bucket of rate holds at most (at least
// one, so a tiny rate still sends).
func capacity(rate float64) float64 {
	return max(1, rate*BurstWindow.Seconds())
}

// Effective returns the effective rate at now for the configured rate:
// after a throttle it rises linearly from Floor back to rate.
func (b *Bucket) Effective(now time.Time, rate float64) float64 {
	if b.Throttled.IsZero() {
		return rate
	}
	since := max(0, now.Sub(b.Throttled).Seconds())
	return min(rate, b.Floor+since*rate*RecoveryPerSecond)
}

// refill brings Tokens to now.
func (b *Bucket) refill(now time.Time, eff float64) {
	if !now.After(b.Updated) {
		b.Updated = now // a clock that stepped back refills nothing
		b.Tokens = min(b.Tokens, capacity(eff))
		return
	}
	b.Tokens = min(capacity(eff), b.Tokens+now.Sub(b.Updated).Seconds()*eff)
	b.Updated = now
}

// Take grants up to want tokens at now (see Pool.Take).
func (b *Bucket) Take(now time.Time, rate float64, want int) Grant {
	eff := b.Effective(now, rate)
	b.refill(now, eff)
	g := Grant{Effective: eff}
	if want <= 0 {
		return g
	}
	g.Tokens = min(want, int(math.Floor(b.Tokens)))
	b.Tokens -= float64(g.Tokens)
	if g.Tokens < want {
		need := min(float64(want-g.Tokens), math.Floor(capacity(eff)))
		g.Wait = time.Duration(max(0, need-b.Tokens) / eff * float64(time.Second))
		g.Wait = max(g.Wait, time.Millisecond)
	}
	return g
}

// Throttle lowers the effective rate at now after a 429 (see Pool.Throttle).
// Throttles less than ThrottleDebounce apart count once.
func (b *Bucket) Throttle(now time.Time, rate float64) float64 {
	eff := b.Effective(now, rate)
	if !b.Throttled.IsZero() && now.Sub(b.Throttled) < ThrottleDebounce && now.Sub(b.Throttled) >= 0 {
		return eff
	}
	b.refill(now, eff)
	b.Floor = max(rate*MinShare, eff*ThrottleFactor)
	b.Throttled = now
	b.Tokens = 0 // everyone pauses for a token's time
	return b.Floor
}
