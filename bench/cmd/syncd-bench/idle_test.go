package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
)

// TestBERCounterCountsMessages: the idle run's proxy counts LDAP messages
// however the stream is cut into writes (a header split across two, short
// and long length forms), and passes every byte on unchanged.
func TestBERCounterCountsMessages(t *testing.T) {
	long := append([]byte{0x30, 0x82, 0x01, 0x00}, bytes.Repeat([]byte{0xAA}, 256)...)
	short := []byte{0x30, 0x03, 0x02, 0x01, 0x07}
	stream := append(append(append([]byte{}, short...), long...), short...)
	for _, cut := range []int{1, 2, 3, 5, 7, 64, len(stream)} {
		var n, bytesN atomic.Int64
		var out bytes.Buffer
		c := &berCounter{w: &out, n: &n, bytes: &bytesN}
		for rest := stream; len(rest) > 0; {
			k := min(cut, len(rest))
			if _, err := c.Write(rest[:k]); err != nil {
				t.Fatalf("cut %d: %v", cut, err)
			}
			rest = rest[k:]
		}
		if n.Load() != 3 || bytesN.Load() != int64(len(stream)) || !bytes.Equal(out.Bytes(), stream) {
			t.Errorf("writes of %d bytes: %d messages, %d bytes counted, passed on intact %t; want 3, %d, true",
				cut, n.Load(), bytesN.Load(), bytes.Equal(out.Bytes(), stream), len(stream))
		}
	}
}

// TestScrapeSumsSeries: every series of a metric is summed, labels with
// spaces included.
func TestScrapeSumsSeries(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`# HELP syncd_api_requests_total x
# TYPE syncd_api_requests_total counter
syncd_api_requests_total{operation="create user",status="201"} 3
syncd_api_requests_total{operation="token",status="200"} 1 1700000000000
go_gc_duration_seconds_count 12
`))
	}))
	defer srv.Close()
	m, err := scrape(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if got := m.sum("syncd_api_requests_total"); got != 4 {
		t.Errorf("syncd_api_requests_total = %g, want 4", got)
	}
	if got := m.sum("go_gc_duration_seconds_count"); got != 12 {
		t.Errorf("go_gc_duration_seconds_count = %g, want 12", got)
	}
}
