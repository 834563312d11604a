package pingonetest

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"testing"
)

func benchClient(b *testing.B, s *Server) (*http.Client, string) {
	b.Helper()
	return s.Server.Client(), s.IssueToken()
}

func doBench(b *testing.B, hc *http.Client, tok, method, target string, body []byte, want int) {
	req, _ := http.NewRequest(method, target, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+tok)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := hc.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != want {
		b.Fatalf("%s %s: %d", method, target, resp.StatusCode)
	}
}

// BenchmarkCreateUser: one POST /users over loopback HTTP per op.
func BenchmarkCreateUser(b *testing.B) {
	s := newBenchServer(b, Options{})
	hc, tok := benchClient(b, s)
	target := s.APIURL() + "/environments/" + s.EnvironmentID() + "/users"
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		body := fmt.Appendf(nil, `{"username":"bench%d","email":"bench%d@example.com","name":{"given":"B","family":"Ench"}}`, i, i)
		doBench(b, hc, tok, http.MethodPost, target, body, 201)
	}
}

// BenchmarkListPage: one filtered page of 200 out of 10,000 users.
func BenchmarkListPage(b *testing.B) {
	s := newBenchServer(b, Options{})
	for i := range 10000 {
		if _, err := s.AddUser(map[string]any{"username": fmt.Sprintf("u%05d", i), "email": fmt.Sprintf("u%05d@example.com", i)}); err != nil {
			b.Fatal(err)
		}
	}
	hc, tok := benchClient(b, s)
	target := s.APIURL() + "/environments/" + s.EnvironmentID() + "/users?limit=200&filter=" + url.QueryEscape(`email ew "example.com"`)
	b.ReportAllocs()
	for b.Loop() {
		doBench(b, hc, tok, http.MethodGet, target, nil, 200)
	}
}

// BenchmarkCreateUserSpecValidated: as BenchmarkCreateUser with SpecFile.
func BenchmarkCreateUserSpecValidated(b *testing.B) {
	s := NewServer(b, Options{SpecFile: SpecPath(b)})
	hc, tok := benchClient(b, s)
	target := s.APIURL() + "/environments/" + s.EnvironmentID() + "/users"
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		body := fmt.Appendf(nil, `{"username":"bench%d","email":"bench%d@example.com"}`, i, i)
		doBench(b, hc, tok, http.MethodPost, target, body, 201)
	}
}

func BenchmarkParseFilter(b *testing.B) {
	const f = `(email eq "a@example.com" or email eq "b@example.com") and population.id eq "p" and name.family sw "Sm"`
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseFilter(f); err != nil {
			b.Fatal(err)
		}
	}
}

// newBenchServer is an emulator that validates one request in 100 against
// the spec (BenchmarkCreateUserSpecValidated measures full validation; the
// tests validate every request) and fails the benchmark on a violation.
func newBenchServer(b *testing.B, opts Options) *Server {
	opts.SpecFile, opts.SpecSample, opts.StrictSpec = SpecPath(b), 100, true
	return NewServer(b, opts)
}
