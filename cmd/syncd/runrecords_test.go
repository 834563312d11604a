package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/syncd/syncd/state"
)

// TestKilledRunIsMarkedAbandoned: a `syncd sync` killed with SIGKILL mid-apply
// leaves its run record "running"; the next run that takes the job's lock
// marks it abandoned, and `syncd status` shows it.
func TestKilledRunIsMarkedAbandoned(t *testing.T) {
	h := newHarness(t, csvSource(), "    batch_size: 5\n")
	h.writeCSV(rows(20)...)
	h.emu.SetFaults(0, 0, 5*time.Millisecond)
	p := h.start(t, nil, "sync")
	eventually(t, 60*time.Second, "the apply to be under way", func() bool { return h.emu.UserCount() >= 6 })
	_ = p.cmd.Process.Kill()
	p.wait(t, 10*time.Second)
	h.emu.SetFaults(0, 0, 0)

	runs := func() []state.Run {
		st := h.openSQLite(t)
		defer st.Close()
		rs, err := st.Runs(context.Background(), "people", 10)
		if err != nil {
			t.Fatal(err)
		}
		return rs
	}
	if rs := runs(); len(rs) != 1 || rs[0].Status != state.RunRunning {
		t.Fatalf("after kill -9: %+v, want one run left running", rs)
	}
	h.expect(ExitOK, "sync")
	rs := runs()
	if len(rs) != 2 || rs[1].Status != state.RunAbandoned || rs[1].FinishedAt.IsZero() || rs[0].Status != state.RunSucceeded {
		t.Fatalf("after the next sync: %+v; want the killed run abandoned and the new one succeeded", rs)
	}
	out := h.expect(ExitOK, "status")
	if !strings.Contains(out, "abandoned") {
		t.Fatalf("syncd status does not show the abandoned run:\n%s", out)
	}
	if n := h.emu.UserCount(); n != 20 {
		t.Fatalf("%d users, want 20", n)
	}
}
