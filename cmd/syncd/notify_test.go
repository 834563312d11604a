package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/syncd/syncd/internal/notify"
)

func TestSyncNotifiesAWebhookThatFailsFirst(t *testing.T) {
	var (
		mu     sync.Mutex
		tries  int
		bodies []string
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		tries++
		if tries <= 2 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		bodies = append(bodies, string(b))
	}))
	defer srv.Close()
	h := newHarness(t, csvSource(), "notify:\n  - url: "+srv.URL+"/hook\n    on: [summary, rejects]\n")
	h.writeCSV(append(rows(3), "e009,bad user,not-an-email,X,Y")...)
	h.expect(ExitRejected, "sync")

	mu.Lock()
	defer mu.Unlock()
	if len(bodies) != 2 || tries != 4 {
		t.Fatalf("%d attempts, %d delivered: %q; want the rejects and summary events after 2 failures", tries, len(bodies), bodies)
	}
	events := map[string]notify.Message{}
	for _, b := range bodies {
		var m notify.Message
		if err := json.Unmarshal([]byte(b), &m); err != nil {
			t.Fatal(err)
		}
		events[m.Event] = m
		if strings.Contains(b, "not-an-email") || strings.Contains(b, "@example.com") {
			t.Errorf("notification carries attribute values: %s", b)
		}
	}
	s, r := events[notify.EventSummary], events[notify.EventRejects]
	if s.Job != "people" || s.RunID != 1 || s.Counts.Created != 3 || s.Counts.Rejected != 1 {
		t.Errorf("summary = %+v", s)
	}
	if len(r.Reasons) != 1 || !strings.Contains(r.Reasons[0], "anchor=e009") {
		t.Errorf("rejects = %+v", r)
	}
}
