package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// syncBuffer is a bytes.Buffer safe for one writer and one poller.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var exportRE = regexp.MustCompile(`(?m)^export (SYNCD_PINGONE_[A-Z_]+)='([^']*)'$`)

func TestRunServesAndDumpsState(t *testing.T) {
	dumpPath := filepath.Join(t.TempDir(), "state.json")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	getenv := func(k string) string {
		if k == secretEnv {
			return "from-env"
		}
		return ""
	}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-listen", "127.0.0.1:0", "-populations", "Default, Staff", "-custom-attributes", "costCenter",
			"-state-dump", dumpPath, "-print-env", "-client-id", "demo"}, &stdout, &stderr, getenv)
	}()

	env := map[string]string{}
	deadline := time.Now().Add(10 * time.Second)
	for len(env) < 5 {
		if time.Now().After(deadline) {
			t.Fatalf("no exports; stdout %q stderr %q", stdout.String(), stderr.String())
		}
		select {
		case err := <-done:
			t.Fatalf("run ended early: %v; stderr %s", err, stderr.String())
		case <-time.After(10 * time.Millisecond):
		}
		for _, m := range exportRE.FindAllStringSubmatch(stdout.String(), -1) {
			env[m[1]] = m[2]
		}
	}
	if env["SYNCD_PINGONE_CLIENT_SECRET"] != "from-env" || env["SYNCD_PINGONE_CLIENT_ID"] != "demo" {
		t.Fatalf("exports %v", env)
	}
	if !strings.Contains(stderr.String(), env["SYNCD_PINGONE_API_URL"]) {
		t.Errorf("start log lacks the API URL: %s", stderr.String())
	}

	// Token, then a create, with a plain client.
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {"demo"}, "client_secret": {"from-env"}}
	resp, err := http.PostForm(env["SYNCD_PINGONE_AUTH_URL"]+"/"+env["SYNCD_PINGONE_ENVIRONMENT_ID"]+"/as/token", form)
	if err != nil {
		t.Fatal(err)
	}
	var tok map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	body := `{"username":"dumped","email":"d@example.com","costCenter":"CC-1"}`
	req, _ := http.NewRequest(http.MethodPost, env["SYNCD_PINGONE_API_URL"]+"/environments/"+env["SYNCD_PINGONE_ENVIRONMENT_ID"]+"/users", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+tok["access_token"].(string))
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 201 {
		t.Fatalf("create: %d", resp.StatusCode)
	}
	// The live counters: the token and the create, not the reads of
	// the counters themselves.
	for range 2 {
		resp, err = http.Get(env["SYNCD_PINGONE_AUTH_URL"] + StatsPath)
		if err != nil {
			t.Fatal(err)
		}
		var live struct {
			Stats struct{ Requests, TokenRequests, Writes int }
			Users int
		}
		err = json.NewDecoder(resp.Body).Decode(&live)
		resp.Body.Close()
		if err != nil || live.Stats.Requests != 2 || live.Stats.TokenRequests != 1 || live.Stats.Writes != 1 || live.Users != 1 {
			t.Fatalf("%s: %+v (%v)", StatsPath, live, err)
		}
	}
	http.DefaultClient.CloseIdleConnections()

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not stop")
	}
	raw, err := os.ReadFile(dumpPath)
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		EnvironmentID string           `json:"environmentId"`
		Users         []map[string]any `json:"users"`
		Populations   []map[string]any `json:"populations"`
		Stats         struct{ Writes int }
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatal(err)
	}
	if d.EnvironmentID != env["SYNCD_PINGONE_ENVIRONMENT_ID"] || len(d.Users) != 1 || d.Users[0]["costCenter"] != "CC-1" ||
		len(d.Populations) != 2 || d.Stats.Writes != 1 {
		t.Fatalf("dump: %s", raw)
	}
}

func TestFlagErrors(t *testing.T) {
	for _, args := range [][]string{
		{"-rate", "x"},
		{"extra"},
		{"-auth-method", "private_key_jwt", "-listen", "127.0.0.1:0"},
		{"-fault-rate", "2", "-listen", "127.0.0.1:0"},
		{"-listen", "256.0.0.1:99999"},
	} {
		var out, errb bytes.Buffer
		if err := run(context.Background(), args, &out, &errb, func(string) string { return "" }); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
}
