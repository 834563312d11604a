package reconcile_test

import (
	"context"
	"strings"
	"testing"

	"github.com/syncd/syncd/reconcile"
	"github.com/syncd/syncd/sources"
	"github.com/syncd/syncd/state"
)

// deletions is a source that, given a cursor, reads a delta of the
// deletions listed in it (as syncrepl reports them); without one it reads
// the CSV completely.
type deletions struct {
	sources.Source
	deleted []string
}

func (d *deletions) Open(ctx context.Context, req sources.ReadRequest) (sources.Reader, error) {
	if req.Full || len(req.Cursor) == 0 {
		return d.Source.Open(ctx, req)
	}
	return &deltaReader{cursor: req.Cursor, anchors: d.deleted, i: -1}, nil
}

type deltaReader struct {
	cursor  []byte
	anchors []string
	i       int
}

func (r *deltaReader) Mode() sources.Mode { return sources.Delta }
func (r *deltaReader) Next() bool         { r.i++; return r.i < len(r.anchors) }
func (r *deltaReader) Record() sources.Record {
	return sources.Record{Anchor: r.anchors[r.i], Deleted: true, Pos: r.anchors[r.i]}
}
func (r *deltaReader) Err() error     { return nil }
func (r *deltaReader) Cursor() []byte { return r.cursor }
func (r *deltaReader) Close() error   { return nil }

// TestWatchGateHoldsTheWholeBatchOverTheWindow: watch runs count
// disables over the window; the batch that would exceed max_disables has
// all its disables held (none trickles through), in state; a run without
// --allow-mass-disable keeps them held, one with it applies them.
func TestWatchGateHoldsTheWholeBatchOverTheWindow(t *testing.T) {
	backends(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend)
		src := &deletions{Source: e.job.Source}
		e.job.Source, e.job.FullEvery = src, 24*3600*1e9
		e.job.Safety.MaxDisables, e.job.Safety.MaxDisablePercent = 3, 100
		e.mustRun(reconcile.Options{})
		watch := reconcile.Options{Watch: true, WatchGateWindow: 3600 * 1e9}

		src.deleted = []string{"id-a", "id-b"}
		if rep := e.mustRun(watch); rep.Counts.Disabled != 2 || len(rep.Held) != 0 {
			t.Fatalf("first batch: %+v, held %v; want 2 disabled", rep.Counts, rep.Held)
		}
		src.deleted = []string{"id-c", "id-d"} // 2 + 2 in the window > 3
		rep := e.mustRun(watch)
		if rep.Counts.Disabled != 0 || len(rep.Held) != 2 {
			t.Fatalf("second batch: %+v, held %d; want 0 disabled, 2 held", rep.Counts, len(rep.Held))
		}
		if !strings.Contains(strings.Join(rep.Warnings, "\n"), "safety gate") {
			t.Errorf("warnings %q say nothing of the safety gate", rep.Warnings)
		}
		held, err := e.store.(state.Held).HeldDisables(context.Background(), "hr")
		if err != nil || len(held) != 2 || held[0].Anchor != "id-c" || held[1].Anchor != "id-d" || held[0].RunID != rep.RunID {
			t.Fatalf("held in state: %+v (%v)", held, err)
		}
		disabled := func() int {
			n := 0
			for _, u := range e.users() {
				if u["enabled"] == false {
					n++
				}
			}
			return n
		}

		// A scheduled run reading them as absent keeps them held.
		rows := people(10)
		e.write(append(rows[:2:2], rows[4:]...)) // c and d gone, a and b back
		rep = e.mustRun(reconcile.Options{ForceFull: true})
		if rep.Counts.Disabled != 0 {
			t.Errorf("scheduled run: %+v", rep.Counts)
		}
		if n := disabled(); n != 0 {
			t.Fatalf("%d users disabled after a run without --allow-mass-disable; want a and b enabled again, c and d held", n)
		}
		rep = e.mustRun(reconcile.Options{AllowMassDisable: true})
		if rep.Counts.Disabled != 2 || disabled() != 2 {
			t.Fatalf("--allow-mass-disable run: %+v, %d disabled; want c and d", rep.Counts, disabled())
		}
		if held, _ = e.store.(state.Held).HeldDisables(context.Background(), "hr"); len(held) != 0 {
			t.Errorf("still held after --allow-mass-disable: %+v", held)
		}
	})
}
