package main

import (
	"bufio"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap/zaptest"

	"github.com/syncd/syncd/state"
)

func TestJournalCommandFiltersAndFormats(t *testing.T) {
	h := newHarness(t, csvSource(), "")
	h.writeCSV(rows(3)...)
	h.expect(ExitOK, "sync")
	h.writeCSV(row(0), strings.Replace(row(1), "Given1", "Renamed", 1)) // e002 leaves, e001 renamed
	h.expect(ExitOK, "sync")

	out := h.expect(ExitOK, "journal", "--output", "jsonl")
	var got []journalEntry
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var e journalEntry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("jsonl line %q: %v", sc.Text(), err)
		}
		got = append(got, e)
	}
	if len(got) != 5 {
		t.Fatalf("journal lists %d entries, want 3 creates, 1 update, 1 disable:\n%s", len(got), out)
	}
	byAnchor := map[string]journalEntry{}
	for _, e := range got[3:] {
		byAnchor[e.Anchor] = e
	}
	if u := byAnchor["e001"]; u.Op != state.OpUpdate || string(u.Before) != `{"attributes":{"name.given":"Given1"}}` ||
		string(u.After) != `{"attributes":{"name.given":"Renamed"}}` || u.Status != 200 || u.Job != "people" || u.RunID != 2 {
		t.Errorf("update entry = %+v", u)
	}
	if d := byAnchor["e002"]; d.Op != state.OpDisable || d.RunID != 2 || string(d.Before) != `{"enabled":true}` {
		t.Errorf("disable entry = %+v", d)
	}

	// Filters.
	var arr []journalEntry
	if err := json.Unmarshal([]byte(h.expect(ExitOK, "journal", "--anchor", "e001", "--output", "json")), &arr); err != nil {
		t.Fatal(err)
	}
	if len(arr) != 2 || arr[0].Op != state.OpCreate || arr[1].Op != state.OpUpdate {
		t.Errorf("--anchor e001: %+v", arr)
	}
	text := h.expect(ExitOK, "journal", "--run", "2", "--job", "people")
	if !strings.Contains(text, "name.given Given1 -> Renamed") || !strings.Contains(text, "enabled true -> false") || strings.Contains(text, "create") {
		t.Errorf("--run 2 text:\n%s", text)
	}
	if out := h.expect(ExitOK, "journal", "--since", "2999-01-01"); !strings.Contains(out, "no journal entries") {
		t.Errorf("--since in the future:\n%s", out)
	}
	h.expect(ExitUsage, "journal", "--since", "yesterday")
	h.expect(ExitUsage, "journal", "--job", "nope")
	h.expect(ExitUsage, "status", "--output", "jsonl")
}

func TestDaemonPrunerKeepsTheRetentionAndRunsHourly(t *testing.T) {
	h := newHarness(t, csvSource(), "")
	h.writeCSV(rows(2)...)
	h.expect(ExitOK, "sync")
	st := h.openSQLite(t)
	ctx := context.Background()
	old := func() {
		t.Helper()
		r, err := st.StartRun(ctx, state.Run{Job: "people", Mode: "full", StartedAt: time.Now().AddDate(-2, 0, 0)})
		if err != nil {
			t.Fatal(err)
		}
		r.Status, r.FinishedAt = state.RunSucceeded, r.StartedAt.Add(time.Minute)
		if err := st.FinishRun(ctx, r); err != nil {
			t.Fatal(err)
		}
		err = st.(state.Journal).SaveJournaled(ctx, "people", nil, []state.JournalEntry{{RunID: r.ID, Anchor: "e000", Op: state.OpUpdate, At: r.StartedAt}})
		if err != nil {
			t.Fatal(err)
		}
	}
	count := func() (runs, entries int) {
		t.Helper()
		rs, err := st.Runs(ctx, "", 0)
		if err != nil {
			t.Fatal(err)
		}
		_ = st.(state.Journal).JournalEntries(ctx, state.JournalFilter{}, func(state.JournalEntry) error { entries++; return nil })
		return len(rs), entries
	}
	old()
	now := time.Now()
	p := &pruner{retention: 400 * 24 * time.Hour, interval: time.Hour, now: func() time.Time { return now }}
	p.prune(ctx, st, zaptest.NewLogger(t))
	if runs, entries := count(); runs != 1 || entries != 2 {
		t.Fatalf("after a prune: %d runs, %d entries; want the recent run and its 2 creates", runs, entries)
	}
	old()
	p.prune(ctx, st, zaptest.NewLogger(t))
	if runs, _ := count(); runs != 2 {
		t.Errorf("pruned again within the hour: %d runs left, want 2", runs)
	}
	now = now.Add(2 * time.Hour)
	p.prune(ctx, st, zaptest.NewLogger(t))
	if runs, entries := count(); runs != 1 || entries != 2 {
		t.Errorf("after the hour: %d runs, %d entries; want 1 and 2", runs, entries)
	}
}
