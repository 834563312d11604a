package statetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/syncd/syncd/state"
)

// Backend tells Run how to exercise one state backend.
type Backend struct {
	// Open returns a migrated store on a new, empty database of its own
	// (a fresh schema or file), closed when the test ends.
	Open func(t *testing.T) state.Store
	// OpenPeer opens a second, independent store (its own connections) on
	// the same database as s, as another syncd process would; closed when
	// the test ends. Closing it twice must be harmless.
	OpenPeer func(t *testing.T, s state.Store) state.Store
	// HoldLock takes job's lock on s's database from another connection or
	// process and returns a func that kills that holder abruptly, without
	// unlocking (pg_terminate_backend, or SIGKILL of a child process).
	HoldLock func(t *testing.T, s state.Store, job string) (kill func())
	// SetSchemaVersion records version as applied in s's database, as a
	// newer syncd binary would.
	SetSchemaVersion func(t *testing.T, s state.Store, version int64)
}

// Run runs the conformance suite against b. Subtests run in parallel, each
// on its own database.
func Run(t *testing.T, b Backend) {
	tests := []struct {
		name string
		fn   func(t *testing.T, b Backend)
	}{
		{"Runs", testRuns},
		{"RunsFinishUnknown", testFinishUnknown},
		{"CheckpointsRoundTrip", testCheckpointsRoundTrip},
		{"CheckpointsFirstSeenPreserved", testFirstSeenPreserved},
		{"CheckpointsBatchSizes", testBatchSizes},
		{"CheckpointsJobsIsolated", testJobsIsolated},
		{"CheckpointsFor", testCheckpointsFor},
		{"CheckpointsDuplicateAnchorLastWins", testDuplicateAnchor},
		{"CheckpointsDelete", testDelete},
		{"CheckpointsCountByStatus", testCountByStatus},
		{"CheckpointsCallbackErrorStops", testCallbackError},
		{"CheckpointsWriteWhileStreaming", testWriteWhileStreaming},
		{"CheckpointsInvalidRowRollsBack", testInvalidRowRollsBack},
		{"CheckpointsEmptyAnchorRefused", testEmptyAnchor},
		{"CheckpointsCancelledContext", testCancelled},
		{"Cursors", testCursors},
		{"Lock", testLock},
		{"LockFreedWhenHolderDies", testLockHolderDies},
		{"LockReleasedByClose", testLockReleasedByClose},
		{"MigrateIdempotent", testMigrateIdempotent},
		{"SchemaTooNew", testSchemaTooNew},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.fn(t, b)
		})
	}
}

// ctx returns a context ending with the test or after 3 minutes: a guard
// against a hang, not a speed limit (saving 25,000 checkpoints into SQLite
// under -race took over 30 s in CI beside other packages' tests).
func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	t.Cleanup(cancel)
	return c
}

// base is a fixed instant with microsecond precision, the precision both
// backends keep, in a non-UTC zone to check times are instants.
var base = time.Date(2026, 3, 14, 15, 9, 26, 535897000, time.FixedZone("CET", 3600))

// checkpoint returns a fully populated checkpoint for anchor i.
func checkpoint(i int) state.Checkpoint {
	return state.Checkpoint{
		Anchor:       fmt.Sprintf("anchor-%05d", i),
		UserID:       fmt.Sprintf("7f3c%04x-0000-4000-8000-%012x", i%65536, i),
		Username:     fmt.Sprintf("user%d", i),
		PopulationID: "pop-1",
		Enabled:      i%3 != 0,
		Hash:         fmt.Sprintf("h%08x", i*2654435761),
		Attributes:   fmt.Appendf(nil, `{"name": {"given": "Ann %d"}, "email": "u%d@example.com"}`, i, i),
		FirstSeen:    base.Add(time.Duration(i) * time.Second),
		LastSeen:     base.Add(time.Hour),
		LastSynced:   base.Add(2 * time.Hour),
		Status:       []state.Status{state.StatusActive, state.StatusDisabled, state.StatusFailed, state.StatusConflict}[i%4],
		LastError:    map[bool]string{true: "pingone 409 UNIQUENESS_VIOLATION", false: ""}[i%4 == 2],
		Failures:     i % 4 / 2,
	}
}

// all reads job's checkpoints into a map by anchor, failing on duplicates.
func all(t *testing.T, s state.Store, job string) map[string]state.Checkpoint {
	t.Helper()
	got := map[string]state.Checkpoint{}
	err := s.Checkpoints(ctx(t), job, func(cp state.Checkpoint) error {
		if _, dup := got[cp.Anchor]; dup {
			return fmt.Errorf("anchor %s streamed twice", cp.Anchor)
		}
		got[cp.Anchor] = cp
		return nil
	})
	if err != nil {
		t.Fatalf("Checkpoints(%s): %v", job, err)
	}
	return got
}

// diff describes how got differs from want, "" when equal. Times compare as
// instants.
func diff(got, want state.Checkpoint) string {
	var d []string
	check := func(field string, equal bool, g, w any) { // g and w escape only on a difference
		if !equal {
			d = append(d, fmt.Sprintf("%s = %v, want %v", field, g, w))
		}
	}
	check("Anchor", got.Anchor == want.Anchor, got.Anchor, want.Anchor)
	check("UserID", got.UserID == want.UserID, got.UserID, want.UserID)
	check("Username", got.Username == want.Username, got.Username, want.Username)
	check("PopulationID", got.PopulationID == want.PopulationID, got.PopulationID, want.PopulationID)
	check("Enabled", got.Enabled == want.Enabled, got.Enabled, want.Enabled)
	check("Hash", got.Hash == want.Hash, got.Hash, want.Hash)
	if !bytes.Equal(got.Attributes, want.Attributes) || (got.Attributes == nil) != (want.Attributes == nil) {
		d = append(d, fmt.Sprintf("Attributes = %q, want %q", got.Attributes, want.Attributes))
	}
	check("FirstSeen", got.FirstSeen.Equal(want.FirstSeen), got.FirstSeen, want.FirstSeen)
	check("LastSeen", got.LastSeen.Equal(want.LastSeen), got.LastSeen, want.LastSeen)
	check("LastSynced", got.LastSynced.Equal(want.LastSynced), got.LastSynced, want.LastSynced)
	check("Status", got.Status == want.Status, got.Status, want.Status)
	check("LastError", got.LastError == want.LastError, got.LastError, want.LastError)
	check("Failures", got.Failures == want.Failures, got.Failures, want.Failures)
	check("DisabledAt", got.DisabledAt.Equal(want.DisabledAt), got.DisabledAt, want.DisabledAt)
	check("DeletedAt", got.DeletedAt.Equal(want.DeletedAt), got.DeletedAt, want.DeletedAt)
	return strings.Join(d, "; ")
}

// expect fails unless job holds exactly want.
func expect(t *testing.T, s state.Store, job string, want []state.Checkpoint) {
	t.Helper()
	got := all(t, s, job)
	if len(got) != len(want) {
		t.Errorf("job %s: %d checkpoints, want %d", job, len(got), len(want))
	}
	bad := 0
	for _, w := range want {
		g, ok := got[w.Anchor]
		if !ok {
			t.Errorf("job %s: anchor %s missing", job, w.Anchor)
		} else if d := diff(g, w); d != "" {
			t.Errorf("job %s: anchor %s: %s", job, w.Anchor, d)
		} else {
			continue
		}
		if bad++; bad >= 5 {
			t.Fatalf("job %s: too many differences", job)
		}
	}
}

func save(t *testing.T, s state.Store, job string, cps []state.Checkpoint) {
	t.Helper()
	if err := s.SaveCheckpoints(ctx(t), job, cps); err != nil {
		t.Fatalf("SaveCheckpoints(%s, %d): %v", job, len(cps), err)
	}
}

func testRuns(t *testing.T, b Backend) {
	s := b.Open(t)
	c := ctx(t)
	start := func(job string, at time.Time) state.Run {
		t.Helper()
		r, err := s.StartRun(c, state.Run{Job: job, Mode: "full", StartedAt: at})
		if err != nil {
			t.Fatalf("StartRun(%s): %v", job, err)
		}
		if r.ID == 0 || r.Status != state.RunRunning || !r.StartedAt.Equal(at) {
			t.Fatalf("StartRun(%s) = %+v, want an ID, status running, StartedAt %v", job, r, at)
		}
		return r
	}
	a1 := start("a", base)
	b1 := start("b", base.Add(time.Minute))
	a2 := start("a", base.Add(2*time.Minute))

	a1.Status, a1.FinishedAt, a1.Error = state.RunFailed, base.Add(30*time.Second), "pingone 503"
	a1.Counts = map[string]int{"create": 3, "update": 1000000, "failed": 2}
	if err := s.FinishRun(c, a1); err != nil {
		t.Fatalf("FinishRun: %v", err)
	}

	got, err := s.Runs(c, "a", 10)
	if err != nil {
		t.Fatalf("Runs(a): %v", err)
	}
	if len(got) != 2 || got[0].ID != a2.ID || got[1].ID != a1.ID {
		t.Fatalf("Runs(a) = %+v, want runs %d, %d (newest first)", got, a2.ID, a1.ID)
	}
	r := got[1]
	if r.Job != "a" || r.Mode != "full" || r.Status != state.RunFailed || r.Error != "pingone 503" ||
		!r.StartedAt.Equal(base) || !r.FinishedAt.Equal(a1.FinishedAt) || !maps.Equal(r.Counts, a1.Counts) {
		t.Errorf("finished run = %+v, want %+v", r, a1)
	}
	if !got[0].FinishedAt.IsZero() || got[0].Status != state.RunRunning || len(got[0].Counts) != 0 {
		t.Errorf("running run = %+v, want no FinishedAt, status running, no counts", got[0])
	}
	// A run started as a delta read may turn out complete: FinishRun's Mode
	// replaces the one StartRun recorded.
	a2.Mode, a2.Status, a2.FinishedAt = "delta-became-full", state.RunSucceeded, base.Add(time.Minute)
	if err := s.FinishRun(c, a2); err != nil {
		t.Fatalf("FinishRun: %v", err)
	}
	if got, err := s.Runs(c, "a", 1); err != nil || got[0].Mode != "delta-became-full" {
		t.Errorf("mode after FinishRun = %+v (%v)", got, err)
	}

	every, err := s.Runs(c, "", 0)
	if err != nil {
		t.Fatalf("Runs(all): %v", err)
	}
	if len(every) != 3 || every[0].ID != a2.ID || every[1].ID != b1.ID || every[2].ID != a1.ID {
		t.Errorf("Runs(all) = %+v, want %d, %d, %d", every, a2.ID, b1.ID, a1.ID)
	}
	one, err := s.Runs(c, "", 1)
	if err != nil || len(one) != 1 || one[0].ID != a2.ID {
		t.Errorf("Runs(all, 1) = %+v, %v; want run %d", one, err, a2.ID)
	}
	none, err := s.Runs(c, "nope", 5)
	if err != nil || len(none) != 0 {
		t.Errorf("Runs(nope) = %+v, %v; want none", none, err)
	}
}

func testFinishUnknown(t *testing.T, b Backend) {
	s := b.Open(t)
	err := s.FinishRun(ctx(t), state.Run{ID: 424242, Job: "a", Status: state.RunSucceeded})
	if err == nil {
		t.Fatal("FinishRun of an unknown run: no error")
	}
}

func testCheckpointsRoundTrip(t *testing.T, b Backend) {
	s := b.Open(t)
	cps := []state.Checkpoint{
		checkpoint(1),
		// Opaque bytes: key order and spacing kept, NULs and invalid UTF-8 too.
		{Anchor: "bytes", Attributes: []byte("{\"z\":1,  \"a\":\"\\u0000\"}\x00\xff\xfe"), Status: state.StatusActive},
		// Empty (not nil) attributes come back empty, not nil.
		{Anchor: "empty", Attributes: []byte{}, Status: state.StatusActive},
		// Zero times and nil attributes come back zero and nil.
		{Anchor: "zero", Status: state.StatusFailed, Failures: 7, LastError: "create: pingone 400 INVALID_DATA"},
		// Non-ASCII anchors and values.
		{Anchor: "CN=Zoë Ångström,OU=Ünits", Username: "zoë", Attributes: []byte(`{"name":"Zoë 🎉"}`), Status: state.StatusConflict},
	}
	save(t, s, "job", cps)
	expect(t, s, "job", cps)
}

func testFirstSeenPreserved(t *testing.T, b Backend) {
	s := b.Open(t)
	first := checkpoint(1)
	save(t, s, "job", []state.Checkpoint{first})
	second := checkpoint(2)
	second.Anchor = first.Anchor
	second.FirstSeen = base.Add(99 * time.Hour)
	second.Attributes = nil
	save(t, s, "job", []state.Checkpoint{second})
	want := second
	want.FirstSeen = first.FirstSeen
	expect(t, s, "job", []state.Checkpoint{want})
}

func testBatchSizes(t *testing.T, b Backend) {
	for _, n := range []int{0, 1, 5000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			t.Parallel()
			s := b.Open(t)
			cps := make([]state.Checkpoint, n)
			for i := range cps {
				cps[i] = checkpoint(i)
			}
			save(t, s, "job", cps)
			expect(t, s, "job", cps)
			// Saving the same batch again adds nothing. (Counted rather than
			// read back: SQLite under -race is slow enough to matter.)
			save(t, s, "job", cps)
			counts, err := s.CountByStatus(ctx(t), "job")
			if err != nil {
				t.Fatalf("CountByStatus: %v", err)
			}
			total := 0
			for _, c := range counts {
				total += c
			}
			if total != n {
				t.Errorf("%d checkpoints after saving %d twice", total, n)
			}
		})
	}
}

func testJobsIsolated(t *testing.T, b Backend) {
	s := b.Open(t)
	a := []state.Checkpoint{checkpoint(1), checkpoint(2)}
	bb := []state.Checkpoint{checkpoint(2), checkpoint(3)}
	bb[0].Hash = "other"
	save(t, s, "a", a)
	save(t, s, "b", bb)
	expect(t, s, "a", a)
	expect(t, s, "b", bb)
	if err := s.DeleteCheckpoints(ctx(t), "b", []string{a[0].Anchor, a[1].Anchor}); err != nil {
		t.Fatalf("DeleteCheckpoints: %v", err)
	}
	expect(t, s, "a", a)
	expect(t, s, "b", bb[1:])
}

// CheckpointsFor returns exactly the named anchors' checkpoints of the job,
// whole, over more anchors than one query asks for, with anchors that
// have none, that belong to another job, or need quoting.
func testCheckpointsFor(t *testing.T, b Backend) {
	s := b.Open(t)
	var cps []state.Checkpoint
	for i := range 25000 {
		cps = append(cps, checkpoint(i))
	}
	odd := checkpoint(99999)
	odd.Anchor = `it's "quoted", \ and ünïcode; ' OR 1=1 --`
	cps = append(cps, odd)
	save(t, s, "job", cps)
	other := checkpoint(7)
	other.Anchor = "only-in-other-job"
	save(t, s, "other", []state.Checkpoint{other})

	want := map[string]state.Checkpoint{odd.Anchor: odd}
	ask := []string{odd.Anchor, "no-such-anchor", other.Anchor}
	for i := 0; i < 25000; i += 2 {
		want[cps[i].Anchor] = cps[i]
		ask = append(ask, cps[i].Anchor)
	}
	got := map[string]state.Checkpoint{}
	err := s.CheckpointsFor(ctx(t), "job", ask, func(cp state.Checkpoint) error {
		if _, dup := got[cp.Anchor]; dup {
			return fmt.Errorf("anchor %s streamed twice", cp.Anchor)
		}
		got[cp.Anchor] = cp
		return nil
	})
	if err != nil {
		t.Fatalf("CheckpointsFor: %v", err)
	}
	if len(got) != len(want) {
		t.Errorf("CheckpointsFor: %d checkpoints, want %d", len(got), len(want))
	}
	for a, w := range want {
		if g, ok := got[a]; !ok {
			t.Fatalf("anchor %q missing", a)
		} else if d := diff(g, w); d != "" {
			t.Fatalf("anchor %q: %s", a, d)
		}
	}
	if err := s.CheckpointsFor(ctx(t), "job", nil, func(state.Checkpoint) error { return errors.New("called") }); err != nil {
		t.Fatalf("CheckpointsFor(no anchors): %v", err)
	}
	stop := errors.New("stop")
	if err := s.CheckpointsFor(ctx(t), "job", ask, func(state.Checkpoint) error { return stop }); !errors.Is(err, stop) {
		t.Fatalf("CheckpointsFor with a failing callback: %v, want the callback's error", err)
	}
}

func testDuplicateAnchor(t *testing.T, b Backend) {
	s := b.Open(t)
	first, last := checkpoint(1), checkpoint(2)
	last.Anchor = first.Anchor
	save(t, s, "job", []state.Checkpoint{first, checkpoint(3), last})
	want := last
	want.FirstSeen = last.FirstSeen
	expect(t, s, "job", []state.Checkpoint{want, checkpoint(3)})
}

func testDelete(t *testing.T, b Backend) {
	s := b.Open(t)
	cps := make([]state.Checkpoint, 10)
	for i := range cps {
		cps[i] = checkpoint(i)
	}
	save(t, s, "job", cps)
	c := ctx(t)
	if err := s.DeleteCheckpoints(c, "job", nil); err != nil {
		t.Fatalf("DeleteCheckpoints(none): %v", err)
	}
	expect(t, s, "job", cps)
	del := []string{cps[0].Anchor, cps[3].Anchor, cps[3].Anchor, "never-saved", cps[9].Anchor}
	if err := s.DeleteCheckpoints(c, "job", del); err != nil {
		t.Fatalf("DeleteCheckpoints: %v", err)
	}
	expect(t, s, "job", []state.Checkpoint{cps[1], cps[2], cps[4], cps[5], cps[6], cps[7], cps[8]})
}

func testCountByStatus(t *testing.T, b Backend) {
	s := b.Open(t)
	cps := make([]state.Checkpoint, 10) // statuses cycle active, disabled, failed, conflict
	for i := range cps {
		cps[i] = checkpoint(i)
	}
	save(t, s, "job", cps)
	save(t, s, "other", cps[:1])
	got, err := s.CountByStatus(ctx(t), "job")
	if err != nil {
		t.Fatalf("CountByStatus: %v", err)
	}
	want := map[state.Status]int{state.StatusActive: 3, state.StatusDisabled: 3, state.StatusFailed: 2, state.StatusConflict: 2}
	if !maps.Equal(got, want) {
		t.Errorf("CountByStatus = %v, want %v", got, want)
	}
	got, err = s.CountByStatus(ctx(t), "empty")
	if err != nil || len(got) != 0 {
		t.Errorf("CountByStatus(empty) = %v, %v; want nothing", got, err)
	}
}

func testCallbackError(t *testing.T, b Backend) {
	s := b.Open(t)
	cps := make([]state.Checkpoint, 100)
	for i := range cps {
		cps[i] = checkpoint(i)
	}
	save(t, s, "job", cps)
	stop := errors.New("stop here")
	calls := 0
	err := s.Checkpoints(ctx(t), "job", func(state.Checkpoint) error {
		calls++
		if calls == 3 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) {
		t.Errorf("Checkpoints = %v, want the callback's error", err)
	}
	if calls != 3 {
		t.Errorf("callback called %d times, want 3", calls)
	}
	// The store is still usable: the stream was closed.
	expect(t, s, "job", cps)
}

// testWriteWhileStreaming checks the callback may use the store (the
// engine checkpoints while it reads state) without deadlocking.
func testWriteWhileStreaming(t *testing.T, b Backend) {
	s := b.Open(t)
	cps := make([]state.Checkpoint, 50)
	for i := range cps {
		cps[i] = checkpoint(i)
	}
	save(t, s, "job", cps)
	c := ctx(t)
	n := 0
	err := s.Checkpoints(c, "job", func(cp state.Checkpoint) error {
		n++
		cp.Hash = "rewritten"
		if err := s.SaveCheckpoints(c, "copy", []state.Checkpoint{cp}); err != nil {
			return err
		}
		return s.SetCursor(c, "job", state.Cursor{Value: []byte(cp.Anchor)})
	})
	if err != nil {
		t.Fatalf("Checkpoints with writes in the callback: %v", err)
	}
	if n != len(cps) {
		t.Errorf("streamed %d checkpoints, want %d", n, len(cps))
	}
	want := make([]state.Checkpoint, len(cps))
	for i, cp := range cps {
		cp.Hash = "rewritten"
		want[i] = cp
	}
	expect(t, s, "copy", want)
	expect(t, s, "job", cps)
}

func testInvalidRowRollsBack(t *testing.T, b Backend) {
	s := b.Open(t)
	old := make([]state.Checkpoint, 10)
	for i := range old {
		old[i] = checkpoint(i)
	}
	save(t, s, "job", old)
	// The batch updates the existing rows, adds new ones, and its last row
	// breaks a constraint: nothing of it may remain.
	bad := make([]state.Checkpoint, 5000)
	for i := range bad {
		bad[i] = checkpoint(i)
		bad[i].Hash = "changed"
	}
	bad[len(bad)-1].Status = "bogus"
	if err := s.SaveCheckpoints(ctx(t), "job", bad); err == nil {
		t.Fatal("SaveCheckpoints with an invalid status: no error")
	}
	expect(t, s, "job", old)
}

func testEmptyAnchor(t *testing.T, b Backend) {
	s := b.Open(t)
	err := s.SaveCheckpoints(ctx(t), "job", []state.Checkpoint{checkpoint(1), {Status: state.StatusActive}})
	if err == nil {
		t.Fatal("SaveCheckpoints with an empty anchor: no error")
	}
	expect(t, s, "job", nil)
}

func testCancelled(t *testing.T, b Backend) {
	s := b.Open(t)
	c, cancel := context.WithCancel(ctx(t))
	cancel()
	cps := make([]state.Checkpoint, 100)
	for i := range cps {
		cps[i] = checkpoint(i)
	}
	if err := s.SaveCheckpoints(c, "job", cps); err == nil {
		t.Fatal("SaveCheckpoints with a cancelled context: no error")
	}
	expect(t, s, "job", nil)
}

func testCursors(t *testing.T, b Backend) {
	s := b.Open(t)
	c := ctx(t)
	got, err := s.Cursor(c, "job")
	if err != nil || got.Value != nil || !got.LastFullRead.IsZero() {
		t.Fatalf("Cursor before any save = %+v, %v; want the zero Cursor", got, err)
	}
	for _, want := range []state.Cursor{
		{Value: []byte("usn:12345"), LastFullRead: base},
		{Value: []byte{0, 1, 0, 0xff, 0, 'c', 'o', 'o', 'k', 'i', 'e', 0}},
		{Value: []byte("rid:000,csn:20260314150926.535897Z#000000#000#000000"), LastFullRead: base.Add(time.Hour)},
	} {
		if err := s.SetCursor(c, "job", want); err != nil {
			t.Fatalf("SetCursor(%q): %v", want.Value, err)
		}
		got, err := s.Cursor(c, "job")
		if err != nil {
			t.Fatalf("Cursor: %v", err)
		}
		if !bytes.Equal(got.Value, want.Value) || !got.LastFullRead.Equal(want.LastFullRead) {
			t.Errorf("Cursor = {%q %v}, want {%q %v}", got.Value, got.LastFullRead, want.Value, want.LastFullRead)
		}
	}
	other, err := s.Cursor(c, "other")
	if err != nil || other.Value != nil {
		t.Errorf("Cursor(other) = %+v, %v; want the zero Cursor", other, err)
	}
}

// lock takes job's lock on s or fails the test.
func lock(t *testing.T, s state.Store, job string) func(context.Context) error {
	t.Helper()
	unlock, err := s.Lock(ctx(t), job)
	if err != nil {
		t.Fatalf("Lock(%s): %v", job, err)
	}
	return unlock
}

// locked fails the test unless job's lock is held elsewhere.
func locked(t *testing.T, s state.Store, job string) {
	t.Helper()
	unlock, err := s.Lock(ctx(t), job)
	if err == nil {
		unlock(ctx(t))
		t.Fatalf("Lock(%s) succeeded while another holder has it", job)
	}
	if !errors.Is(err, state.ErrLocked) {
		t.Fatalf("Lock(%s) = %v, want ErrLocked", job, err)
	}
}

// eventuallyLock polls until job's lock can be taken (the server or kernel
// frees a dead holder's lock asynchronously).
func eventuallyLock(t *testing.T, s state.Store, job string) func(context.Context) error {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		unlock, err := s.Lock(ctx(t), job)
		if err == nil {
			return unlock
		}
		if !errors.Is(err, state.ErrLocked) {
			t.Fatalf("Lock(%s): %v", job, err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("Lock(%s) still ErrLocked 15s after its holder died", job)
		}
		time.Sleep(20 * time.Millisecond) // polling interval, not a wait for an event
	}
}

func testLock(t *testing.T, b Backend) {
	s := b.Open(t)
	peer := b.OpenPeer(t, s)
	c := ctx(t)
	unlock := lock(t, s, "job")
	locked(t, peer, "job")
	locked(t, s, "job") // not re-entrant: a second Lock in the same process is refused too
	unlockOther := lock(t, peer, "other")
	if err := unlock(c); err != nil {
		t.Fatalf("unlock: %v", err)
	}
	if err := unlock(c); err != nil {
		t.Errorf("second unlock: %v, want nil", err)
	}
	unlockPeer := lock(t, peer, "job")
	locked(t, s, "job")
	locked(t, s, "other")
	for _, u := range []func(context.Context) error{unlockPeer, unlockOther} {
		if err := u(c); err != nil {
			t.Fatalf("unlock: %v", err)
		}
	}
	unlock = lock(t, s, "job")
	if err := unlock(c); err != nil {
		t.Fatalf("unlock: %v", err)
	}
	if _, err := s.Lock(c, ""); err == nil || errors.Is(err, state.ErrLocked) {
		t.Errorf("Lock(\"\") = %v, want an invalid-job error", err)
	}
}

func testLockHolderDies(t *testing.T, b Backend) {
	s := b.Open(t)
	kill := b.HoldLock(t, s, "job")
	locked(t, s, "job")
	kill()
	unlock := eventuallyLock(t, s, "job")
	if err := unlock(ctx(t)); err != nil {
		t.Fatalf("unlock: %v", err)
	}
}

func testLockReleasedByClose(t *testing.T, b Backend) {
	s := b.Open(t)
	holder := b.OpenPeer(t, s)
	lock(t, holder, "job")
	locked(t, s, "job")
	if err := holder.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	unlock := lock(t, s, "job")
	if err := unlock(ctx(t)); err != nil {
		t.Fatalf("unlock: %v", err)
	}
}

func testMigrateIdempotent(t *testing.T, b Backend) {
	s := b.Open(t)
	peer := b.OpenPeer(t, s)
	save(t, s, "job", []state.Checkpoint{checkpoint(1)})
	if err := s.Migrate(ctx(t)); err != nil {
		t.Fatalf("second Migrate: %v", err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() {
			st := s
			if i%2 == 1 {
				st = peer
			}
			errs[i] = st.Migrate(ctx(t))
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("concurrent Migrate %d: %v", i, err)
		}
	}
	expect(t, s, "job", []state.Checkpoint{checkpoint(1)})
}

func testSchemaTooNew(t *testing.T, b Backend) {
	s := b.Open(t)
	b.SetSchemaVersion(t, s, 99999)
	err := s.Migrate(ctx(t))
	if !errors.Is(err, state.ErrSchemaTooNew) {
		t.Fatalf("Migrate on a newer schema = %v, want ErrSchemaTooNew", err)
	}
	for _, part := range []string{"99999", "upgrade syncd"} {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("error %q does not mention %q", err, part)
		}
	}
}
