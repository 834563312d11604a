package budget

import (
	"context"
	"errors"
	"math"
	"strings"
	"sync"
	"time"
)

// Memory is a Pool inside one process: jobs of the process share each
// environment's budget, other processes do not see it. The zero value is
// not usable; call NewMemory.
type Memory struct {
	// Now is the clock (default time.Now).
	Now func() time.Time

	mu      sync.Mutex
	buckets map[string]*Bucket
}

var _ Pool = (*Memory)(nil)

// NewMemory returns an empty in-process Pool.
func NewMemory() *Memory { return &Memory{Now: time.Now, buckets: map[string]*Bucket{}} }

// CheckArgs validates the arguments of Take and Throttle for every Pool.
func CheckArgs(env string, rate float64) error {
	switch {
	case strings.TrimSpace(env) == "":
		return errors.New("budget: empty environment")
	case rate <= 0 || math.IsNaN(rate) || math.IsInf(rate, 0):
		return errors.New("budget: rate must be a positive number of requests per second")
	}
	return nil
}

func (m *Memory) bucket(env string, now time.Time) *Bucket {
	b := m.buckets[env]
	if b == nil {
		nb := NewBucket(now)
		b = &nb
		m.buckets[env] = b
	}
	return b
}

// Take implements Pool.
func (m *Memory) Take(ctx context.Context, env string, rate float64, want int) (Grant, error) {
	if err := CheckArgs(env, rate); err != nil {
		return Grant{}, err
	}
	if err := ctx.Err(); err != nil {
		return Grant{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.Now()
	return m.bucket(env, now).Take(now, rate, want), nil
}

// Throttle implements Pool.
func (m *Memory) Throttle(ctx context.Context, env string, rate float64) (float64, error) {
	if err := CheckArgs(env, rate); err != nil {
		return 0, err
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.Now()
	return m.bucket(env, now).Throttle(now, rate), nil
}
