package pingonetest

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"
)

type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func TestRateLimit(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	s := newTestServer(t, Options{RateLimit: 2, Burst: 3, Now: clock.Now})
	c := newClient(t, s)
	for i := range 3 {
		if r := c.do(http.MethodGet, "/users", nil); r.status != 200 {
			t.Fatalf("request %d within burst: %d", i, r.status)
		}
	}
	r := c.do(http.MethodGet, "/users", nil)
	if r.status != 429 || r.code() != "REQUEST_LIMITED" {
		t.Fatalf("over the limit: %d %s", r.status, r.raw)
	}
	ra, err := strconv.Atoi(r.header.Get("Retry-After"))
	if err != nil || ra < 1 {
		t.Fatalf("Retry-After %q", r.header.Get("Retry-After"))
	}
	// A 429 does nothing: a create over the limit stores no user.
	if r := c.do(http.MethodPost, "/users", minimalUser("limited")); r.status != 429 || s.UserCount() != 0 {
		t.Fatalf("create over the limit: %d, %d users", r.status, s.UserCount())
	}
	clock.Add(time.Duration(ra) * time.Second)
	if r := c.do(http.MethodGet, "/users", nil); r.status != 200 {
		t.Fatalf("after Retry-After: %d", r.status)
	}
	st := s.Stats()
	if st.RateLimited != 2 || st.ByStatus[429] != 2 {
		t.Errorf("stats %+v", st)
	}
	for _, lr := range s.Requests() {
		if lr.Status == 429 && lr.RetryAfter < 1 {
			t.Errorf("logged 429 without Retry-After: %+v", lr)
		}
	}
	// Changing the limit at run time.
	s.SetRateLimit(0, 0)
	for range 10 {
		if r := c.do(http.MethodGet, "/users", nil); r.status != 200 {
			t.Fatalf("unlimited: %d", r.status)
		}
	}
}

func TestFaultsDoNoWork(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{FaultRate: 1, Seed: 7})
	c := newClient(t, s) // the token endpoint is never faulted
	seen := map[int]int{}
	for range 30 {
		r := c.do(http.MethodPost, "/users", minimalUser("faulty"))
		seen[r.status]++
		switch r.status {
		case 500:
			if r.code() != "UNEXPECTED_ERROR" {
				t.Errorf("500 code %s", r.code())
			}
		case 503:
		default:
			t.Fatalf("status %d with FaultRate 1", r.status)
		}
	}
	if seen[500] == 0 || seen[503] == 0 {
		t.Errorf("want both 500 and 503, got %v", seen)
	}
	if s.UserCount() != 0 {
		t.Fatalf("faulted creates stored %d users", s.UserCount())
	}
	if st := s.Stats(); st.Faults != 30 || st.Writes != 0 {
		t.Errorf("stats %+v", st)
	}
	s.SetFaults(0, 0, 0)
	c.mustCreate(minimalUser("healthy"))
}

func TestFaultDiceDeterministic(t *testing.T) {
	t.Parallel()
	run := func() []int {
		s := newTestServer(t, Options{FaultRate: 0.5, Seed: 42})
		c := newClient(t, s)
		var out []int
		for range 20 {
			out = append(out, c.do(http.MethodGet, "/users", nil).status)
		}
		return out
	}
	a, b := run(), run()
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("same seed, different faults: %v vs %v", a, b)
		}
	}
}

func TestLostResponses(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{LostResponseRate: 1})
	c := newClient(t, s)
	// Reads are never lost.
	if r := c.do(http.MethodGet, "/users", nil); r.status != 200 {
		t.Fatalf("read: %d", r.status)
	}
	req, _ := http.NewRequest(http.MethodPost, c.envPath("/users"), jsonBody(t, minimalUser("ghost")))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := s.Server.Client().Do(req)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("lost response delivered: %d", resp.StatusCode)
	}
	// The write committed.
	us := s.Users()
	if len(us) != 1 || us[0]["username"] != "ghost" {
		t.Fatalf("users after lost create: %v", us)
	}
	st := s.Stats()
	if st.LostResponses != 1 || st.Writes != 1 {
		t.Errorf("stats %+v", st)
	}
	var lost int
	for _, lr := range s.Requests() {
		if lr.Lost {
			lost++
			if lr.Operation != "createUser" || lr.Status != 0 {
				t.Errorf("lost entry %+v", lr)
			}
		}
	}
	if lost != 1 {
		t.Errorf("%d lost entries", lost)
	}
	// Failed writes are answered, not lost.
	s.SetFaults(0, 1, 0)
	if r := c.do(http.MethodPost, "/users", minimalUser("ghost")); r.status != 400 {
		t.Errorf("duplicate create with loss on: %d", r.status)
	}
}

func TestLatencyHonoursContext(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{Latency: 5 * time.Second})
	c := newClient(t, s)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, c.envPath("/users"), nil)
	req.Header.Set("Authorization", "Bearer "+c.token)
	_, err := s.Server.Client().Do(req)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want deadline exceeded, got %v", err)
	}
	s.SetFaults(0, 0, 0)
	if r := c.do(http.MethodGet, "/users", nil); r.status != 200 {
		t.Fatalf("after latency off: %d", r.status)
	}
}

func TestConcurrencyCounter(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{Latency: 300 * time.Millisecond})
	c := newClient(t, s)
	var wg sync.WaitGroup
	const workers = 8
	errs := make(chan string, workers)
	for i := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest(http.MethodPost, c.envPath("/users"), jsonBody(t, minimalUser("w"+strconv.Itoa(i))))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+c.token)
			resp, err := s.Server.Client().Do(req)
			if err != nil {
				errs <- err.Error()
				return
			}
			resp.Body.Close()
			if resp.StatusCode != 201 {
				errs <- resp.Status
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	st := s.Stats()
	if st.MaxConcurrent < 2 || st.MaxConcurrent > workers {
		t.Errorf("MaxConcurrent %d", st.MaxConcurrent)
	}
	if s.UserCount() != workers || st.Writes != workers {
		t.Errorf("%d users, %d writes", s.UserCount(), st.Writes)
	}
	s.ResetStats()
	if st := s.Stats(); st.Requests != 0 || len(s.Requests()) != 0 {
		t.Errorf("after reset: %+v", st)
	}
}
