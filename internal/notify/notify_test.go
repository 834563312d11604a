package notify

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	"go.uber.org/zap/zaptest"

	"github.com/syncd/syncd/internal/secret"
	"github.com/syncd/syncd/mapper"
	"github.com/syncd/syncd/reconcile"
	"github.com/syncd/syncd/state"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// receiver fails its first `fail` POSTs with 503, then records bodies.
type receiver struct {
	mu     sync.Mutex
	fail   int
	tries  int
	bodies [][]byte
	got    chan struct{}
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	b, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.tries++
	if r.tries <= r.fail {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	r.bodies = append(r.bodies, b)
	r.got <- struct{}{}
}

func gatedReport() *reconcile.Report {
	return &reconcile.Report{
		Job: "hr", RunID: 42, TransactionID: "syncd-abc", Status: reconcile.StatusGated,
		Gate:    &reconcile.GateError{Job: "hr", Disables: 600, Active: 1000, MaxDisables: 500, MaxPercent: 10},
		Counts:  reconcile.Counts{Rejected: 1},
		Rejects: []mapper.Reject{{Anchor: "a-1", Attribute: "email", Reason: `email "jane.secret@example.com" is not an address`}},
	}
}

func hook(t *testing.T, url, format string, on ...string) Hook {
	t.Helper()
	h := Hook{URL: url, Format: format, On: on}
	h.SetDefaults()
	if err := h.Resolve(func(s string) string { return s }); err != nil {
		t.Fatal(err)
	}
	if err := h.Validate(); err != nil {
		t.Fatal(err)
	}
	return h
}

func TestWebhookRetriedUntilTheReceiverAnswers(t *testing.T) {
	rcv := &receiver{fail: 2, got: make(chan struct{}, 10)}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	n := New([]Hook{hook(t, srv.URL+"/hook?token=s3cr3t", FormatJSON, EventGate)}, zaptest.NewLogger(t), WithRetry(5, time.Millisecond))

	start := time.Now()
	n.Report(gatedReport())
	if d := time.Since(start); d > time.Second {
		t.Errorf("Report blocked for %v", d)
	}
	select {
	case <-rcv.got:
	case <-time.After(10 * time.Second):
		t.Fatal("the notification never arrived")
	}
	n.Close(context.Background())
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	if rcv.tries != 3 || len(rcv.bodies) != 1 {
		t.Fatalf("%d attempts, %d delivered; want 3 attempts (2 failed), 1 delivered", rcv.tries, len(rcv.bodies))
	}
	var m Message
	if err := json.Unmarshal(rcv.bodies[0], &m); err != nil {
		t.Fatal(err)
	}
	if m.Event != EventGate || m.Job != "hr" || m.RunID != 42 || m.Status != "gated" || len(m.Reasons) != 1 || !strings.Contains(m.Reasons[0], "600") {
		t.Errorf("message = %+v", m)
	}
}

func TestMessagesCarryNoAttributeValues(t *testing.T) {
	t.Parallel()
	for _, f := range []string{FormatJSON, FormatSlack, FormatTeams} {
		for _, ev := range Events(gatedReport()) {
			b, err := Body(f, ev, gatedReport())
			if err != nil || !json.Valid(b) {
				t.Fatalf("%s %s: %s, %v", f, ev, b, err)
			}
			if strings.Contains(string(b), "jane.secret") {
				t.Errorf("%s %s carries an attribute value: %s", f, ev, b)
			}
			if ev == EventRejects && !strings.Contains(string(b), "a-1") {
				t.Errorf("%s %s does not name the rejected anchor: %s", f, ev, b)
			}
		}
	}
	if evs := Events(gatedReport()); strings.Join(evs, ",") != "gate,rejects,summary" {
		t.Errorf("events of a gated run with a reject = %v", evs)
	}
}

func TestDeadReceiverNeverBlocksAndCloseIsBounded(t *testing.T) {
	var tries sync.WaitGroup
	tries.Add(1)
	once := sync.Once{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		once.Do(tries.Done)
		w.WriteHeader(http.StatusBadGateway)
	}))
	defer srv.Close()
	n := New([]Hook{hook(t, srv.URL, FormatSlack, EventSummary)}, zaptest.NewLogger(t), WithRetry(1000, time.Hour))
	start := time.Now()
	for range queueLen * 3 { // more than the queue holds: the rest are dropped
		n.Report(&reconcile.Report{Job: "hr", Status: reconcile.StatusSucceeded})
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Report blocked for %v on a dead receiver", d)
	}
	tries.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	n.Close(ctx)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Close took %v", d)
	}
}

func TestHookValidation(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		h    Hook
		want string
	}{
		{Hook{}, "url: required"},
		{Hook{URL: "https://a", URLFile: "/f"}, "not both"},
		{Hook{URL: "http://hooks.example.com/x"}, "loopback"},
		{Hook{URL: "ftp://x/y"}, "scheme"},
		{Hook{URL: "https://x", On: []string{"sometimes"}}, "unknown event"},
		{Hook{URL: "https://x", Format: "xml"}, "format"},
	} {
		tt.h.SetDefaults()
		tt.h.Resolved = secret.New(tt.h.URL)
		err := tt.h.Validate()
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v: %v, want %q", tt.h, err, tt.want)
		}
		if err != nil && tt.h.URL != "" && strings.Contains(err.Error(), tt.h.URL) {
			t.Errorf("error quotes the URL: %v", err)
		}
	}
}

// TestHeldDisablesRaiseTheGateEvent: a watch run whose disables the gate
// held succeeded, yet raises the gate event with the gate's reason.
func TestHeldDisablesRaiseTheGateEvent(t *testing.T) {
	t.Parallel()
	rep := &reconcile.Report{Job: "corp", Status: reconcile.StatusSucceeded,
		Held: []state.HeldDisable{{Anchor: "a-1", Gate: "safety gate (watch): 4 disables in this batch"}}}
	if evs := Events(rep); strings.Join(evs, ",") != "gate,summary" {
		t.Fatalf("events = %v, want gate, summary", evs)
	}
	if m := NewMessage(EventGate, rep); len(m.Reasons) != 1 || !strings.Contains(m.Reasons[0], "safety gate (watch)") {
		t.Errorf("gate message reasons %q", m.Reasons)
	}
}
