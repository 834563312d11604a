package pingone_test

import (
	"context"
	"maps"
	"slices"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/syncd/syncd/sink/pingone"
	"github.com/syncd/syncd/sink/pingone/pingonetest"
)

// TestGroupContract exercises every group and membership call against the
// spec-validating emulator, including the idempotent answers: adding a
// member twice and removing a gone one count as done.
func TestGroupContract(t *testing.T) {
	t.Parallel()
	srv := newEmulator(t, pingonetest.Options{Populations: []string{"Default", "Staff"}, MaxPageSize: 2})
	c := newClient(t, clientConfig(srv), zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)))
	ctx := context.Background()

	eng, err := c.CreateGroup(ctx, pingone.Group{Name: "Engineering", Description: "eng", ExternalID: "g-eng"})
	if err != nil || eng.ID == "" || eng.ExternalID != "g-eng" || eng.PopulationID != "" {
		t.Fatalf("CreateGroup = %+v, %v", eng, err)
	}
	staffGroup, err := c.CreateGroup(ctx, pingone.Group{Name: "Staff VPN", ExternalID: "g-vpn", PopulationID: srv.PopulationID("Staff")})
	if err != nil || staffGroup.PopulationID != srv.PopulationID("Staff") {
		t.Fatalf("CreateGroup population = %+v, %v", staffGroup, err)
	}
	if _, err := c.CreateGroup(ctx, pingone.Group{Name: "engineering"}); !pingone.IsUniquenessViolation(err) {
		t.Errorf("duplicate name: %v, want a uniqueness violation", err)
	}
	got, ok, err := c.GroupByExternalID(ctx, "g-eng")
	if err != nil || !ok || got.ID != eng.ID {
		t.Errorf("GroupByExternalID = %+v %v %v", got, ok, err)
	}
	if _, ok, err := c.GroupByExternalID(ctx, "nope"); ok || err != nil {
		t.Errorf("GroupByExternalID(nope) = %v %v", ok, err)
	}
	if gs, err := c.GroupsByName(ctx, "Staff VPN"); err != nil || len(gs) != 1 {
		t.Errorf("GroupsByName = %+v %v", gs, err)
	}
	upd, err := c.UpdateGroup(ctx, eng.ID, pingone.Group{Name: "Engineers", ExternalID: "g-eng"})
	if err != nil || upd.Name != "Engineers" || upd.Description != "" {
		t.Errorf("UpdateGroup = %+v %v", upd, err)
	}

	var users []string
	for _, n := range []string{"ada", "bob", "cy"} {
		u, err := c.CreateUser(ctx, "", map[string]string{"username": n, "email": n + "@example.com", "externalId": "u-" + n})
		if err != nil {
			t.Fatal(err)
		}
		users = append(users, u.ID)
	}
	for _, u := range users {
		if already, err := c.AddUserToGroup(ctx, u, eng.ID); err != nil || already {
			t.Fatalf("AddUserToGroup = %v %v", already, err)
		}
	}
	if already, err := c.AddUserToGroup(ctx, users[0], eng.ID); err != nil || !already {
		t.Errorf("AddUserToGroup twice = %v %v, want already", already, err)
	}
	// A user of another population may not join a population group: a
	// real error, not "already".
	if _, err := c.AddUserToGroup(ctx, users[0], staffGroup.ID); err == nil {
		t.Error("adding a Default user to a Staff group succeeded")
	}
	var members []string
	if err := c.GroupMembers(ctx, eng.ID, func(u pingone.User) error { members = append(members, u.ID); return nil }); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(members, users) { // three members over two-item pages
		t.Errorf("GroupMembers = %v, want %v", members, users)
	}
	if gone, err := c.RemoveUserFromGroup(ctx, users[1], eng.ID); err != nil || gone {
		t.Errorf("RemoveUserFromGroup = %v %v", gone, err)
	}
	if gone, err := c.RemoveUserFromGroup(ctx, users[1], eng.ID); err != nil || !gone {
		t.Errorf("RemoveUserFromGroup twice = %v %v, want gone", gone, err)
	}

	plat, err := c.CreateGroup(ctx, pingone.Group{Name: "Platform", ExternalID: "g-plat"})
	if err != nil {
		t.Fatal(err)
	}
	if already, err := c.NestGroup(ctx, plat.ID, eng.ID); err != nil || already {
		t.Errorf("NestGroup = %v %v", already, err)
	}
	if already, err := c.NestGroup(ctx, plat.ID, eng.ID); err != nil || !already {
		t.Errorf("NestGroup twice = %v %v", already, err)
	}
	if g := srv.Groups(); !slices.Contains(g[2].Parents, eng.ID) {
		t.Errorf("platform's parents = %v", g[2].Parents)
	}
	if gone, err := c.UnnestGroup(ctx, plat.ID, eng.ID); err != nil || gone {
		t.Errorf("UnnestGroup = %v %v", gone, err)
	}
	// GroupParents lists the groups Platform is nested in, three over
	// pages of two.
	var want []string
	for _, n := range []string{"P1", "P2", "P3"} {
		p, err := c.CreateGroup(ctx, pingone.Group{Name: n})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.NestGroup(ctx, plat.ID, p.ID); err != nil {
			t.Fatal(err)
		}
		want = append(want, p.ID)
	}
	var parents []string
	if err := c.GroupParents(ctx, plat.ID, func(id string) error { parents = append(parents, id); return nil }); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(parents, want) {
		t.Errorf("GroupParents = %v, want %v", parents, want)
	}
	if err := c.GroupParents(ctx, "no-such-group", func(string) error { return nil }); !pingone.IsNotFound(err) {
		t.Errorf("GroupParents of a missing group: %v, want not found", err)
	}
	// UserGroups: ada is a direct member of Engineers and, through
	// Platform nested in P1..P3, an indirect one of those three, listed
	// over pages of two.
	if _, err := c.AddUserToGroup(ctx, users[0], plat.ID); err != nil {
		t.Fatal(err)
	}
	types := map[string]bool{}
	if err := c.UserGroups(ctx, users[0], func(id string, direct bool) error { types[id] = direct; return nil }); err != nil {
		t.Fatal(err)
	}
	wantTypes := map[string]bool{eng.ID: true, plat.ID: true, want[0]: false, want[1]: false, want[2]: false}
	if !maps.Equal(types, wantTypes) {
		t.Errorf("UserGroups = %v, want %v", types, wantTypes)
	}
	if _, err := c.RemoveUserFromGroup(ctx, users[0], plat.ID); err != nil {
		t.Fatal(err)
	}
	for _, p := range want {
		if _, err := c.UnnestGroup(ctx, plat.ID, p); err != nil {
			t.Fatal(err)
		}
	}
	if gone, err := c.UnnestGroup(ctx, plat.ID, eng.ID); err != nil || !gone {
		t.Errorf("UnnestGroup twice = %v %v", gone, err)
	}
	if err := c.DeleteGroup(ctx, plat.ID); err != nil {
		t.Error(err)
	}
	if err := c.DeleteGroup(ctx, plat.ID); err != nil {
		t.Errorf("DeleteGroup twice: %v", err)
	}
}

// TestGroupCreateLostResponse: a create whose answer is lost is found by
// externalId, not created twice.
func TestGroupCreateLostResponse(t *testing.T) {
	t.Parallel()
	srv := newEmulator(t, pingonetest.Options{})
	c := newClient(t, clientConfig(srv), zaptest.NewLogger(t, zaptest.Level(zap.WarnLevel)))
	srv.SetFaults(0, 1, 0) // every write committed, every answer lost
	done := make(chan struct{})
	var g pingone.Group
	var err error
	go func() {
		defer close(done)
		g, err = c.CreateGroup(context.Background(), pingone.Group{Name: "Ops", ExternalID: "g-ops"})
	}()
	// The recovery look-up is a GET, which is never lost.
	<-done
	if err != nil || g.ExternalID != "g-ops" {
		t.Fatalf("CreateGroup = %+v, %v", g, err)
	}
	if n := len(srv.Groups()); n != 1 {
		t.Errorf("%d groups, want 1", n)
	}
}
