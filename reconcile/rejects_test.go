package reconcile_test

import (
	"context"
	"testing"
	"time"

	"github.com/syncd/syncd/reconcile"
	"github.com/syncd/syncd/state"
)

// Rejects are a standing condition: kept per anchor in state, reported by
// every run while they stand — also by a delta run that reads no record —
// and gone once the source fixes them.
func TestRejectsStandUntilTheSourceFixesThem(t *testing.T) {
	backends(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend)
		e.job.ConfigDigest, e.job.FullEvery = "v1", time.Hour
		rows := people(10)
		rows[2][2], rows[5][2] = "not-an-email", "also bad"
		e.write(rows)
		rep := e.mustRun(reconcile.Options{})
		if rep.Counts.Rejected != 2 || rep.StandingRejects != 2 {
			t.Fatalf("first run: counts %+v, standing %d", rep.Counts, rep.StandingRejects)
		}

		rep = e.mustRun(reconcile.Options{}) // the same file: a delta read of nothing
		if rep.Mode != "delta" || rep.Counts.Records != 0 {
			t.Fatalf("second run: mode %s, %d records", rep.Mode, rep.Counts.Records)
		}
		if rep.StandingRejects != 2 {
			t.Errorf("a delta run that reads no record reports %d standing rejects, want 2", rep.StandingRejects)
		}
		var anchors []string
		err := e.store.(state.Rejects).StandingRejects(context.Background(), "hr", func(r state.Reject) error {
			anchors = append(anchors, r.Anchor)
			return nil
		})
		if err != nil || len(anchors) != 2 || anchors[0] != "id-c" || anchors[1] != "id-f" {
			t.Errorf("standing rejects in state: %v %v", anchors, err)
		}

		rows[2][2] = "c@example.com"
		e.write(rows)
		rep = e.mustRun(reconcile.Options{})
		if rep.StandingRejects != 1 || rep.Counts.Created != 1 {
			t.Errorf("after fixing id-c: counts %+v, standing %d", rep.Counts, rep.StandingRejects)
		}
		rows[5][2] = "f@example.com"
		e.write(rows)
		if rep = e.mustRun(reconcile.Options{}); rep.StandingRejects != 0 {
			t.Errorf("after fixing both: standing %d", rep.StandingRejects)
		}
	})
}
