package statetest

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/syncd/syncd/state"
)

// RunJournal runs the journal's conformance suite against b, whose stores
// must implement state.Journal.
func RunJournal(t *testing.T, b Backend) {
	tests := []struct {
		name string
		fn   func(t *testing.T, b Backend)
	}{
		{"JournalRoundTrip", testJournalRoundTrip},
		{"JournalFilters", testJournalFilters},
		{"JournalCommitsWithCheckpoints", testJournalAtomic},
		{"JournalInvalidEntryRefused", testJournalInvalid},
		{"JournalRunByID", testRunByID},
		{"JournalPruneEntriesAndRuns", testPrune},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.fn(t, b)
		})
	}
}

func journal(t *testing.T, s state.Store) state.Journal {
	t.Helper()
	j, ok := s.(state.Journal)
	if !ok {
		t.Fatalf("%T does not implement state.Journal", s)
	}
	return j
}

func entry(run int64, anchor, op string, at time.Time) state.JournalEntry {
	return state.JournalEntry{
		RunID: run, Anchor: anchor, UserID: "u-" + anchor, Op: op,
		Before: []byte(`{"attributes":{"name.family":"Old"}}`), After: []byte(`{"attributes":{"name.family":"Ñew \"quoted\""}}`),
		Status: 200, CorrelationID: "corr-" + anchor, At: at,
	}
}

func entries(t *testing.T, j state.Journal, f state.JournalFilter) []state.JournalEntry {
	t.Helper()
	var got []state.JournalEntry
	if err := j.JournalEntries(ctx(t), f, func(e state.JournalEntry) error { got = append(got, e); return nil }); err != nil {
		t.Fatalf("JournalEntries(%+v): %v", f, err)
	}
	return got
}

func entryDiff(got, want state.JournalEntry) string {
	if got.RunID != want.RunID || got.Job != want.Job || got.Anchor != want.Anchor || got.UserID != want.UserID ||
		got.GroupID != want.GroupID || got.Op != want.Op || got.Status != want.Status ||
		got.CorrelationID != want.CorrelationID || got.Error != want.Error || !got.At.Equal(want.At) ||
		!bytes.Equal(got.Before, want.Before) || (got.Before == nil) != (want.Before == nil) ||
		!bytes.Equal(got.After, want.After) || (got.After == nil) != (want.After == nil) {
		return fmt.Sprintf("got %+v (before %s, after %s)\nwant %+v (before %s, after %s)", got, got.Before, got.After, want, want.Before, want.After)
	}
	return ""
}

func testJournalRoundTrip(t *testing.T, b Backend) {
	s := b.Open(t)
	j := journal(t, s)
	run, err := s.StartRun(ctx(t), state.Run{Job: "job", Mode: "full", StartedAt: base})
	if err != nil {
		t.Fatal(err)
	}
	want := []state.JournalEntry{
		entry(run.ID, "a1", state.OpUpdate, base),
		{RunID: run.ID, Anchor: "a2", Op: state.OpCreate, After: []byte(`{"enabled":true}`), At: base.Add(time.Second),
			Status: 400, CorrelationID: "c2", Error: "pingone 400 INVALID_DATA"},
		{RunID: run.ID, Anchor: "a1", UserID: "u-a1", GroupID: "g-1", Op: "add-member", At: base.Add(2 * time.Second)},
	}
	cps := []state.Checkpoint{checkpoint(1), checkpoint(2)}
	if err := j.SaveJournaled(ctx(t), "job", cps, want); err != nil {
		t.Fatalf("SaveJournaled: %v", err)
	}
	expect(t, s, "job", cps)
	got := entries(t, j, state.JournalFilter{})
	if len(got) != len(want) {
		t.Fatalf("%d entries, want %d", len(got), len(want))
	}
	for i := range want {
		want[i].Job = "job"
		if d := entryDiff(got[i], want[i]); d != "" {
			t.Errorf("entry %d: %s", i, d)
		}
		if i > 0 && got[i].ID <= got[i-1].ID {
			t.Errorf("entry %d: id %d not after %d", i, got[i].ID, got[i-1].ID)
		}
	}
	// Entries alone (a write whose checkpoint did not change) are saved too.
	if err := j.SaveJournaled(ctx(t), "job", nil, []state.JournalEntry{entry(run.ID, "a3", state.OpDisable, base)}); err != nil {
		t.Fatalf("SaveJournaled without checkpoints: %v", err)
	}
	if n := len(entries(t, j, state.JournalFilter{})); n != 4 {
		t.Errorf("%d entries after a second save, want 4", n)
	}
}

func testJournalFilters(t *testing.T, b Backend) {
	s := b.Open(t)
	j := journal(t, s)
	save := func(job string, es ...state.JournalEntry) {
		t.Helper()
		if err := j.SaveJournaled(ctx(t), job, nil, es); err != nil {
			t.Fatalf("SaveJournaled: %v", err)
		}
	}
	save("x", entry(1, "a", state.OpCreate, base), entry(1, "b", state.OpCreate, base))
	save("y", entry(2, "a", state.OpUpdate, base.Add(time.Hour)))
	save("x", entry(3, "a", state.OpDisable, base.Add(48*time.Hour)))
	for _, tt := range []struct {
		f    state.JournalFilter
		want []string // run/anchor
	}{
		{state.JournalFilter{}, []string{"1/a", "1/b", "2/a", "3/a"}},
		{state.JournalFilter{Job: "x"}, []string{"1/a", "1/b", "3/a"}},
		{state.JournalFilter{Job: "x", Anchor: "a"}, []string{"1/a", "3/a"}},
		{state.JournalFilter{RunID: 1}, []string{"1/a", "1/b"}},
		{state.JournalFilter{Job: "x", AfterRun: 1}, []string{"3/a"}},
		{state.JournalFilter{Since: base.Add(time.Hour)}, []string{"2/a", "3/a"}},
		{state.JournalFilter{Job: "y", RunID: 1}, nil},
	} {
		var got []string
		for _, e := range entries(t, j, tt.f) {
			got = append(got, fmt.Sprintf("%d/%s", e.RunID, e.Anchor))
		}
		if fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("JournalEntries(%+v) = %v, want %v", tt.f, got, tt.want)
		}
	}
}

func testJournalAtomic(t *testing.T, b Backend) {
	s := b.Open(t)
	j := journal(t, s)
	old := []state.Checkpoint{checkpoint(1)}
	save(t, s, "job", old)
	bad := []state.Checkpoint{checkpoint(1), checkpoint(2)}
	bad[0].Hash = "changed"
	bad[1].Status = "bogus" // breaks a constraint in the database
	err := j.SaveJournaled(ctx(t), "job", bad, []state.JournalEntry{entry(1, "anchor-00001", state.OpUpdate, base)})
	if err == nil {
		t.Fatal("SaveJournaled with an invalid checkpoint: no error")
	}
	expect(t, s, "job", old)
	if got := entries(t, j, state.JournalFilter{}); len(got) != 0 {
		t.Errorf("journal holds %d entries of a batch that failed, want none", len(got))
	}
}

func testJournalInvalid(t *testing.T, b Backend) {
	s := b.Open(t)
	j := journal(t, s)
	for name, e := range map[string]state.JournalEntry{
		"no anchor":  {RunID: 1, Op: state.OpCreate, At: base},
		"no op":      {RunID: 1, Anchor: "a", At: base},
		"no run":     {Anchor: "a", Op: state.OpCreate, At: base},
		"no time":    {RunID: 1, Anchor: "a", Op: state.OpCreate},
		"bad before": {RunID: 1, Anchor: "a", Op: state.OpCreate, At: base, Before: []byte("{")},
		"bad after":  {RunID: 1, Anchor: "a", Op: state.OpCreate, At: base, After: []byte("nope")},
	} {
		if err := j.SaveJournaled(ctx(t), "job", []state.Checkpoint{checkpoint(1)}, []state.JournalEntry{e}); err == nil {
			t.Errorf("%s: SaveJournaled accepted %+v", name, e)
		}
	}
	expect(t, s, "job", nil)
}

func testRunByID(t *testing.T, b Backend) {
	s := b.Open(t)
	j := journal(t, s)
	r, err := s.StartRun(ctx(t), state.Run{Job: "job", Mode: "full", StartedAt: base})
	if err != nil {
		t.Fatal(err)
	}
	r.Status, r.FinishedAt, r.Counts = state.RunSucceeded, base.Add(time.Minute), map[string]int{"disabled": 3}
	if err := s.FinishRun(ctx(t), r); err != nil {
		t.Fatal(err)
	}
	got, ok, err := j.Run(ctx(t), r.ID)
	if err != nil || !ok {
		t.Fatalf("Run(%d) = %v, %v", r.ID, ok, err)
	}
	if got.Job != "job" || got.Status != state.RunSucceeded || !got.StartedAt.Equal(base) || !got.FinishedAt.Equal(r.FinishedAt) || got.Counts["disabled"] != 3 {
		t.Errorf("Run(%d) = %+v, want %+v", r.ID, got, r)
	}
	if _, ok, err := j.Run(ctx(t), r.ID+100); ok || err != nil {
		t.Errorf("Run of an unknown id = %v, %v; want false, nil", ok, err)
	}
}

func testPrune(t *testing.T, b Backend) {
	s := b.Open(t)
	j := journal(t, s)
	c := ctx(t)
	run := func(at time.Time, finish bool) state.Run {
		t.Helper()
		r, err := s.StartRun(c, state.Run{Job: "job", Mode: "full", StartedAt: at})
		if err != nil {
			t.Fatal(err)
		}
		if finish {
			r.Status, r.FinishedAt = state.RunSucceeded, at.Add(time.Minute)
			if err := s.FinishRun(c, r); err != nil {
				t.Fatal(err)
			}
		}
		return r
	}
	old := run(base, true)
	stuck := run(base.Add(time.Hour), false) // never finished: kept, it may be running
	recent := run(base.Add(500*24*time.Hour), true)
	if err := j.SaveJournaled(c, "job", nil, []state.JournalEntry{
		entry(old.ID, "a", state.OpCreate, base), entry(old.ID, "b", state.OpCreate, base.Add(time.Second)),
		entry(recent.ID, "a", state.OpDisable, recent.StartedAt),
	}); err != nil {
		t.Fatal(err)
	}
	cut := base.Add(100 * 24 * time.Hour)
	ne, nr, err := j.Prune(c, cut)
	if err != nil {
		t.Fatalf("Prune: %v", err)
	}
	if ne != 2 || nr != 1 {
		t.Errorf("Prune deleted %d entries and %d runs, want 2 and 1", ne, nr)
	}
	left := entries(t, j, state.JournalFilter{})
	if len(left) != 1 || left[0].RunID != recent.ID {
		t.Errorf("entries after prune = %+v, want the recent run's only", left)
	}
	runs, err := s.Runs(c, "job", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 2 || runs[0].ID != recent.ID || runs[1].ID != stuck.ID {
		t.Errorf("runs after prune = %+v, want %d and %d", runs, recent.ID, stuck.ID)
	}
	if ne, nr, err := j.Prune(c, cut); err != nil || ne != 0 || nr != 0 {
		t.Errorf("second Prune = %d, %d, %v; want nothing to delete", ne, nr, err)
	}
}
