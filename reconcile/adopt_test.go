package reconcile

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"pgregory.net/rapid"

	"github.com/syncd/syncd/mapper"
	"github.com/syncd/syncd/sink/pingone"
	"github.com/syncd/syncd/state"
)

// testReach is a job's reach over populations "pop-staff" and
// "pop-contract": a user in "pop-other" sits outside it.
func testReach() *reach {
	return &reach{
		load: func() (map[string]string, error) {
			return map[string]string{"pop-staff": "Staff", "pop-contract": "Contractors"}, nil
		},
		names: func() map[string]string { return map[string]string{"pop-other": "Other"} },
	}
}

// The first run's listing is summarised (envUsers) and matched against the
// creates on hashes (createIndex); what the summaries cannot decide is
// decided on the user read again by id. Together they decide exactly what
// match, the population check and adoptOp decide over the whole listing
// held in memory — rule order, ambiguity, a username taken by a user no
// rule adopts, an externalId of another record, a user outside the job's
// populations, attribute changes — whatever the users and their order;
// and a user is read by id exactly when its summary cannot decide: it
// carries another externalId, or its managed values differ from the
// record's.
func TestStreamedAdoptionDecidesAsTheWholeListing(t *testing.T) {
	managed := []string{"email", "externalId", "name.given", "title", "username"}
	rapid.Check(t, func(t *rapid.T) {
		rules := rapid.SampledFrom([][]string{
			{MatchExternalID}, {MatchUsername}, {MatchEmail},
			{MatchExternalID, MatchUsername}, {MatchUsername, MatchExternalID},
			{MatchExternalID, MatchUsername, MatchEmail}, {MatchEmail, MatchExternalID},
		}).Draw(t, "rules")
		cased := func(t *rapid.T, label, s string) string {
			if rapid.Bool().Draw(t, label) {
				return strings.ToUpper(s)
			}
			return s
		}
		popIDs := map[string]string{"Staff": "pop-staff", "Contractors": "pop-contract"}

		recs := newRecords()
		n := rapid.IntRange(1, 6).Draw(t, "records")
		for i := 0; i < n; i++ {
			a := fmt.Sprintf("a%d", i)
			attrs := map[string]string{
				"externalId": rapid.SampledFrom([]string{a, a, "x" + a}).Draw(t, "ext"),
				"username":   cased(t, "ucase", fmt.Sprintf("u%d", rapid.IntRange(0, 3).Draw(t, "username"))),
				"title":      rapid.SampledFrom([]string{"Engineer", "Manager"}).Draw(t, "title"),
			}
			if e := rapid.IntRange(0, 3).Draw(t, "email"); e > 0 {
				attrs["email"] = cased(t, "ecase", fmt.Sprintf("m%d@example.com", e))
			}
			pop := rapid.SampledFrom([]string{"Staff", "Contractors"}).Draw(t, "pop")
			recs.add(&mapper.Desired{Anchor: a, Attributes: attrs, Population: pop, Enabled: rapid.Bool().Draw(t, "enabled"),
				Hash: mapper.HashDesired(attrs, pop, true)})
		}
		recs.sortByAnchor()
		ops := make([]Op, recs.len())
		for i := range ops {
			d := recs.at(i)
			ops[i] = Op{desired: d, Actions: Actions(ActCreate), Why: "new in the source", ToPopulation: popIDs[d.population()]}
		}

		var users []pingone.User
		byID := map[string]pingone.User{}
		for i := range rapid.IntRange(0, 8).Draw(t, "users") {
			u := pingone.User{
				ID:           fmt.Sprintf("p%d", i),
				PopulationID: rapid.SampledFrom([]string{"pop-staff", "pop-contract", "pop-other"}).Draw(t, "upop"),
				Enabled:      rapid.Bool().Draw(t, "uenabled"),
				Attributes: map[string]string{
					"externalId": rapid.SampledFrom([]string{"", "", "a0", "a1", "xa0", "a2"}).Draw(t, "uext"),
					"username":   cased(t, "uucase", fmt.Sprintf("u%d", rapid.IntRange(0, 5).Draw(t, "uusername"))),
					"email":      rapid.SampledFrom([]string{"", "m1@example.com", "M2@example.com", "m3@example.com"}).Draw(t, "uemail"),
					"title":      rapid.SampledFrom([]string{"", "Engineer", "Director"}).Draw(t, "utitle"),
					"name.given": rapid.SampledFrom([]string{"", "", "Ann"}).Draw(t, "ugiven"),
				},
			}
			if rapid.Bool().Draw(t, "uuid") {
				// PingOne's ids are UUIDs, summarised in 16 bytes.
				u.ID = fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i*7919)
			}
			users = append(users, u)
			byID[u.ID] = u
		}
		job := &Job{reach: testReach()}

		// The whole listing, as before.
		want := append([]Op(nil), ops...)
		wantRep := &Report{}
		c := &candidates{byExternalID: map[string][]pingone.User{}, byUsername: map[string][]pingone.User{}, byEmail: map[string][]pingone.User{}}
		for _, u := range users {
			c.add(u)
		}
		var wantGets []string
		for i := range want {
			op := &want[i]
			m := op.desired.matchKey()
			if u := bestMatch(rules, m, c); u != nil {
				other := u.Attributes["externalId"] != "" && u.Attributes["externalId"] != m.externalID
				outside, _ := job.reach.outside(*u, "")
				if other || (outside == "" && !sameValues(u, op.desired, managed)) {
					wantGets = append(wantGets, u.ID)
				}
			}
			u, rule, why := match(rules, m, c, map[string]string{})
			switch {
			case why != "":
				conflict(op, why)
			case u != nil:
				if why, _ := job.reach.outside(*u, rule); why != "" {
					reject(wantRep, op, "population", why)
					op.cp = &state.Checkpoint{Anchor: op.Anchor(), Status: state.StatusConflict, LastError: why}
					break
				}
				*op = adoptOp(op, *u, rule)
			}
		}

		// Summarised, matched on hashes, read by id where needed.
		got := append([]Op(nil), ops...)
		gotRep := &Report{}
		env := newEnvUsers(managed)
		for i := range users {
			env.add(&users[i])
		}
		var mu sync.Mutex
		var gets []string
		get := func(_ context.Context, id string) (pingone.User, error) {
			mu.Lock()
			defer mu.Unlock()
			gets = append(gets, id)
			return byID[id], nil
		}
		ix := newCreateIndex(rules, got, env)
		for j := range env.len() {
			ix.offer(j)
		}
		if err := ix.decide(context.Background(), job, gotRep, get, rapid.IntRange(1, 3).Draw(t, "workers")); err != nil {
			t.Fatal(err)
		}

		for i := range want {
			w, g := &want[i], &got[i]
			if w.Actions != g.Actions || w.Why != g.Why || w.ToPopulation != g.ToPopulation || w.UserID() != g.UserID() ||
				w.FromPopulation() != g.FromPopulation() || !reflect.DeepEqual(w.changes(), g.changes()) || !reflect.DeepEqual(w.cp, g.cp) {
				t.Fatalf("anchor %s: summarised %s %q to %q user %q from %q %v cp %+v\nwhole listing %s %q to %q user %q from %q %v cp %+v",
					w.Anchor(), g.Actions, g.Why, g.ToPopulation, g.UserID(), g.FromPopulation(), g.changes(), g.cp,
					w.Actions, w.Why, w.ToPopulation, w.UserID(), w.FromPopulation(), w.changes(), w.cp)
			}
		}
		if !reflect.DeepEqual(wantRep.Rejects, gotRep.Rejects) {
			t.Fatalf("rejects %v, want %v", gotRep.Rejects, wantRep.Rejects)
		}
		slices.Sort(gets)
		slices.Sort(wantGets)
		if !slices.Equal(gets, wantGets) {
			t.Fatalf("users read by id %v, want %v", gets, wantGets)
		}
	})
}

// bestMatch is the one user the first rule that matches anything matches,
// or nil (no match, or an ambiguous one).
func bestMatch(rules []string, m matchKey, c *candidates) *pingone.User {
	for _, rule := range rules {
		var found []pingone.User
		switch rule {
		case MatchExternalID:
			found = c.byExternalID[m.externalID]
		case MatchUsername:
			found = c.byUsername[strings.ToLower(m.username)]
		case MatchEmail:
			if m.email != "" {
				found = c.byEmail[strings.ToLower(m.email)]
			}
		}
		if len(found) == 1 {
			return &found[0]
		}
		if len(found) > 1 {
			return nil
		}
	}
	return nil
}

// sameValues reports whether u holds r's value of every managed attribute
// (absent: "").
func sameValues(u *pingone.User, r *record, managed []string) bool {
	for _, m := range managed {
		if u.Attributes[m] != r.get(m) {
			return false
		}
	}
	return true
}

// A checkpoint's digest, taken from its encoded values without decoding
// them, equals PingOne's exactly when attrChanges finds no change.
func TestAttrsDigestIsAttrChanges(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		gen := rapid.MapOf(rapid.SampledFrom([]string{"title", "name.given", "email", "x"}), rapid.SampledFrom([]string{"", "a", "b", `q"`, "<&>", "é"}))
		last, now := gen.Draw(t, "last"), gen.Draw(t, "now")
		same := attrsDigestJSON(encodeAttrs(last)) == attrsDigest(now)
		if want := len(attrChanges(last, now)) == 0; same != want {
			t.Fatalf("last %v now %v: digests equal %t, attrChanges empty %t", last, now, same, want)
		}
	})
}

// A match decided on the user read by id must still match value by value:
// a user renamed or deleted since the listing, or one whose summary only
// hashed like the record's key (a collision, forced here), is never
// adopted; the record stays a create, which a uniqueness violation would
// resolve by lookup (resolveExisting).
func TestAdoptionReadByIDMustStillMatch(t *testing.T) {
	managed := []string{"externalId", "title", "username"}
	recs := newRecords()
	attrs := map[string]string{"externalId": "a0", "username": "u0", "title": "Manager"}
	recs.add(&mapper.Desired{Anchor: "a0", Attributes: attrs, Population: "Staff", Enabled: true, Hash: mapper.HashDesired(attrs, "Staff", true)})
	listed := pingone.User{ID: "p0", PopulationID: "pop-staff", Enabled: true,
		Attributes: map[string]string{"username": "u0", "title": "Engineer"}}
	for _, tc := range []struct {
		name    string
		collide bool // the listed user's username hash is forced to the record's
		now     *pingone.User
		want    ActionSet
	}{
		{name: "unchanged", now: &listed, want: Actions(ActAdopt)},
		{name: "renamed since the listing", now: &pingone.User{ID: "p0", PopulationID: "pop-staff", Enabled: true,
			Attributes: map[string]string{"username": "someone.else", "title": "Engineer"}}, want: Actions(ActCreate)},
		{name: "deleted since the listing", want: Actions(ActCreate)},
		{name: "hash collision", collide: true, now: &pingone.User{ID: "p0", PopulationID: "pop-staff", Enabled: true,
			Attributes: map[string]string{"username": "zz", "title": "Engineer"}}, want: Actions(ActCreate)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ops := []Op{{desired: recs.at(0), Actions: Actions(ActCreate), Why: "new in the source", ToPopulation: "pop-staff"}}
			env := newEnvUsers(managed)
			u := listed
			if tc.collide {
				u.Attributes = map[string]string{"username": "zz", "title": "Engineer"}
			}
			env.add(&u)
			if tc.collide {
				env.at(0).keys[keyUsername] = env.hashKey("u0")
			}
			gets := 0
			get := func(_ context.Context, id string) (pingone.User, error) {
				gets++
				if tc.now == nil {
					return pingone.User{}, &pingone.APIError{Status: 404, Code: "NOT_FOUND"}
				}
				return *tc.now, nil
			}
			ix := newCreateIndex([]string{MatchUsername}, ops, env)
			ix.offer(0)
			if err := ix.decide(context.Background(), &Job{reach: testReach()}, &Report{}, get, 1); err != nil {
				t.Fatal(err)
			}
			if gets != 1 {
				t.Errorf("%d reads by id, want 1", gets)
			}
			if ops[0].Actions != tc.want {
				t.Errorf("planned %s (%q), want %s", ops[0].Actions, ops[0].Why, tc.want)
			}
			if tc.want == Actions(ActCreate) && (ops[0].Why != "new in the source" || ops[0].UserID() != "") {
				t.Errorf("the create was changed: %q user %q", ops[0].Why, ops[0].UserID())
			}
		})
	}
}

// A summary keeps a UUID in 16 bytes and gives back the very string
// listed; any other id is kept as it is.
func TestEnvUsersKeepEveryID(t *testing.T) {
	env := newEnvUsers(nil)
	ids := []string{"0f8fad5b-d9cb-469f-a165-70867728950e", "0F8FAD5B-D9CB-469F-A165-70867728950E", "user-42", "", "0f8fad5b-d9cb-469f-a165-70867728950", "0f8fad5bxd9cb-469f-a165-70867728950e"}
	for _, id := range ids {
		env.add(&pingone.User{ID: id})
	}
	for j, id := range ids {
		if got := env.id(j); got != id {
			t.Errorf("id %d = %q, want %q", j, got, id)
		}
	}
	if env.at(0).flags&euOddID != 0 || env.at(1).flags&euOddID == 0 {
		t.Errorf("only the canonical UUID is kept in 16 bytes: flags %b %b", env.at(0).flags, env.at(1).flags)
	}
}
