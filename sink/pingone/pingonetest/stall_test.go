package pingonetest

import (
	"net/http"
	"testing"
	"time"
)

func TestStallHoldsRequestsUntilReleased(t *testing.T) {
	s := NewServer(t, Options{})
	release := s.Stall()
	defer release()
	done := make(chan int, 1)
	go func() {
		resp, err := http.Get(s.APIURL() + "/environments/" + s.EnvironmentID() + "/populations")
		if err != nil {
			done <- -1
			return
		}
		resp.Body.Close()
		done <- resp.StatusCode
	}()
	deadline := time.Now().Add(10 * time.Second)
	for s.InFlight() != 1 {
		if time.Now().After(deadline) {
			t.Fatal("the request never arrived")
		}
		time.Sleep(time.Millisecond)
	}
	select {
	case code := <-done:
		t.Fatalf("answered %d while stalled", code)
	case <-time.After(50 * time.Millisecond):
	}
	release()
	release() // twice is harmless
	if code := <-done; code != http.StatusUnauthorized {
		t.Fatalf("after release: %d, want 401 (no token)", code)
	}
}
