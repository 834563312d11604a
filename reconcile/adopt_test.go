package reconcile

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"pgregory.net/rapid"

	"github.com/syncd/syncd/mapper"
	"github.com/syncd/syncd/sink/pingone"
)

// The first run's listing streams (createIndex): folding PingOne's users
// into the creates one at a time decides exactly what match and adoptOp
// decide over the whole listing held in memory — rule order, ambiguity, a
// username taken by a user no rule adopts, an externalId of another
// record, attribute changes — whatever the users and their order.
func TestStreamedAdoptionDecidesAsTheWholeListing(t *testing.T) {
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
		for i := range rapid.IntRange(0, 8).Draw(t, "users") {
			u := pingone.User{
				ID:           fmt.Sprintf("p%d", i),
				PopulationID: rapid.SampledFrom([]string{"pop-staff", "pop-contract"}).Draw(t, "upop"),
				Enabled:      rapid.Bool().Draw(t, "uenabled"),
				Attributes: map[string]string{
					"externalId": rapid.SampledFrom([]string{"", "", "a0", "a1", "xa0", "a2"}).Draw(t, "uext"),
					"username":   cased(t, "uucase", fmt.Sprintf("u%d", rapid.IntRange(0, 5).Draw(t, "uusername"))),
					"email":      rapid.SampledFrom([]string{"", "m1@example.com", "M2@example.com", "m3@example.com"}).Draw(t, "uemail"),
					"title":      rapid.SampledFrom([]string{"", "Engineer", "Director"}).Draw(t, "utitle"),
				},
			}
			users = append(users, u)
		}

		// The whole listing, as before.
		want := append([]Op(nil), ops...)
		c := &candidates{byExternalID: map[string][]pingone.User{}, byUsername: map[string][]pingone.User{}, byEmail: map[string][]pingone.User{}}
		for _, u := range users {
			c.add(u)
		}
		for i := range want {
			op := &want[i]
			u, rule, why := match(rules, op.desired.matchKey(), c, map[string]string{})
			switch {
			case why != "":
				conflict(op, why)
			case u != nil:
				*op = adoptOp(op, *u, rule)
			}
		}

		// Streamed.
		got := append([]Op(nil), ops...)
		ix := newCreateIndex(rules, got)
		for i := range users {
			if err := ix.offer(&Job{}, &users[i], popIDs); err != nil {
				t.Fatal(err)
			}
		}
		ix.finish(&Report{})

		for i := range want {
			w, g := &want[i], &got[i]
			if w.Actions != g.Actions || w.Why != g.Why || w.ToPopulation != g.ToPopulation || w.UserID() != g.UserID() ||
				w.FromPopulation() != g.FromPopulation() || !reflect.DeepEqual(w.changes(), g.changes()) || !reflect.DeepEqual(w.cp, g.cp) {
				t.Fatalf("anchor %s: streamed %s %q to %q user %q from %q %v cp %+v\nwhole listing %s %q to %q user %q from %q %v cp %+v",
					w.Anchor(), g.Actions, g.Why, g.ToPopulation, g.UserID(), g.FromPopulation(), g.changes(), g.cp,
					w.Actions, w.Why, w.ToPopulation, w.UserID(), w.FromPopulation(), w.changes(), w.cp)
			}
		}
	})
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
