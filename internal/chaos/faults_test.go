package chaos

import (
	"fmt"
	"net/http"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/syncd/syncd/sink/pingone/pingonetest"
)

// TestConvergesUnderEmulatorFaults runs syncd against a PingOne that
// answers 10 % of requests with 500/503, drops 5 % of write responses
// after committing them, rate-limits below the client's own rate (a 429
// storm), expires tokens every 2 s (30 s in the long suite) and revokes
// them now and then.
// syncd is re-run until it exits 0; PingOne must then equal the export
// with no duplicate, state must agree, and no request that got a 429 (or a
// 503 with Retry-After) may have been retried before Retry-After passed.
func TestConvergesUnderEmulatorFaults(t *testing.T) {
	r := rng(t)
	n := pick(80, 700)
	h := newHarness(t, harnessConfig{
		emu: pingonetest.Options{
			FaultRate: 0.10, LostResponseRate: 0.05,
			RateLimit: 40, Burst: 4,
			TokenTTL: pick(2*time.Second, 30*time.Second),
			Latency:  2 * time.Millisecond,
			Seed:     int64(r.Uint64()%1_000_000) + 1,
		},
		pingone: "  rate_limit: 80\n  concurrency: 6",
		job:     "    batch_size: 25\n    safety: {max_disables: 100000, max_disable_percent: 100, max_failures: \"100%\"}",
	})
	// Besides expiring, tokens are revoked now and then: the client meets
	// 401 mid-run and must fetch a new one.
	stop := make(chan struct{})
	revoked := make(chan struct{})
	go func() {
		defer close(revoked)
		tick := time.NewTicker(pick(700*time.Millisecond, 3*time.Second))
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				h.emu.ExpireTokens()
			}
		}
	}()
	defer func() { close(stop); <-revoked }()

	all := people(n)
	h.writeCSV(all)
	h.syncUntilOK(8)
	checkConverged(t, h.emu, all, nil)

	want, gone := edit(all, r.Uint64())
	h.writeCSV(want)
	h.syncUntilOK(8)
	checkConverged(t, h.emu, want, gone)
	checkStateAgrees(t, h.emu, filepath.Join(h.dir, "state.db"), "people")

	st := h.emu.Stats()
	t.Logf("emulator: %d requests, %d faults, %d lost responses, %d 429s, %d 401s, %d token requests",
		st.Requests, st.Faults, st.LostResponses, st.RateLimited, st.ByStatus[http.StatusUnauthorized], st.TokenRequests)
	if st.Faults == 0 || st.LostResponses == 0 || st.RateLimited == 0 {
		t.Fatalf("the faults were not exercised: %+v", st)
	}
	if st.ByStatus[http.StatusUnauthorized] == 0 {
		t.Errorf("no request met a revoked token (401): the re-authentication path was not exercised")
	}
	if st.TokenRequests < 2 {
		t.Errorf("only %d token requests although tokens expire every %s", st.TokenRequests, pick(2*time.Second, 30*time.Second))
	}
	if v := retryAfterViolations(h.rec.snapshot()); len(v) > 0 {
		t.Fatalf("%d retries came before Retry-After:\n%s", len(v), v[:min(len(v), 20)])
	}
}

// retryAfterViolations finds calls retried too early: for every answer
// carrying Retry-After R (429, 503) sent at T, the next attempt of the same
// call must arrive at T+R or later.
func retryAfterViolations(entries []wireEntry) []string {
	byKey := map[string][]wireEntry{}
	for _, e := range entries {
		byKey[e.key] = append(byKey[e.key], e)
	}
	var out []string
	checked := 0
	for key, es := range byKey {
		sort.Slice(es, func(i, j int) bool { return es[i].arrived.Before(es[j].arrived) })
		for i := 0; i+1 < len(es); i++ {
			e := es[i]
			if e.retryAfter == 0 || (e.status != http.StatusTooManyRequests && e.status != http.StatusServiceUnavailable) {
				continue
			}
			checked++
			if early := e.answered.Add(e.retryAfter).Sub(es[i+1].arrived); early > 0 {
				out = append(out, fmt.Sprintf("%s: %d with Retry-After %s answered at %s, retried %s early",
					key, e.status, e.retryAfter, e.answered.Format("15:04:05.000"), early))
			}
		}
	}
	if checked == 0 {
		out = append(out, "no retried request carried Retry-After: nothing was checked")
	}
	return out
}

// The Retry-After check itself must be able to fail.
func TestRetryAfterCheckCatchesAnEarlyRetry(t *testing.T) {
	t0 := time.Now()
	mk := func(key string, at time.Duration, status int, ra time.Duration) wireEntry {
		return wireEntry{key: key, arrived: t0.Add(at), answered: t0.Add(at + time.Millisecond), status: status, retryAfter: ra}
	}
	tests := []struct {
		name    string
		entries []wireEntry
		bad     bool
	}{
		{"on time", []wireEntry{mk("a", 0, 429, time.Second), mk("a", 1100*time.Millisecond, 201, 0)}, false},
		{"early", []wireEntry{mk("a", 0, 429, time.Second), mk("a", 500*time.Millisecond, 201, 0)}, true},
		{"other call may go", []wireEntry{mk("a", 0, 429, time.Second), mk("b", 10*time.Millisecond, 201, 0), mk("a", 2*time.Second, 201, 0)}, false},
		{"503 with Retry-After", []wireEntry{mk("a", 0, 503, time.Second), mk("a", 100*time.Millisecond, 201, 0)}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := retryAfterViolations(tt.entries)
			if got := len(v) > 0; got != tt.bad {
				t.Fatalf("violations %v, want bad=%v", v, tt.bad)
			}
		})
	}
}
