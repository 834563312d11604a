package reconcile_test

import (
	"context"
	"net/http"
	"sync"
	"testing"

	"github.com/syncd/syncd/reconcile"
	"github.com/syncd/syncd/sink/pingone"
)

// stoppingTarget lets n creates through, then calls stop on the next one
// and fails it (fail) or lets it through (a graceful stop in flight).
type stoppingTarget struct {
	reconcile.Target
	mu    sync.Mutex
	n     int
	fail  bool
	after func()
}

func (s *stoppingTarget) CreateUser(ctx context.Context, pop string, attrs map[string]string) (pingone.User, error) {
	s.mu.Lock()
	s.n--
	over := s.n < 0
	if s.n == -1 && s.after != nil {
		s.after()
	}
	s.mu.Unlock()
	if over && s.fail {
		return pingone.User{}, &pingone.APIError{Status: http.StatusBadRequest, Code: "INVALID_DATA", Op: "create_user"}
	}
	return s.Target.CreateUser(ctx, pop, attrs)
}

// After a stop — SIGTERM (a cancelled context) or safety.max_failures —
// the report and the run record count what was executed: as many creates
// as PingOne holds users, the rest as not applied.
func TestStoppedRunCountsOnlyExecutedOperations(t *testing.T) {
	for _, stop := range []string{"sigterm", "max_failures"} {
		t.Run(stop, func(t *testing.T) {
			backends(t, func(t *testing.T, backend string) {
				e := newEnv(t, backend)
				e.write(people(40))
				e.job.Workers, e.job.BatchSize = 2, 4
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				st := &stoppingTarget{Target: e.eng.Target, n: 6}
				if stop == "sigterm" {
					st.after = cancel
				} else {
					st.fail = true
					e.job.Safety.MaxFailures = reconcile.Threshold{Count: 1}
				}
				e.eng.Target = st
				rep, err := e.eng.Run(ctx, e.job, reconcile.Options{})
				if err == nil {
					t.Fatal("the stopped run reported success")
				}
				inPingOne := len(e.users())
				c := rep.Counts
				if c.Created != inPingOne {
					t.Errorf("report claims %d created, PingOne holds %d users", c.Created, inPingOne)
				}
				if c.Created+c.Failed+c.NotApplied != 40 || c.NotApplied == 0 {
					t.Errorf("counts = %+v: created, failed and not applied must add up to the 40 planned", c)
				}
				notApplied := 0
				for _, op := range rep.Operations {
					if op.Result() == "not applied" {
						notApplied++
					}
				}
				if notApplied != c.NotApplied {
					t.Errorf("%d operations listed as not applied, counts say %d", notApplied, c.NotApplied)
				}
				runs, err := e.store.Runs(context.Background(), "hr", 1)
				if err != nil || len(runs) != 1 {
					t.Fatalf("runs: %v %v", runs, err)
				}
				if runs[0].Counts["created"] != inPingOne {
					t.Errorf("run record counts %v, PingOne holds %d users", runs[0].Counts, inPingOne)
				}
			})
		})
	}
}
