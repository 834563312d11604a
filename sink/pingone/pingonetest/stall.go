package pingonetest

import "sync"

// Stall holds every API request that arrives from now on (token requests
// are answered) until release is called, as a PingOne that accepts
// connections but never answers would. A held request whose client gives
// up (its context ends) is dropped unanswered and uncounted. Tests use it
// to keep a run in flight for as long as they need: mid-apply signals,
// lock contention, a stalled stop. release may be called more than once;
// a Stall while one holds requests returns a release that does nothing.
func (e *Emulator) Stall() (release func()) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.stalled != nil {
		return func() {}
	}
	ch := make(chan struct{})
	e.stalled = ch
	var once sync.Once
	return func() {
		once.Do(func() {
			e.mu.Lock()
			e.stalled = nil
			e.mu.Unlock()
			close(ch)
		})
	}
}

// InFlight is how many API requests are being served now: while Stall
// holds them, how many are waiting.
func (e *Emulator) InFlight() int { return int(e.inflight.Load()) }
