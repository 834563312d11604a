package pingone

import (
	"maps"
	"sync"
	"time"
)

// Observer receives the client's transport events, e.g. to export them as
// metrics. Methods are called from request goroutines and must not block.
type Observer interface {
	// Request is called once per HTTP attempt with its operation, status
	// (0 for a transport error) and duration.
	Request(op string, status int, d time.Duration)
	// Retry is called before an attempt is repeated; reason is e.g. "429",
	// "503", "timeout", "transport", "reauth".
	Retry(op string, reason string)
	// RateLimited is called for each 429 response.
	RateLimited(op string)
	// LimiterWait is called with the time a request waited for the
	// client's own rate limiter.
	LimiterWait(d time.Duration)
}

type nopObserver struct{}

func (nopObserver) Request(string, int, time.Duration) {}
func (nopObserver) Retry(string, string)               {}
func (nopObserver) RateLimited(string)                 {}
func (nopObserver) LimiterWait(time.Duration)          {}

var _ Observer = nopObserver{}

// Stats is a snapshot of the client's counters since New.
type Stats struct {
	// Requests counts HTTP attempts by operation and status (0 = transport
	// error, no response).
	Requests map[string]map[int]int64
	// Retries counts repeated attempts (including re-authentications).
	Retries int64
	// RateLimited counts 429 responses.
	RateLimited int64
	// Reauths counts tokens dropped after a 401 from the API.
	Reauths int64
	// TokenFetches counts requests to the token endpoint.
	TokenFetches int64
	// LostCreates counts creates found by externalId after an ambiguous
	// failure instead of being sent again.
	LostCreates int64
	// LimiterWait is the total time requests waited for the rate limiter.
	LimiterWait time.Duration
}

// Total returns the number of HTTP attempts.
func (s Stats) Total() int64 {
	var n int64
	for _, m := range s.Requests {
		for _, c := range m {
			n += c
		}
	}
	return n
}

// Status returns the number of attempts of any operation that ended with
// status.
func (s Stats) Status(status int) int64 {
	var n int64
	for _, m := range s.Requests {
		n += m[status]
	}
	return n
}

// stats is the live, locked form of Stats.
type stats struct {
	mu sync.Mutex
	s  Stats
}

func (st *stats) update(f func(*Stats)) {
	st.mu.Lock()
	f(&st.s)
	st.mu.Unlock()
}

func (st *stats) request(op string, status int) {
	st.mu.Lock()
	if st.s.Requests == nil {
		st.s.Requests = map[string]map[int]int64{}
	}
	m := st.s.Requests[op]
	if m == nil {
		m = map[int]int64{}
		st.s.Requests[op] = m
	}
	m[status]++
	st.mu.Unlock()
}

func (st *stats) snapshot() Stats {
	st.mu.Lock()
	defer st.mu.Unlock()
	out := st.s
	out.Requests = make(map[string]map[int]int64, len(st.s.Requests))
	for op, m := range st.s.Requests {
		out.Requests[op] = maps.Clone(m)
	}
	return out
}
