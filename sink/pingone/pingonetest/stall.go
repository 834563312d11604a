package pingonetest

import (
	"net/http"
	"sync"
)

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

// StallAnswers lets every API request that arrives from now on do its work
// (a create creates the user) but holds its answer until release is
// called, as a PingOne whose answers are stuck on the way back would
// (token requests are answered). A held answer whose client gives up is
// never sent: the client cannot know whether its request was applied,
// which is what a create whose outcome is unknown looks like. Such a write
// counts in Stats.Writes and Stats.LostResponses. release may be called
// more than once; a StallAnswers while one holds answers returns a release
// that does nothing.
func (e *Emulator) StallAnswers() (release func()) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.answersHeld != nil {
		return func() {}
	}
	ch := make(chan struct{})
	e.answersHeld = ch
	var once sync.Once
	return func() {
		once.Do(func() {
			e.mu.Lock()
			e.answersHeld = nil
			e.mu.Unlock()
			close(ch)
		})
	}
}

// holdAnswer waits while StallAnswers holds answers; it reports true when
// the client went away meanwhile (nothing is to be sent).
func (e *Emulator) holdAnswer(r *http.Request) bool {
	e.mu.Lock()
	held := e.answersHeld
	e.mu.Unlock()
	if held == nil {
		return false
	}
	select {
	case <-held:
		return false
	case <-r.Context().Done():
		return true
	}
}
