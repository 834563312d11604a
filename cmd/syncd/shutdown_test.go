package main

import (
	"context"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/syncd/syncd/state"
)

// TestSIGTERMWithAStalledPingOneStopsAtTheDeadline: PingOne does the
// creates it is sent but its answers never come back. A SIGTERM then
// cannot wait for the requests in flight (each would wait for its 30 s
// timeout and retry up to 8 times): at daemon.shutdown_timeout they are
// cancelled, what finished is checkpointed, the run is recorded as
// stopped, and the process exits. The creates whose outcome syncd never
// learned are found by externalId on the next run: no duplicate. Against
// the built binary, for the daemon and for a one-shot `syncd sync` (a
// CronJob's pod gets SIGTERM too).
func TestSIGTERMWithAStalledPingOneStopsAtTheDeadline(t *testing.T) {
	for _, c := range []struct {
		cmd  string
		exit int // a daemon's stop is a success; a one-shot run cut short is not
	}{{"run", ExitOK}, {"sync", ExitFailed}} {
		t.Run(c.cmd, func(t *testing.T) { testStalledStop(t, c.cmd, c.exit) })
	}
}

func testStalledStop(t *testing.T, cmd string, exit int) {
	h := newHarness(t, csvSource(), "    batch_size: 5\n    run_at_start: true\ndaemon:\n  shutdown_timeout: 2s\nhttp:\n  listen: off\n")
	h.writeCSV(rows(60)...)
	h.emu.SetFaults(0, 0, 5*time.Millisecond)
	p := h.start(t, nil, cmd)
	eventually(t, 60*time.Second, "the apply to be under way", func() bool { return h.emu.UserCount() >= 12 })
	release := h.emu.StallAnswers()
	defer release()
	eventually(t, 30*time.Second, "creates applied whose answers are held", func() bool { return h.emu.InFlight() >= 1 })

	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// Generous: the bound under test is the daemon's own, a few seconds;
	// without it the process waits for minutes of retries.
	if code := p.wait(t, 90*time.Second); code != exit {
		t.Fatalf("exit %d after SIGTERM, want %d", code, exit)
	}
	if !strings.Contains(p.output(), "shutdown deadline") {
		t.Errorf("the stop at the deadline was not reported")
	}

	st := h.openSQLite(t)
	runs, err := st.Runs(context.Background(), "people", 10)
	if err != nil || len(runs) != 1 || runs[0].Status != state.RunStopped {
		st.Close()
		t.Fatalf("run records %+v (%v): want one, stopped", runs, err)
	}
	cps := map[string]state.Checkpoint{} // by anchor (= externalId)
	if err := st.Checkpoints(context.Background(), "people", func(c state.Checkpoint) error {
		cps[c.Anchor] = c
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	st.Close()

	// Every user PingOne holds is checkpointed by its id (its answer came
	// back) or its anchor's checkpoint says a create may have reached
	// PingOne (pending or failed, no id): nothing is unaccounted for.
	users := h.emu.Users()
	byID, unknown := 0, 0
	for _, u := range users {
		ext, _ := u["externalId"].(string)
		cp, ok := cps[ext]
		switch {
		case !ok:
			t.Errorf("PingOne user %v (externalId %q) has no checkpoint", u["id"], ext)
		case cp.UserID == u["id"]:
			byID++
		case cp.UserID == "" && (cp.Status == state.StatusPending || cp.Status == state.StatusFailed):
			unknown++
		default:
			t.Errorf("PingOne user %v (externalId %q): checkpoint %+v", u["id"], ext, cp)
		}
	}
	t.Logf("%d users checkpointed by id, %d whose create's outcome was unknown", byID, unknown)
	if byID == 0 || unknown == 0 {
		t.Fatalf("%d users checkpointed by id, %d whose create's outcome was unknown: want some of each (the test did not stall mid-apply)", byID, unknown)
	}

	release()
	h.emu.SetFaults(0, 0, 0)
	h.expect(ExitOK, "sync")
	perExt := map[string]int{}
	for _, u := range h.emu.Users() {
		ext, _ := u["externalId"].(string)
		perExt[ext]++
	}
	if len(perExt) != 60 {
		t.Errorf("%d distinct externalIds in PingOne, want 60", len(perExt))
	}
	for ext, n := range perExt {
		if n != 1 {
			t.Errorf("externalId %q: %d PingOne users, want 1", ext, n)
		}
	}
}
