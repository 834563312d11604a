package main

import (
	"errors"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSIGTERMEndsAReadStuckOnAFIFO: the CSV path is a FIFO nobody writes
// to, so opening it blocks in the kernel; SIGTERM still ends the run, as a
// failure (exit 1), with nothing written.
func TestSIGTERMEndsAReadStuckOnAFIFO(t *testing.T) {
	h := newHarness(t, csvSource(), "")
	if err := syscall.Mkfifo(filepath.Join(h.dir, "people.csv"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := h.start(t, nil, "sync")
	eventually(t, 30*time.Second, "the run to start reading", func() bool { return strings.Contains(p.output(), "run started") })
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(t, 30*time.Second); code != ExitFailed {
		t.Fatalf("exit %d after SIGTERM, want %d\n%s", code, ExitFailed, p.output())
	}
	if !strings.Contains(p.output(), "context canceled") {
		t.Errorf("output does not say the read was cancelled:\n%s", p.output())
	}
	if n := h.emu.UserCount(); n != 0 {
		t.Errorf("%d users written", n)
	}
}

// TestSecondSIGTERMExitsAtOnce: the first SIGTERM lets the batch in flight
// finish (here: requests that take 5 s each); a second one ends the
// process at once, with 128+15.
func TestSecondSIGTERMExitsAtOnce(t *testing.T) {
	h := newHarness(t, csvSource(), "    batch_size: 5\n")
	h.writeCSV(rows(20)...)
	h.editConf("rate_limit: 500", "rate_limit: 5")
	p := h.start(t, nil, "sync")
	eventually(t, 30*time.Second, "the apply to be under way", func() bool { return h.emu.UserCount() >= 2 })
	h.emu.SetFaults(0, 0, 5*time.Second) // the next creates hang
	time.Sleep(300 * time.Millisecond)
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // two signals, not one coalesced
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(t, 30*time.Second); code != 128+int(syscall.SIGTERM) {
		t.Fatalf("exit %d after a second SIGTERM, want %d\n%s", code, 128+int(syscall.SIGTERM), p.output())
	}
	if !strings.Contains(p.output(), "second SIGTERM: exiting now") {
		t.Errorf("output does not say why:\n%s", p.output())
	}
}

// TestOutOfMemoryNeverExits2 runs the binary under an address-space cap
// (ulimit -v) on /dev/zero. With the default caps the read fails cleanly
// (exit 1, the cap named). With max_line_bytes raised out of reach the
// runtime runs out of memory, which must end the process by SIGABRT, not
// with exit status 2 (syncd's "configuration error", never retried).
func TestOutOfMemoryNeverExits2(t *testing.T) {
	const ulimitKB = 3000000 // room for the runtime's start-up reservations on a loaded machine (1.5 GB crashed once at start)
	for _, tc := range []struct {
		name, source string
		oom          bool
	}{
		{"default caps", "      csv: {path: /dev/zero, key: id}", false},
		{"cap out of reach", "      csv: {path: /dev/zero, key: id, max_line_bytes: 8000000000}", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, tc.source, "")
			cmd := exec.Command("sh", "-c", `ulimit -v `+strconv.Itoa(ulimitKB)+` && exec "$0" "$@"`, syncdBinary(t), "plan")
			cmd.Dir = h.dir
			cmd.Env = append(cmd.Environ(), "SYNCD_PINGONE_CLIENT_SECRET="+testSecret, "SYNCD_CONFIG="+h.conf, "GOTRACEBACK=")
			out, err := cmd.CombinedOutput()
			var ee *exec.ExitError
			if !errors.As(err, &ee) {
				t.Fatalf("err = %v, want a failed process\n%s", err, tail(out))
			}
			ws := ee.Sys().(syscall.WaitStatus)
			if !tc.oom {
				if ws.ExitStatus() != ExitFailed || !strings.Contains(string(out), "longer than max_line_bytes (1048576 bytes)") {
					t.Fatalf("status %v, want exit 1 naming the cap\n%s", ws, tail(out))
				}
				return
			}
			if ws.Exited() && ws.ExitStatus() == ExitUsage {
				t.Fatalf("out of memory exited 2, the configuration error code\n%s", tail(out))
			}
			if !ws.Signaled() || ws.Signal() != syscall.SIGABRT || !strings.Contains(string(out), "out of memory") {
				t.Fatalf("status %v, want death by SIGABRT after running out of memory\n%s", ws, tail(out))
			}
		})
	}
}

func tail(b []byte) string {
	const max = 3000
	if len(b) > max {
		return "…" + string(b[len(b)-max:])
	}
	return string(b)
}
