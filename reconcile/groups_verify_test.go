package reconcile_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"go.uber.org/zap/zaptest"

	"github.com/syncd/syncd/internal/secret"
	"github.com/syncd/syncd/reconcile"
	"github.com/syncd/syncd/sink/pingone"
	"github.com/syncd/syncd/state"
)

// TestVerifyReaddsAManagedMembershipRemovedByHand: a membership syncd
// added and an admin removed in PingOne is invisible to a plain run (the
// plan never reads memberships back) and found by --verify, one member
// listing per managed group, then re-added with one POST. A member the
// admin added by hand stays.
func TestVerifyReaddsAManagedMembershipRemovedByHand(t *testing.T) {
	backends(t, func(t *testing.T, backend string) {
		g := newGroupEnv(t, backend, []string{"Eng;Ops", "Eng", "", "Ops"}, nil)
		g.mustRun(reconcile.Options{})
		eng := g.groupID("Eng")
		users := g.users()
		b, _ := users["id-b"]["id"].(string)
		if err := g.emu.RemoveMember(eng, b); err != nil {
			t.Fatal(err)
		}
		admin, err := g.emu.AddUser(map[string]any{"username": "admin", "email": "admin@example.com"})
		if err != nil {
			t.Fatal(err)
		}
		if err := g.emu.AddMember(eng, admin); err != nil {
			t.Fatal(err)
		}
		g.rec.take()

		// A plain run does not see it: no call at all.
		g.mustRun(reconcile.Options{})
		if calls := g.rec.take(); len(calls) != 0 {
			t.Fatalf("plain run made calls %v", calls)
		}

		rep := g.mustRun(reconcile.Options{Verify: true})
		calls := g.rec.take()
		if len(rep.MemberDrift) != 1 || rep.MemberDrift[0].Member != "id-b" || rep.MemberDrift[0].GroupName != "Eng" || !rep.MemberDrift[0].Repaired {
			t.Fatalf("member drift %+v", rep.MemberDrift)
		}
		if rep.Groups.Counts.MembersAdded != 1 || rep.Counts.Failed != 0 {
			t.Errorf("counts %+v, failures %v", rep.Groups.Counts, rep.Failures)
		}
		if n := countCalls(writes(calls), http.MethodPost, "/memberOfGroups"); n != 1 || len(writes(calls)) != 1 {
			t.Errorf("writes %v, want one membership POST", writes(calls))
		}
		listings := 0
		for _, c := range calls {
			if c.Method == http.MethodGet && strings.HasSuffix(c.Path, "/users") {
				listings++
			}
		}
		// Two population listings (users) plus one member listing per
		// managed group (Eng, Ops); one page each here.
		if listings != 3 {
			t.Errorf("%d user listings, want 3 (one population, two groups): %v", listings, calls)
		}
		if got := g.members("Eng"); !slices.Equal(got, []string{"admin", "user.a", "user.b"}) {
			t.Errorf("Eng members %v, want admin (by hand) kept and user.b back", got)
		}

		// Repaired: the next verify finds nothing and writes nothing.
		rep = g.mustRun(reconcile.Options{Verify: true})
		if ws := writes(g.rec.take()); len(rep.MemberDrift) != 0 || len(ws) != 0 {
			t.Errorf("after repair: drift %+v, writes %v", rep.MemberDrift, ws)
		}
	})
}

// TestVerifyReportModeLeavesMembershipsAlone: drift: report lists the
// lost membership and writes nothing.
func TestVerifyReportModeLeavesMembershipsAlone(t *testing.T) {
	g := newGroupEnv(t, "sqlite", []string{"Eng", "Eng"}, nil)
	g.mustRun(reconcile.Options{})
	a, _ := g.users()["id-a"]["id"].(string)
	if err := g.emu.RemoveMember(g.groupID("Eng"), a); err != nil {
		t.Fatal(err)
	}
	g.job.Drift = reconcile.DriftReport
	g.rec.take()
	rep := g.mustRun(reconcile.Options{Verify: true})
	if len(rep.MemberDrift) != 1 || rep.MemberDrift[0].Repaired || rep.MemberDrift[0].MemberName != "user.a" {
		t.Fatalf("member drift %+v", rep.MemberDrift)
	}
	if ws := writes(g.rec.take()); len(ws) != 0 {
		t.Errorf("report mode wrote %v", ws)
	}
	if got := g.members("Eng"); !slices.Equal(got, []string{"user.b"}) {
		t.Errorf("Eng members %v", got)
	}
}

// TestVerifyRecreatesAManagedGroupDeletedByHand: a group syncd created and
// an admin deleted is found by --verify (its listing is empty and no
// group carries its externalId), created again carrying its anchor, and
// its members re-added in the same run: one group, never two.
func TestVerifyRecreatesAManagedGroupDeletedByHand(t *testing.T) {
	g := newGroupEnv(t, "sqlite", []string{"Eng", "Eng", "Ops"}, nil)
	g.mustRun(reconcile.Options{})
	old := g.groupID("Eng")
	if err := g.emu.DeleteGroup(old); err != nil {
		t.Fatal(err)
	}
	rep := g.mustRun(reconcile.Options{Verify: true})
	if len(rep.MemberDrift) != 1 || !rep.MemberDrift[0].GroupDeleted {
		t.Fatalf("member drift %+v", rep.MemberDrift)
	}
	if rep.Groups.Counts.Created != 1 || rep.Groups.Counts.MembersAdded != 2 || rep.Counts.Failed != 0 {
		t.Fatalf("counts %+v failures %v", rep.Groups.Counts, rep.Failures)
	}
	n := 0
	for _, gr := range g.emu.Groups() {
		if gr.Name == "Eng" {
			n++
			if gr.ID == old || gr.ExternalID != "Eng" {
				t.Errorf("Eng = %+v", gr)
			}
		}
	}
	if n != 1 {
		t.Errorf("%d groups called Eng", n)
	}
	if got := g.members("Eng"); !slices.Equal(got, []string{"user.a", "user.b"}) {
		t.Errorf("Eng members %v", got)
	}
	g.rec.take()
	rep = g.mustRun(reconcile.Options{Verify: true})
	if ws := writes(g.rec.take()); len(rep.MemberDrift) != 0 || len(ws) != 0 {
		t.Errorf("after repair: drift %+v, writes %v", rep.MemberDrift, ws)
	}
}

// TestLostGroupStateFindsGroupsByExternalID: with its state database lost
// (and no `state rebuild`), a run meets its own groups through PingOne's
// name rule; it finds them by the externalId it gave them rather than
// reporting a conflict with itself (DESIGN invariant 3), and no group is
// duplicated.
func TestLostGroupStateFindsGroupsByExternalID(t *testing.T) {
	g := newGroupEnv(t, "sqlite", []string{"Eng;Ops", "Eng"}, nil)
	g.mustRun(reconcile.Options{})
	before := g.emu.Groups()
	g.eng.Store = openStore(t, "sqlite")
	rep := g.mustRun(reconcile.Options{AllowMassAdoption: true})
	if rep.Groups.Counts.Conflicts != 0 || len(rep.Rejects) != 0 || rep.Counts.Failed != 0 {
		t.Fatalf("counts %+v rejects %v failures %v", rep.Groups.Counts, rep.Rejects, rep.Failures)
	}
	if after := g.emu.Groups(); len(after) != len(before) {
		t.Errorf("groups %+v, want %+v", after, before)
	}
	if got := g.members("Eng"); !slices.Equal(got, []string{"user.a", "user.b"}) {
		t.Errorf("Eng members %v", got)
	}
	g.rec.take()
	g.mustRun(reconcile.Options{})
	if ws := writes(g.rec.take()); len(ws) != 0 {
		t.Errorf("next run wrote %v", ws)
	}
}

// beforePOST is a RoundTripper that runs do once, just before the first
// membership POST reaches PingOne.
type beforePOST struct {
	next http.RoundTripper
	once sync.Once
	do   func()
}

func (b *beforePOST) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method == http.MethodPost && strings.HasSuffix(req.URL.Path, "/memberOfGroups") {
		b.once.Do(b.do)
	}
	return b.next.RoundTrip(req)
}

// TestVerifyReaddAnsweredAlreadyStaysSyncds: verify finds a managed
// membership removed by hand and re-adds it; an admin put it back by hand
// meanwhile, so PingOne answers "already a member". The membership is
// still syncd's (state held it as syncd's all along), not recorded as
// preexisting: it is removed when it leaves the source.
func TestVerifyReaddAnsweredAlreadyStaysSyncds(t *testing.T) {
	g := newGroupEnv(t, "sqlite", []string{"Eng", "Eng"}, nil)
	g.mustRun(reconcile.Options{})
	eng := g.groupID("Eng")
	a, _ := g.users()["id-a"]["id"].(string)
	if err := g.emu.RemoveMember(eng, a); err != nil {
		t.Fatal(err)
	}
	tr := &beforePOST{next: g.rec, do: func() {
		if err := g.emu.AddMember(eng, a); err != nil {
			t.Error(err)
		}
	}}
	client, err := pingone.New(pingone.Config{
		APIURL: g.emu.APIURL(), AuthURL: g.emu.AuthURL(), EnvironmentID: g.emu.EnvironmentID(),
		ClientID: g.emu.ClientID(), ClientSecret: secret.New(g.emu.ClientSecret()), RateLimit: 1000, Concurrency: 8,
	}, zaptest.NewLogger(t), pingone.WithHTTPClient(&http.Client{Transport: tr}))
	if err != nil {
		t.Fatal(err)
	}
	g.eng.Target = client
	rep := g.mustRun(reconcile.Options{Verify: true})
	if len(rep.MemberDrift) != 1 || rep.MemberDrift[0].Member != "id-a" || rep.Counts.Failed != 0 {
		t.Fatalf("member drift %+v, failures %v", rep.MemberDrift, rep.Failures)
	}
	var got []state.Membership
	err = g.store.(state.GroupStore).Memberships(context.Background(), g.job.Name, func(m state.Membership) error {
		if m.Member == "id-a" {
			got = append(got, m)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Preexisting || got[0].Pending {
		t.Fatalf("a's membership after the re-add answered already: %+v, want syncd's own", got)
	}
	g.setGroups(0, "")
	rep = g.mustRun(reconcile.Options{})
	if rep.Groups.Counts.MembersRemoved != 1 || slices.Contains(g.members("Eng"), "user.a") {
		t.Errorf("a leaving Eng: counts %+v, Eng members %v", rep.Groups.Counts, g.members("Eng"))
	}
}
