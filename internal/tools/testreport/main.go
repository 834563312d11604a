// Command testreport reads `go test -json` on its standard input and prints
// what `go test` prints without -v: each failed test with its log, each
// package's ok or FAIL line, build errors. It ends with one summary line
// ("testreport: N passed, N failed, N skipped") and exits 1 when a test or
// a package failed.
//
// Under CI=true a skipped test fails the run too: CI must never pass by
// skipping (README: Developing). The skipped tests are listed with the
// reason each gave. `make test` pipes through it:
//
//	go test -json -race ./... | go run ./internal/tools/testreport
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

func main() {
	os.Exit(run(os.Stdin, os.Stdout, inCI(os.Getenv("CI"))))
}

// inCI mirrors internal/testenv.InCI: CI set to a true value.
func inCI(v string) bool {
	switch v {
	case "", "0", "false", "FALSE", "False":
		return false
	}
	return true
}

// event is one line of `go test -json` (cmd/test2json).
type event struct {
	Action     string
	Package    string
	Test       string
	Output     string
	ImportPath string // build-output events
}

// pkgState is what is held of one package until it ends.
type pkgState struct {
	lines []string              // package-level output, in order
	tests map[string]*testState // each test still running
	order []string              // tests in the order they started
}

// testState is the output of one running test, as plain go test would
// print it if it failed: its "--- FAIL" header, then its log and its
// failed subtests' blocks.
type testState struct {
	header string
	body   []string
}

func (t *testState) block() []string {
	if t.header == "" {
		return t.body
	}
	return append([]string{t.header}, t.body...)
}

// skip is one skipped test and the reason it gave.
type skip struct {
	pkg, test, reason string
}

// report is the state of one run.
type report struct {
	out                    io.Writer
	pkgs                   map[string]*pkgState
	passed, failed, nSkip  int
	skips                  []skip
	pkgFailed, sawAnything bool
}

func run(in io.Reader, out io.Writer, ci bool) int {
	r := &report{out: out, pkgs: map[string]*pkgState{}}
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var ev event
		if err := json.Unmarshal(line, &ev); err != nil || ev.Action == "" {
			// Not an event (go vet's or the toolchain's own words): as is.
			fmt.Fprintf(out, "%s\n", line)
			continue
		}
		r.sawAnything = true
		r.handle(ev)
	}
	if err := sc.Err(); err != nil {
		fmt.Fprintf(out, "testreport: read go test -json: %v\n", err)
		return 1
	}
	// Packages that never ended (the test binary was killed): their
	// output is all there is to show.
	for _, name := range sortedKeys(r.pkgs) {
		r.dump(r.pkgs[name])
		r.pkgFailed = true
	}
	code := 0
	if r.failed > 0 || r.pkgFailed {
		code = 1
	}
	if !r.sawAnything {
		fmt.Fprintln(out, "testreport: no go test -json events on standard input")
		code = 1
	}
	if ci && len(r.skips) > 0 {
		fmt.Fprintf(out, "testreport: %d tests skipped under CI=true; CI must not pass by skipping (start the service they name, or make them run):\n", len(r.skips))
		for _, s := range r.skips {
			fmt.Fprintf(out, "    %s %s: %s\n", s.pkg, s.test, s.reason)
		}
		code = 1
	}
	fmt.Fprintf(out, "testreport: %d passed, %d failed, %d skipped\n", r.passed, r.failed, r.nSkip)
	return code
}

func (r *report) pkg(name string) *pkgState {
	p := r.pkgs[name]
	if p == nil {
		p = &pkgState{tests: map[string]*testState{}}
		r.pkgs[name] = p
	}
	return p
}

func (r *report) handle(ev event) {
	switch {
	case ev.Action == "build-output":
		fmt.Fprint(r.out, ev.Output)
		return
	case ev.Action == "build-fail":
		r.pkgFailed = true
		return
	case ev.Test != "":
		r.handleTest(ev)
		return
	}
	p := r.pkg(ev.Package)
	switch ev.Action {
	case "output":
		p.lines = append(p.lines, ev.Output)
	case "pass", "skip":
		// go test prints only the summary line of a passing package
		// ("ok", or "?" for no test files).
		for _, l := range p.lines {
			if strings.HasPrefix(l, "ok  ") || strings.HasPrefix(l, "?   ") {
				fmt.Fprint(r.out, l)
			}
		}
		delete(r.pkgs, ev.Package)
	case "fail":
		r.dump(p)
		r.pkgFailed = true
		delete(r.pkgs, ev.Package)
	}
}

func (r *report) handleTest(ev event) {
	p := r.pkg(ev.Package)
	t := p.tests[ev.Test]
	if t == nil {
		t = &testState{}
		p.tests[ev.Test] = t
		p.order = append(p.order, ev.Test)
	}
	switch ev.Action {
	case "output":
		switch trimmed := strings.TrimLeft(ev.Output, " "); {
		case strings.HasPrefix(trimmed, "--- FAIL: "):
			t.header = trimmed
		case isFraming(ev.Output):
		default:
			t.body = append(t.body, ev.Output)
		}
	case "pass":
		r.passed++
		r.forget(p, ev.Test)
	case "fail":
		r.failed++
		// A failed subtest's block goes inside its parent's, indented,
		// as go test nests them; a top-level test's is printed now.
		if i := strings.LastIndex(ev.Test, "/"); i > 0 && p.tests[ev.Test[:i]] != nil {
			parent := p.tests[ev.Test[:i]]
			for _, l := range t.block() {
				parent.body = append(parent.body, "    "+l)
			}
		} else {
			for _, l := range t.block() {
				fmt.Fprint(r.out, l)
			}
		}
		r.forget(p, ev.Test)
	case "skip":
		r.nSkip++
		r.skips = append(r.skips, skip{pkg: ev.Package, test: ev.Test, reason: skipReason(t.body)})
		r.forget(p, ev.Test)
	}
}

func (r *report) forget(p *pkgState, test string) {
	delete(p.tests, test)
	for i, t := range p.order {
		if t == test {
			p.order = append(p.order[:i], p.order[i+1:]...)
			break
		}
	}
}

// dump prints a failed package: its tests still running (a timeout or a
// panic ended them), then its own output, as go test does.
func (r *report) dump(p *pkgState) {
	for _, t := range p.order {
		for _, l := range p.tests[t].block() {
			fmt.Fprint(r.out, l)
		}
	}
	for _, l := range p.lines {
		if l == "PASS\n" || isFraming(l) {
			continue
		}
		fmt.Fprint(r.out, l)
	}
}

// isFraming reports the lines -json adds that plain go test does not
// print (it runs the tests as -v would).
func isFraming(l string) bool {
	t := strings.TrimLeft(l, " ")
	for _, p := range []string{"=== RUN ", "=== PAUSE ", "=== CONT ", "=== NAME ", "--- PASS: ", "--- SKIP: ", "--- FAIL: "} {
		if strings.HasPrefix(t, p) {
			return true
		}
	}
	return false
}

// skipReason is the log of a skipped test, on one line.
func skipReason(lines []string) string {
	var parts []string
	for _, l := range lines {
		if l = strings.TrimSpace(l); l != "" {
			parts = append(parts, l)
		}
	}
	if len(parts) == 0 {
		return "(no reason given)"
	}
	return strings.Join(parts, " ")
}

func sortedKeys(m map[string]*pkgState) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
