package pingonetest

import (
	"context"
	"net/http"
	"testing"
	"time"
)

func TestStallHoldsRequestsUntilReleased(t *testing.T) {
	s := newLooseServer(t, Options{}) // its request carries no token
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

// TestStallAnswersAppliesThenHolds: under StallAnswers a create is done
// but its answer is held; a client that gives up never learns of it (the
// user exists all the same), and after release answers flow again.
func TestStallAnswersAppliesThenHolds(t *testing.T) {
	s := newTestServer(t, Options{})
	c := newClient(t, s)
	release := s.StallAnswers()
	defer release()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, c.envPath("/users"), jsonBody(t, minimalUser("held")))
		req.Header.Set("Authorization", "Bearer "+c.token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := s.Server.Client().Do(req)
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	deadline := time.Now().Add(10 * time.Second)
	for s.UserCount() != 1 || s.InFlight() != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("the create was not applied and held: %d users, %d in flight", s.UserCount(), s.InFlight())
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; err == nil {
		t.Fatal("an answer came through StallAnswers")
	}
	for s.InFlight() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the abandoned answer is still held")
		}
		time.Sleep(time.Millisecond)
	}
	if st := s.Stats(); st.Writes != 1 || st.LostResponses != 1 {
		t.Errorf("stats %+v: want 1 write, 1 lost response", st)
	}
	release()
	if r := c.do(http.MethodPost, c.envPath("/users"), minimalUser("after")); r.status != http.StatusCreated {
		t.Fatalf("create after release: %d", r.status)
	}
}
