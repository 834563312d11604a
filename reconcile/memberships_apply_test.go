package reconcile_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"go.uber.org/zap/zaptest"

	"github.com/syncd/syncd/internal/secret"
	"github.com/syncd/syncd/reconcile"
	"github.com/syncd/syncd/sink/pingone"
	"github.com/syncd/syncd/sink/pingone/budget"
	"github.com/syncd/syncd/state"
)

// classBudget is a pingone.Budget that never waits and counts the
// requests of each priority class.
type classBudget struct {
	mu sync.Mutex
	n  [budget.NumClasses]int
}

func (b *classBudget) Wait(_ context.Context, c budget.Class) error {
	b.mu.Lock()
	b.n[c]++
	b.mu.Unlock()
	return nil
}

func (b *classBudget) Throttled(context.Context) {}

func (b *classBudget) take() [budget.NumClasses]int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := b.n
	b.n = [budget.NumClasses]int{}
	return n
}

// withBudget points the env's engine at a client whose requests wait in b.
func (e *env) withBudget(b pingone.Budget) {
	e.t.Helper()
	client, err := pingone.New(pingone.Config{
		APIURL: e.emu.APIURL(), AuthURL: e.emu.AuthURL(), EnvironmentID: e.emu.EnvironmentID(),
		ClientID: e.emu.ClientID(), ClientSecret: secret.New(e.emu.ClientSecret()), RateLimit: 1000, Concurrency: 8,
	}, zaptest.NewLogger(e.t), pingone.WithHTTPClient(&http.Client{Transport: e.rec}), pingone.WithBudget(b))
	if err != nil {
		e.t.Fatal(err)
	}
	e.eng.Target = client
	e.eng.Calls = func() int64 { return client.Stats().Total() }
}

// TestMembershipWritesWaitInTheMembershipClass: group and membership
// calls wait in budget.ClassMembership, below every user write, so that a
// backfill of memberships never delays a leaver's disable in another job
// sharing the environment's budget (DESIGN invariant 13).
func TestMembershipWritesWaitInTheMembershipClass(t *testing.T) {
	g := newGroupEnv(t, "sqlite", []string{"Eng;Ops", "Eng", "", "Ops"}, nil)
	b := &classBudget{}
	g.withBudget(b)
	rep := g.mustRun(reconcile.Options{})
	if rep.Groups.Counts.Created != 2 || rep.Groups.Counts.MembersAdded != 4 || rep.Counts.Created != 4 {
		t.Fatalf("first run: users %+v groups %+v", rep.Counts, rep.Groups.Counts)
	}
	n := b.take()
	// 2 group creates and 4 membership POSTs; the 4 user creates wait in
	// the create class.
	if n[budget.ClassMembership] != 6 {
		t.Errorf("%d requests waited in the membership class, want 6 (2 groups + 4 memberships); by class %v", n[budget.ClassMembership], n)
	}
	if n[budget.ClassCreate] != 4 {
		t.Errorf("%d requests waited in the create class, want 4; by class %v", n[budget.ClassCreate], n)
	}

	// One member leaves a group and one user is disabled: the removal
	// waits in the membership class, the disable in the disable class.
	g.setGroups(1, "")
	g.rows[2][6] = "no"
	g.flush()
	rep = g.mustRun(reconcile.Options{})
	if rep.Groups.Counts.MembersRemoved != 1 || rep.Counts.Disabled != 1 {
		t.Fatalf("second run: users %+v groups %+v", rep.Counts, rep.Groups.Counts)
	}
	n = b.take()
	if n[budget.ClassMembership] != 1 || n[budget.ClassDisable] != 1 || n[budget.ClassUpdate] != 0 {
		t.Errorf("by class %v, want 1 membership and 1 disable, no update", n)
	}
}

// TestMembershipFailuresCountTowardMaxFailures: membership calls that
// fail count toward safety.max_failures like user operations: past it the
// apply stops, what was done is checkpointed, and the run fails naming
// the limit. The members here were deleted in PingOne by hand, so PingOne
// answers 404 to each POST.
func TestMembershipFailuresCountTowardMaxFailures(t *testing.T) {
	const n = 20
	groups := make([]string, n)
	g := newGroupEnv(t, "sqlite", groups, nil)
	g.job.Workers, g.job.BatchSize = 1, 1
	g.job.Safety.MaxFailures = reconcile.Threshold{Count: 3}
	g.mustRun(reconcile.Options{})
	users := g.users()
	for i := 0; i < 10; i++ { // the first ten in anchor order
		id, _ := users[g.rows[i][0]]["id"].(string)
		if err := g.emu.DeleteUser(id); err != nil {
			t.Fatal(err)
		}
	}
	for i := range g.rows {
		g.rows[i][len(g.rows[i])-1] = "Eng"
	}
	g.flush()
	g.rec.take()
	rep, err := g.run(reconcile.Options{})
	if err == nil || !strings.Contains(err.Error(), "safety.max_failures") {
		t.Fatalf("run error = %v, want a stop naming safety.max_failures", err)
	}
	posts := countCalls(g.rec.take(), http.MethodPost, "/memberOfGroups")
	if posts >= n {
		t.Errorf("%d membership POSTs: the run went on past max_failures=3", posts)
	}
	if rep.Groups == nil || rep.Groups.Counts.Failed < 4 || rep.Counts.Failed < 4 {
		t.Fatalf("counts: users %+v groups %+v, want at least 4 failures", rep.Counts, rep.Groups)
	}
	if len(rep.Failures) != rep.Groups.Counts.Failed {
		t.Errorf("%d failures listed, %d counted", len(rep.Failures), rep.Groups.Counts.Failed)
	}
}

// TestMembershipRemovalAlreadyGoneIsDone: a membership removed by hand in
// PingOne before syncd removes it answers 404, which counts as removed:
// no failure, and state forgets it.
func TestMembershipRemovalAlreadyGoneIsDone(t *testing.T) {
	backends(t, func(t *testing.T, backend string) {
		g := newGroupEnv(t, backend, []string{"Eng", "Eng"}, nil)
		g.mustRun(reconcile.Options{})
		eng := g.groupID("Eng")
		b, _ := g.users()["id-b"]["id"].(string)
		if err := g.emu.RemoveMember(eng, b); err != nil { // removed by hand
			t.Fatal(err)
		}
		g.setGroups(1, "")
		g.rec.take()
		rep := g.mustRun(reconcile.Options{})
		if rep.Groups.Counts.MembersRemoved != 1 || rep.Groups.Counts.Failed != 0 || rep.Counts.Failed != 0 {
			t.Fatalf("counts %+v, failures %v", rep.Groups.Counts, rep.Failures)
		}
		if calls := g.rec.take(); countCalls(calls, http.MethodDelete, "/memberOfGroups") != 1 {
			t.Errorf("calls %v, want one DELETE", calls)
		}
		if got := g.members("Eng"); len(got) != 1 || got[0] != "user.a" {
			t.Errorf("Eng members %v (group %s)", got, eng)
		}
		// State forgot it: the next run makes no call.
		rep = g.mustRun(reconcile.Options{})
		if calls := g.rec.take(); len(calls) != 0 || rep.Groups.Counts.MembersUnchanged != 1 {
			t.Errorf("next run: calls %v counts %+v", calls, rep.Groups.Counts)
		}
	})
}

// intentCheck is a RoundTripper that, when a membership POST goes out,
// looks in state for that membership's intent.
type intentCheck struct {
	next    http.RoundTripper
	g       *groupEnv
	mu      sync.Mutex
	posts   int
	missing []string
}

func (c *intentCheck) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method == http.MethodPost && strings.HasSuffix(req.URL.Path, "/memberOfGroups") && strings.Contains(req.URL.Path, "/users/") {
		parts := strings.Split(req.URL.Path, "/")
		userID := parts[len(parts)-2]
		u, _ := c.g.emu.User(userID)
		anchor, _ := u["externalId"].(string)
		pending := map[string]bool{}
		err := c.g.store.(state.GroupStore).Memberships(req.Context(), c.g.job.Name, func(m state.Membership) error {
			if m.Member == anchor && m.Pending {
				pending[m.Group] = true
			}
			return nil
		})
		c.mu.Lock()
		c.posts++
		if err != nil || len(pending) == 0 {
			c.missing = append(c.missing, fmt.Sprintf("%s (%v)", anchor, err))
		}
		c.mu.Unlock()
	}
	return c.next.RoundTrip(req)
}

// TestMembershipIntentIsRecordedBeforeItsPOST: every membership POST goes
// out with its intent (a pending membership) already in state, so a crash
// between the call and its checkpoint cannot make syncd's own membership
// look like an admin's. A pending membership PingOne already has is then
// recorded as syncd's (not preexisting) and removed when it leaves the
// source.
func TestMembershipIntentIsRecordedBeforeItsPOST(t *testing.T) {
	g := newGroupEnv(t, "sqlite", []string{"Eng;Ops", "Eng", "Ops"}, nil)
	check := &intentCheck{next: g.rec, g: g}
	client, err := pingone.New(pingone.Config{
		APIURL: g.emu.APIURL(), AuthURL: g.emu.AuthURL(), EnvironmentID: g.emu.EnvironmentID(),
		ClientID: g.emu.ClientID(), ClientSecret: secret.New(g.emu.ClientSecret()), RateLimit: 1000, Concurrency: 8,
	}, zaptest.NewLogger(t), pingone.WithHTTPClient(&http.Client{Transport: check}))
	if err != nil {
		t.Fatal(err)
	}
	g.eng.Target = client
	rep := g.mustRun(reconcile.Options{})
	if rep.Groups.Counts.MembersAdded != 4 || check.posts != 4 || len(check.missing) != 0 {
		t.Fatalf("added %d, POSTs %d, sent without an intent: %v", rep.Groups.Counts.MembersAdded, check.posts, check.missing)
	}
	gs := g.store.(state.GroupStore)
	memberships := func() map[string]state.Membership {
		out := map[string]state.Membership{}
		if err := gs.Memberships(context.Background(), g.job.Name, func(m state.Membership) error { out[m.Group+"/"+m.Member] = m; return nil }); err != nil {
			t.Fatal(err)
		}
		return out
	}
	for k, m := range memberships() {
		if m.Pending || m.Preexisting {
			t.Errorf("%s after the run: %+v", k, m)
		}
	}

	// The state of a run killed after c's POST to Eng reached PingOne and
	// before its checkpoint: an intent, and the member in PingOne.
	c, _ := g.users()["id-c"]["id"].(string)
	if err := g.emu.AddMember(g.groupID("Eng"), c); err != nil {
		t.Fatal(err)
	}
	if err := gs.SaveGroups(context.Background(), g.job.Name, state.GroupBatch{Add: []state.Membership{{Group: "Eng", Member: "id-c", Pending: true}}}); err != nil {
		t.Fatal(err)
	}
	g.setGroups(2, "Ops;Eng")
	rep = g.mustRun(reconcile.Options{})
	if rep.Groups.Counts.MembersAdded != 1 || rep.Counts.Failed != 0 {
		t.Fatalf("counts %+v failures %v", rep.Groups.Counts, rep.Failures)
	}
	if m := memberships()["Eng/id-c"]; m.Pending || m.Preexisting {
		t.Fatalf("c's membership after the re-send: %+v, want syncd's own", m)
	}
	// What the README tells an admin to look for after a kill -9: the
	// re-send journaled as add_member with status 400 (already a member).
	if es := journalOf(t, g.store, rep.RunID)["id-c"]; len(es) != 1 || es[0].Op != "add_member" || es[0].Status != http.StatusBadRequest {
		t.Errorf("journal of c's re-send: %+v, want one add_member with status 400", es)
	}
	g.setGroups(2, "Ops")
	rep = g.mustRun(reconcile.Options{})
	if rep.Groups.Counts.MembersRemoved != 1 || slices.Contains(g.members("Eng"), "user.c") {
		t.Errorf("c leaving Eng: counts %+v, Eng members %v", rep.Groups.Counts, g.members("Eng"))
	}
}
