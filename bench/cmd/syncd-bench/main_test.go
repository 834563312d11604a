package main

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/syncd/syncd/sink/pingone/pingonetest"
)

// TestApplyRunValidatesEveryRequest runs the harness's apply measurement
// (the fast emulator `make bench` uses, which validates one request in
// -spec-sample) small, with every request and response validated against
// the PingOne spec: what the benchmark sends, PingOne would accept.
func TestApplyRunValidatesEveryRequest(t *testing.T) {
	o := options{n: 150, applyN: 150, rate: 2000, latency: time.Millisecond, batch: 50, specSample: 1}
	ar, err := applyRun(o, t.TempDir())
	if err != nil {
		t.Fatalf("apply run: %v", err)
	}
	if ar.Users != 150 || ar.Updated == 0 || ar.NestedUpdated == 0 {
		t.Fatalf("apply run %+v: want 150 creates, then updates and name.given updates", ar)
	}
}

// TestSpecErrFailsAMeasurement: a violation the emulator recorded fails
// the measurement, naming it.
func TestSpecErrFailsAMeasurement(t *testing.T) {
	var o pingonetest.Options
	if err := validateSpec(&o, 1); err != nil {
		t.Fatal(err)
	}
	s := pingonetest.NewServer(t, o)
	if err := specErr(s.Emulator); err != nil {
		t.Fatalf("no traffic yet: %v", err)
	}
	resp, err := http.Get(s.APIURL() + "/environments/" + s.EnvironmentID() + "/users?limit=5000")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if err := specErr(s.Emulator); err == nil || !strings.Contains(err.Error(), "violate the PingOne spec") {
		t.Fatalf("specErr = %v, want the violation named", err)
	}
}
