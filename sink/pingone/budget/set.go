package budget

import (
	"sort"
	"strings"
	"sync"

	"go.uber.org/zap"
)

// Set holds a process's Limiters, one per environment, so every job (and
// every configured name) writing to one PingOne environment shares one
// Limiter and one queue.
type Set struct {
	pool Pool
	log  *zap.Logger

	mu       sync.Mutex
	limiters map[string]*Limiter
}

// NewSet returns an empty Set drawing from pool.
func NewSet(pool Pool, log *zap.Logger) *Set {
	return &Set{pool: pool, log: log, limiters: map[string]*Limiter{}}
}

// Limiter returns the environment's Limiter, creating it with rate. The
// key is case-insensitive (environment IDs are UUIDs). A second call for
// the same environment with another rate keeps the lowest: the budget is
// the environment's, and the config that says less is the safe one.
func (s *Set) Limiter(env string, rate float64) *Limiter {
	key := strings.ToLower(env)
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.limiters[key]
	if l == nil {
		l = NewLimiter(s.pool, key, rate, s.log)
		s.limiters[key] = l
		return l
	}
	if rate < l.rate {
		l.mu.Lock()
		l.rate = rate
		l.effective = min(l.effective, rate)
		l.mu.Unlock()
	}
	return l
}

// Stats returns a snapshot of every Limiter, by environment.
func (s *Set) Stats() []Stat {
	s.mu.Lock()
	ls := make([]*Limiter, 0, len(s.limiters))
	for _, l := range s.limiters {
		ls = append(ls, l)
	}
	s.mu.Unlock()
	out := make([]Stat, 0, len(ls))
	for _, l := range ls {
		out = append(out, l.Stat())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Environment < out[j].Environment })
	return out
}
