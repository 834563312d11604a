package reconcile_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/syncd/syncd/reconcile"
	"github.com/syncd/syncd/sink/pingone"
	"github.com/syncd/syncd/sink/pingone/pingonetest"
	"github.com/syncd/syncd/state"
)

// killedAfterPOST loses every checkpoint that records an outcome, as if the
// process were killed between PingOne's answers and the state commit; a
// create's intent (committed before its POST) gets through.
type killedAfterPOST struct{ state.Store }

func (k killedAfterPOST) SaveCheckpoints(ctx context.Context, job string, cps []state.Checkpoint) error {
	for _, cp := range cps {
		if cp.Status != state.StatusPending {
			return errors.New("killed before the commit")
		}
	}
	return k.Store.SaveCheckpoints(ctx, job, cps)
}

// lostCreates creates the users of the given anchors in PingOne but answers
// with an error, as a create whose response was lost and whose retries ran
// out does.
type lostCreates struct {
	reconcile.Target
	mu      sync.Mutex
	anchors map[string]bool
}

func (l *lostCreates) CreateUser(ctx context.Context, pop string, attrs map[string]string) (pingone.User, error) {
	u, err := l.Target.CreateUser(ctx, pop, attrs)
	l.mu.Lock()
	defer l.mu.Unlock()
	if err == nil && l.anchors[attrs["externalId"]] {
		return pingone.User{}, &pingone.APIError{Status: http.StatusServiceUnavailable, Code: "SERVICE_UNAVAILABLE", Op: "create_user"}
	}
	return u, err
}

// externalIDLookups counts the GETs the emulator served from request
// number from on that look a user up by externalId.
func externalIDLookups(rs []pingonetest.LoggedRequest, from int) int {
	n := 0
	for _, r := range rs[from:] {
		if r.Method == http.MethodGet && strings.HasSuffix(r.Path, "/users") {
			if q, _ := url.QueryUnescape(r.Query); strings.Contains(q, "externalId") {
				n++
			}
		}
	}
	return n
}

// renamed gives rows i in idx a new username.
func renamed(rows [][]string, idx ...int) [][]string {
	for _, i := range idx {
		rows[i][1] += ".renamed"
	}
	return rows
}

// A run killed between its creates' POSTs and their checkpoint, then a
// change of username in the source: the next run finds each user by
// externalId (one GET) and adopts it, never creating a second one.
func TestKilledAfterCreateThenRenamedCreatesNoDuplicate(t *testing.T) {
	backends(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend)
		e.mustRun(reconcile.Options{}) // the job manages id-a … id-j
		e.write(people(13))            // three joiners: id-k, id-l, id-m
		real := e.eng.Store
		e.eng.Store = killedAfterPOST{real}
		if _, err := e.run(reconcile.Options{}); err == nil {
			t.Fatal("the killed run reported success")
		}
		if n := len(e.users()); n != 13 {
			t.Fatalf("PingOne has %d users after the kill, want 13", n)
		}
		e.eng.Store = real
		rows := renamed(people(14), 10, 11, 12) // and one more joiner: id-n
		e.write(rows)
		from := len(e.emu.Requests())
		rep := e.mustRun(reconcile.Options{})
		us := e.users() // fails on a duplicate externalId
		if len(us) != 14 {
			t.Fatalf("PingOne has %d users, want 14", len(us))
		}
		for _, a := range []string{"id-k", "id-l", "id-m"} {
			if got := us[a]["username"]; !strings.HasSuffix(got.(string), ".renamed") {
				t.Errorf("%s username = %v, want the renamed one", a, got)
			}
		}
		if rep.Counts.Created != 1 || rep.Counts.Adopted != 3 || rep.Counts.Failed != 0 {
			t.Errorf("counts = %+v, want 1 created (id-n), 3 adopted", rep.Counts)
		}
		// One look-up per anchor whose create was pending; none for the
		// fresh joiner, whose create is its one call.
		if n := externalIDLookups(e.emu.Requests(), from); n != 3 {
			t.Errorf("%d look-ups by externalId, want 3", n)
		}
		if rep := e.mustRun(reconcile.Options{}); rep.Counts.Unchanged != 14 {
			t.Errorf("third run: %+v", rep.Counts)
		}
	})
}

// A create whose response was lost and whose retries ran out is a failure;
// when the source renames the user before the next run, that run finds the
// user PingOne did create by externalId and adopts it.
func TestCreateWithRetriesExhaustedThenRenamedCreatesNoDuplicate(t *testing.T) {
	backends(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend)
		real := e.eng.Target
		e.job.Safety.MaxFailures = reconcile.Threshold{Count: 5}
		e.eng.Target = &lostCreates{Target: real, anchors: map[string]bool{"id-c": true, "id-f": true}}
		rep, err := e.run(reconcile.Options{})
		if err != nil {
			t.Fatalf("run: %v", err)
		}
		if rep.Counts.Failed != 2 || rep.Counts.Created != 8 {
			t.Fatalf("counts = %+v, want 8 created and 2 failed", rep.Counts)
		}
		e.eng.Target = real
		e.write(renamed(people(10), 2, 5))
		rep = e.mustRun(reconcile.Options{})
		us := e.users()
		if len(us) != 10 {
			t.Fatalf("PingOne has %d users, want 10", len(us))
		}
		if rep.Counts.Adopted != 2 || rep.Counts.Created != 0 || rep.Counts.Failed != 0 {
			t.Errorf("counts = %+v, want 2 adopted", rep.Counts)
		}
		if us["id-c"]["username"] != "user.c.renamed" {
			t.Errorf("id-c = %v", us["id-c"])
		}
	})
}

// An anchor whose create may have reached PingOne and that then left the
// source is looked up and disabled, not left enabled and unmanaged.
func TestKilledAfterCreateThenLeftTheSourceIsDisabled(t *testing.T) {
	backends(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend)
		e.mustRun(reconcile.Options{})
		e.write(people(11)) // id-k joins
		real := e.eng.Store
		e.eng.Store = killedAfterPOST{real}
		if _, err := e.run(reconcile.Options{}); err == nil {
			t.Fatal("the killed run reported success")
		}
		e.eng.Store = real
		e.write(people(10)) // id-k leaves before the next run
		rep := e.mustRun(reconcile.Options{})
		us := e.users()
		if len(us) != 11 || us["id-k"]["enabled"] != false {
			t.Fatalf("id-k enabled = %v (users %d), want it disabled", us["id-k"]["enabled"], len(us))
		}
		if rep.Counts.Disabled != 1 {
			t.Errorf("counts = %+v, want 1 disabled", rep.Counts)
		}
		e.rec.take()
		if rep := e.mustRun(reconcile.Options{}); rep.Counts.Unchanged != 11 || len(writes(e.rec.take())) != 0 {
			t.Errorf("third run: %+v", rep.Counts)
		}
	})
}
