package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runFixture(t *testing.T, fixture string, ci bool) (string, int) {
	t.Helper()
	in, err := os.ReadFile(filepath.Join("testdata", fixture))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	code := run(bytes.NewReader(in), &out, ci)
	return out.String(), code
}

// TestPrintsWhatGoTestPrints: testdata/mixed.json is `go test -json` of a
// package with a passing test, a failing one (one of two subtests fails)
// and a skipped one, and of a passing package. Plain `go test` printed
// exactly this (less its final FAIL line) for the same packages.
func TestPrintsWhatGoTestPrints(t *testing.T) {
	got, code := runFixture(t, "mixed.json", false)
	want := "--- FAIL: TestFails (0.00s)\n" +
		"    --- FAIL: TestFails/sub_bad (0.00s)\n" +
		"        a_test.go:9: wanted 2, got 3\n" +
		"FAIL\n" +
		"FAIL\texample.com/trfix/a\t0.161s\n" +
		"ok  \texample.com/trfix/b\t0.015s\n" +
		"testreport: 3 passed, 2 failed, 1 skipped\n"
	if got != want || code != 1 {
		t.Errorf("exit %d, output:\n%s\nwant exit 1, output:\n%s", code, got, want)
	}
	if strings.Contains(got, "passing log") {
		t.Error("a passing test's log was printed")
	}
}

// TestSkipsFailUnderCI: a run whose tests all pass but one skipped passes,
// except under CI=true, where it fails naming the test and its reason.
func TestSkipsFailUnderCI(t *testing.T) {
	got, code := runFixture(t, "skip.json", false)
	if code != 0 || strings.Contains(got, "TestSkipped") {
		t.Errorf("without CI: exit %d, output:\n%s\nwant 0 and no list", code, got)
	}
	got, code = runFixture(t, "skip.json", true)
	if code != 1 || !strings.Contains(got, "example.com/trfix/c TestSkipped: c_test.go:7: slapd unavailable, skipping") ||
		!strings.Contains(got, "1 tests skipped under CI=true") {
		t.Errorf("under CI: exit %d, output:\n%s\nwant 1, the skipped test listed with its reason", code, got)
	}
}

// TestNoEventsIsAFailure: nothing on standard input (go test could not
// start, or the pipe is wrong) is not a green run.
func TestNoEventsIsAFailure(t *testing.T) {
	var out bytes.Buffer
	if code := run(strings.NewReader("go: cannot find main module\n"), &out, true); code != 1 ||
		!strings.Contains(out.String(), "go: cannot find main module") || !strings.Contains(out.String(), "no go test -json events") {
		t.Errorf("exit %d, output:\n%s", code, out.String())
	}
}

// TestUnfinishedPackageIsShown: a test binary killed mid-test (a timeout
// panic) leaves a package without its end: its output is shown and the run
// fails.
func TestUnfinishedPackageIsShown(t *testing.T) {
	in := `{"Action":"run","Package":"p","Test":"TestHang"}
{"Action":"output","Package":"p","Test":"TestHang","Output":"=== RUN   TestHang\n"}
{"Action":"output","Package":"p","Test":"TestHang","Output":"    hang_test.go:3: waiting\n"}
{"Action":"output","Package":"p","Output":"panic: test timed out after 1s\n"}
`
	var out bytes.Buffer
	code := run(strings.NewReader(in), &out, false)
	if code != 1 || !strings.Contains(out.String(), "hang_test.go:3: waiting") || !strings.Contains(out.String(), "panic: test timed out") {
		t.Errorf("exit %d, output:\n%s", code, out.String())
	}
}
