package reconcile_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/syncd/syncd/reconcile"
	"github.com/syncd/syncd/sources"
	"github.com/syncd/syncd/state"
)

// scriptedSource answers a request for a complete read (or one without a
// cursor) with all, and a delta request with delta; with refuseCursor set,
// it answers a delta request with a complete read too, as an LDAP server
// that refuses the cookie does.
type scriptedSource struct {
	all, delta   []sources.Record
	refuseCursor bool
}

func (s *scriptedSource) Open(_ context.Context, req sources.ReadRequest) (sources.Reader, error) {
	if req.Full || len(req.Cursor) == 0 || s.refuseCursor {
		return &sliceReader{recs: s.all, mode: sources.Full}, nil
	}
	return &sliceReader{recs: s.delta, mode: sources.Delta}, nil
}

type sliceReader struct {
	recs []sources.Record
	mode sources.Mode
	i    int
}

func (r *sliceReader) Mode() sources.Mode { return r.mode }
func (r *sliceReader) Next() bool {
	if r.i >= len(r.recs) {
		return false
	}
	r.i++
	return true
}
func (r *sliceReader) Record() sources.Record { return r.recs[r.i-1] }
func (r *sliceReader) Err() error             { return nil }
func (r *sliceReader) Cursor() []byte         { return []byte("cookie") }
func (r *sliceReader) Close() error           { return nil }

// record is person(i) as a source record, with changes applied
// (lower-case attribute names).
func record(i int, changes ...string) sources.Record {
	row := person(i)
	attrs := map[string][]string{}
	for k, h := range header {
		attrs[strings.ToLower(h)] = []string{row[k]}
	}
	for j := 0; j+1 < len(changes); j += 2 {
		attrs[changes[j]] = []string{changes[j+1]}
	}
	return sources.Record{Anchor: row[0], Attrs: attrs, Pos: fmt.Sprintf("entry %d", i)}
}

func deleted(anchor string) sources.Record { return sources.Record{Anchor: anchor, Deleted: true} }

// countingStore counts the checkpoints the engine reads: streamed (every
// checkpoint of the job) and fetched by anchor.
type countingStore struct {
	state.Store
	streamed, fetched atomic.Int64
}

func (s *countingStore) Checkpoints(ctx context.Context, job string, fn func(state.Checkpoint) error) error {
	return s.Store.Checkpoints(ctx, job, func(c state.Checkpoint) error { s.streamed.Add(1); return fn(c) })
}

func (s *countingStore) CheckpointsFor(ctx context.Context, job string, anchors []string, fn func(state.Checkpoint) error) error {
	return s.Store.CheckpointsFor(ctx, job, anchors, func(c state.Checkpoint) error { s.fetched.Add(1); return fn(c) })
}

func (s *countingStore) reset() { s.streamed.Store(0); s.fetched.Store(0) }

// countingCounter is a countingStore that can also count checkpoints
// (state.CheckpointCounter): with it a delta run loads only the
// checkpoints of the anchors it read. Without it, the engine loads them
// all, as it did before.
type countingCounter struct{ *countingStore }

func (s countingCounter) CountCheckpoints(ctx context.Context, job string) (state.CheckpointCounts, error) {
	return s.Store.(state.CheckpointCounter).CountCheckpoints(ctx, job)
}

// TestDeltaLoadsOnlyChangedAnchors: over a job managing a few hundred
// users (and checkpoints in every status), a delta read of a dozen
// changes loads the checkpoints of those anchors only, and plans, gates
// and counts exactly what loading every checkpoint plans; applied, it
// makes one request per change.
func TestDeltaLoadsOnlyChangedAnchors(t *testing.T) {
	backends(t, func(t *testing.T, backend string) {
		const managed = 300
		e := newEnv(t, backend)
		src := &scriptedSource{}
		for i := range managed {
			src.all = append(src.all, record(i))
		}
		e.job.Source, e.job.FullEvery, e.job.BatchSize = src, 24*time.Hour, 200
		e.job.Safety.MaxDisables, e.job.Safety.MaxDisablePercent = 10, 50
		if rep := e.mustRun(reconcile.Options{}); rep.Mode != "full" || rep.Counts.Created != managed {
			t.Fatalf("first run: mode %s, counts %+v", rep.Mode, rep.Counts)
		}
		// Checkpoints in the other statuses, absent from the delta: a
		// run that loads them all counts them (unchanged, conflicts) and
		// the gate's base includes the failed user still enabled.
		ctx := context.Background()
		var seeded []state.Checkpoint
		for i, st := range []state.Status{state.StatusDisabled, state.StatusConflict, state.StatusFailed, state.StatusPending, state.StatusConflict} {
			cp := state.Checkpoint{Anchor: fmt.Sprintf("seed-%d", i), Username: fmt.Sprintf("seed.%d", i), Status: st, Enabled: true, Hash: "h"}
			if st == state.StatusFailed || st == state.StatusDisabled {
				cp.UserID = fmt.Sprintf("0000000%d-0000-4000-8000-000000000000", i)
				cp.Enabled = st == state.StatusFailed
			}
			seeded = append(seeded, cp)
		}
		if err := e.store.SaveCheckpoints(ctx, e.job.Name, seeded); err != nil {
			t.Fatal(err)
		}

		src.delta = []sources.Record{
			record(0, "title", "Principal Engineer"), // update
			record(1, "title", "Principal Engineer"),
			record(2, "sn", "Renamed"),
			record(3),                      // unchanged
			record(managed + 7),            // create
			deleted(record(4).Anchor),      // disable
			record(5, "dept", "robots"),    // out of scope: disable
			record(6, "active", "no"),      // disabled in the source: disable
			record(8, "mail", ""),          // rejected: left as it is
			deleted("seed-1"),              // a conflict deleted: nothing to do
			deleted("never-managed"),       // unknown: nothing to do
			record(9, "title", "Engineer"), // unchanged
		}
		changes := 7 // 3 updates, 1 create, 3 disables

		cs := &countingStore{Store: e.store}
		plan := func(st state.Store, opts reconcile.Options) (*reconcile.Report, error) {
			t.Helper()
			e.eng.Store = st
			cs.reset()
			opts.DryRun = true
			return e.eng.Run(ctx, e.job, opts)
		}
		before, err := plan(cs, reconcile.Options{})
		if err != nil {
			t.Fatalf("plan loading every checkpoint: %v", err)
		}
		if got := cs.streamed.Load(); got != managed+int64(len(seeded)) {
			t.Fatalf("the plan loading every checkpoint streamed %d, want %d", got, managed+len(seeded))
		}
		after, err := plan(countingCounter{cs}, reconcile.Options{})
		if err != nil {
			t.Fatalf("plan loading the changed anchors: %v", err)
		}
		if s, f := cs.streamed.Load(), cs.fetched.Load(); s != 0 || f > int64(len(src.delta)) {
			t.Errorf("the delta plan streamed %d checkpoints and fetched %d; want none streamed, at most %d fetched (the anchors read)", s, f, len(src.delta))
		}
		if before.Mode != "delta" || after.Mode != "delta" {
			t.Fatalf("modes %s, %s; want delta", before.Mode, after.Mode)
		}
		samePlan(t, before, after)
		if c := after.Counts; c.Updated != 3 || c.Created != 1 || c.Disabled != 3 || c.Rejected != 1 ||
			c.Unchanged != managed+len(seeded)-7 || c.Conflicts != 2 {
			t.Errorf("delta plan counts %+v; want 3 updated, 1 created, 3 disabled, 1 rejected, 2 conflicts, %d unchanged", c, managed+len(seeded)-7)
		}

		// The gate sees the same base (the active users, counted by the
		// store): 3 disables over a limit of 2 trip it alike.
		e.job.Safety.MaxDisables = 2
		_, errBefore := plan(cs, reconcile.Options{})
		_, errAfter := plan(countingCounter{cs}, reconcile.Options{})
		var gb, ga *reconcile.GateError
		if !errors.As(errBefore, &gb) || !errors.As(errAfter, &ga) {
			t.Fatalf("gate: %v / %v; want both tripped", errBefore, errAfter)
		}
		if gb.Active != ga.Active || gb.Disables != ga.Disables || ga.Active != managed+1 {
			t.Errorf("gate: %d of %d active loading all, %d of %d loading the changes; want 3 of %d", gb.Disables, gb.Active, ga.Disables, ga.Active, managed+1)
		}
		e.job.Safety.MaxDisables = 10

		// Applied: one request per change, and the create's population
		// look-up; no other read.
		e.eng.Store = countingCounter{cs}
		cs.reset()
		e.rec.take()
		rep := e.mustRun(reconcile.Options{})
		calls := e.rec.take()
		if s := cs.streamed.Load(); s != 0 {
			t.Errorf("the applied delta streamed %d checkpoints, want 0", s)
		}
		byKind := map[string]int{}
		for _, c := range calls {
			kind := c.Method
			switch {
			case c.Method == http.MethodGet && strings.Contains(c.Path, "/populations"):
				kind = "GET populations"
			case c.Method == http.MethodPut && strings.HasSuffix(c.Path, "/enabled"):
				kind = "PUT enabled"
			}
			byKind[kind]++
		}
		want := map[string]int{"PATCH": 3, "POST": 1, "PUT enabled": 3, "GET populations": 1}
		if fmt.Sprint(byKind) != fmt.Sprint(want) || len(writes(calls)) != changes {
			t.Errorf("applied delta: %+v, requests %v; want %v (%d writes, one per change)", rep.Counts, byKind, want, changes)
		}
		users := e.users()
		for _, i := range []int{4, 5, 6} {
			if u := users[record(i).Anchor]; u["enabled"] != false {
				t.Errorf("user %d after the delta: %v; want disabled", i, u)
			}
		}

		// A cursor saved by an earlier syncd (which may have left
		// checkpoints under unnormalised anchors) makes the next delta
		// load every checkpoint, once.
		cur, err := e.store.Cursor(ctx, e.job.Name)
		if err != nil || !bytes.HasPrefix(cur.Value, []byte("syncd2 ")) {
			t.Fatalf("cursor %q, %v; want one saved by this syncd", cur.Value, err)
		}
		cur.Value = append([]byte("syncd1 "), cur.Value[len("syncd2 "):]...)
		if err := e.store.SetCursor(ctx, e.job.Name, cur); err != nil {
			t.Fatal(err)
		}
		if rep, err := plan(countingCounter{cs}, reconcile.Options{}); err != nil || rep.Mode != "delta" || cs.streamed.Load() == 0 {
			t.Errorf("delta after an earlier syncd's cursor: %v, mode %s, %d streamed; want every checkpoint loaded", err, rep.Mode, cs.streamed.Load())
		}
		// A delta request the source answers with a complete read loads
		// every checkpoint: absent anchors are disabled.
		src.refuseCursor = true
		full, err := plan(countingCounter{cs}, reconcile.Options{})
		if err != nil || full.Mode != "full" || cs.streamed.Load() != managed+int64(len(seeded))+1 || full.Counts.Disabled != 3 {
			t.Errorf("refused cursor: %v, mode %s, %d streamed, counts %+v; want a complete read over every checkpoint disabling the 3 users absent from it",
				err, full.Mode, cs.streamed.Load(), full.Counts)
		}
	})
}

// samePlan fails when two reports of one delta plan differently.
func samePlan(t *testing.T, a, b *reconcile.Report) {
	t.Helper()
	if a.PlanDigest != b.PlanDigest {
		t.Errorf("plan digest %s loading every checkpoint, %s loading the changed anchors", a.PlanDigest, b.PlanDigest)
	}
	if a.Counts != b.Counts {
		t.Errorf("counts %+v loading every checkpoint, %+v loading the changed anchors", a.Counts, b.Counts)
	}
	ops := func(r *reconcile.Report) []string {
		var out []string
		for _, op := range r.Operations {
			b, _ := json.Marshal(op)
			out = append(out, string(b))
		}
		sort.Strings(out)
		return out
	}
	if x, y := ops(a), ops(b); strings.Join(x, "\n") != strings.Join(y, "\n") {
		t.Errorf("operations loading every checkpoint:\n%s\nloading the changed anchors:\n%s", strings.Join(x, "\n"), strings.Join(y, "\n"))
	}
}
