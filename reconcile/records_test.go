package reconcile

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"pgregory.net/rapid"

	"github.com/syncd/syncd/mapper"
	"github.com/syncd/syncd/state"
	"github.com/syncd/syncd/state/sqlitestate"
)

// desiredGen draws mapped records the way the mapper makes them: a
// username and an externalId always, other attributes sometimes, values
// of any content.
func desiredGen() *rapid.Generator[mapper.Desired] {
	return rapid.Custom(func(t *rapid.T) mapper.Desired {
		anchor := rapid.StringN(1, 40, -1).Draw(t, "anchor")
		attrs := map[string]string{"username": rapid.StringN(1, 30, -1).Draw(t, "username")}
		if rapid.Bool().Draw(t, "extIsAnchor") {
			attrs["externalId"] = anchor
		} else {
			attrs["externalId"] = rapid.StringN(1, 30, -1).Draw(t, "externalId")
		}
		for _, k := range []string{"email", "name.given", "title", "costCenter"} {
			if rapid.Bool().Draw(t, "has "+k) {
				attrs[k] = rapid.StringN(1, 30, -1).Draw(t, k)
			}
		}
		pop := rapid.SampledFrom([]string{"Staff", "Contractors", "6f1c0a4e-1b7e-4c1e-9d57-5d6b0c6a1f00"}).Draw(t, "population")
		enabled := rapid.Bool().Draw(t, "enabled")
		return mapper.Desired{
			Anchor: anchor, Pos: rapid.StringN(0, 20, -1).Draw(t, "pos"), Attributes: attrs,
			Population: pop, Enabled: enabled, Hash: mapper.HashDesired(attrs, pop, enabled),
		}
	})
}

// A packed record expands back into exactly the mapped record, through
// filtering and sorting across block boundaries.
func TestRecordsRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		ds := rapid.SliceOfN(desiredGen(), 0, 3*blockSize/2).Draw(t, "desired")
		s := newRecords()
		for i := range ds {
			s.add(&ds[i])
		}
		if s.len() != len(ds) {
			t.Fatalf("len = %d, want %d", s.len(), len(ds))
		}
		for i := range ds {
			if got := s.at(i).desired(); !reflect.DeepEqual(*got, ds[i]) {
				t.Fatalf("record %d = %+v, want %+v", i, *got, ds[i])
			}
		}

		drop := rapid.IntRange(0, 5).Draw(t, "drop every")
		var want []mapper.Desired
		for i, d := range ds {
			if drop == 0 || i%drop != 0 {
				want = append(want, d)
			}
		}
		i := 0
		s.filter(func(*record) bool { i++; return drop == 0 || (i-1)%drop != 0 })
		s.sortByAnchor()
		if s.len() != len(want) {
			t.Fatalf("after filter: len = %d, want %d", s.len(), len(want))
		}
		var got []mapper.Desired
		for i := 0; i < s.len(); i++ {
			r := s.at(i)
			if i > 0 && s.at(i-1).anchor() > r.anchor() {
				t.Fatalf("records %d and %d out of order: %q > %q", i-1, i, s.at(i-1).anchor(), r.anchor())
			}
			d := r.desired()
			got = append(got, *d)
			if !r.hashIs(d.Hash) {
				t.Fatalf("hashIs(own hash) = false")
			}
			if f := s.find(r.anchor()); f == nil || f.anchor() != r.anchor() {
				t.Fatalf("find(%q) = %v", r.anchor(), f)
			}
			k := r.matchKey()
			if k.anchor != r.anchor() || k.username != d.Attributes["username"] || k.externalID != d.Attributes["externalId"] || k.email != d.Attributes["email"] {
				t.Fatalf("matchKey = %+v for %+v", k, d)
			}
			if r.username() != d.Username() || r.get("title") != d.Attributes["title"] || r.get("nope") != "" || r.pos() != d.Pos {
				t.Fatalf("accessors disagree with the expanded record %+v", d)
			}
		}
		// Equal anchors may come in any order: compare as sorted sets.
		canon := func(ds []mapper.Desired) []string {
			out := make([]string, len(ds))
			for i, d := range ds {
				b, _ := json.Marshal(d)
				out[i] = string(b)
			}
			sort.Strings(out)
			return out
		}
		if g, w := canon(got), canon(want); !reflect.DeepEqual(g, w) {
			t.Fatalf("after filter and sort:\n got %v\nwant %v", g, w)
		}
		if s.find("\xff\xff no such anchor") != nil {
			t.Fatalf("find of a missing anchor found something")
		}
	})
}

// Filtering and sorting work across blocks: records in reverse anchor
// order over several blocks, every third one dropped.
func TestRecordsAcrossBlocks(t *testing.T) {
	s := newRecords()
	n := 2*blockSize + blockSize/2
	for i := n - 1; i >= 0; i-- {
		a := fmt.Sprintf("a%06d", i)
		attrs := map[string]string{"username": fmt.Sprint("u", i), "externalId": a}
		s.add(&mapper.Desired{Anchor: a, Pos: fmt.Sprint("line ", n-i), Attributes: attrs, Population: "Staff", Enabled: true, Hash: mapper.HashDesired(attrs, "Staff", true)})
	}
	s.filter(func(r *record) bool { return !strings.HasSuffix(r.anchor(), "0") })
	s.sortByAnchor()
	want := 0
	for i := 0; i < n; i++ {
		if i%10 != 0 {
			want++
		}
	}
	if s.len() != want {
		t.Fatalf("len = %d, want %d", s.len(), want)
	}
	prev := ""
	for i := 0; i < s.len(); i++ {
		r := s.at(i)
		if r.anchor() <= prev || strings.HasSuffix(r.anchor(), "0") {
			t.Fatalf("record %d: anchor %q after %q", i, r.anchor(), prev)
		}
		if r.get("externalId") != r.anchor() || r.username() != "u"+strings.TrimLeft(r.anchor()[1:], "0") {
			t.Fatalf("record %d (%s): externalId %q, username %q", i, r.anchor(), r.get("externalId"), r.username())
		}
		prev = r.anchor()
	}
	if s.find("a000011") == nil || s.find("a000010") != nil {
		t.Fatalf("find: kept record not found, or dropped record found")
	}
}

// A record bigger than a chunk's share gets an allocation of its own; the
// records around it still pack into chunks.
func TestRecordsBigValue(t *testing.T) {
	s := newRecords()
	big := strings.Repeat("x", chunkSize/4)
	for i, v := range []string{"small", big, "small again"} {
		attrs := map[string]string{"username": fmt.Sprint("u", i), "externalId": fmt.Sprint("e", i), "description": v}
		s.add(&mapper.Desired{Anchor: fmt.Sprint("e", i), Attributes: attrs, Population: "Staff", Hash: mapper.HashDesired(attrs, "Staff", false)})
	}
	for i, want := range []string{"small", big, "small again"} {
		if got := s.at(i).get("description"); got != want {
			t.Fatalf("record %d: description has %d bytes, want %d", i, len(got), len(want))
		}
	}
}

func TestHashIs(t *testing.T) {
	attrs := map[string]string{"username": "bob", "externalId": "e1"}
	h := mapper.HashDesired(attrs, "Staff", true)
	s := newRecords()
	s.add(&mapper.Desired{Anchor: "e1", Attributes: attrs, Population: "Staff", Enabled: true, Hash: h})
	r := s.at(0)
	if !r.hashIs(h) || r.hashString() != h || string(r.appendHash(nil)) != h {
		t.Fatalf("hash %s does not round-trip: %s", h, r.hashString())
	}
	for _, other := range []string{"", h[:42], h + "A", mapper.HashDesired(attrs, "Staff", false)} {
		if r.hashIs(other) {
			t.Errorf("hashIs(%q) = true", other)
		}
	}
}

func TestActionSet(t *testing.T) {
	s := Actions(ActDisable, ActUpdate).With(ActMove)
	if got, want := s.List(), []Action{ActUpdate, ActMove, ActDisable}; !reflect.DeepEqual(got, want) {
		t.Fatalf("List = %v, want %v (apply order)", got, want)
	}
	if s.String() != "update+move+disable" || !s.Has(ActMove) || s.Has(ActCreate) {
		t.Fatalf("String = %q, Has(move) = %t, Has(create) = %t", s, s.Has(ActMove), s.Has(ActCreate))
	}
	b, err := json.Marshal(s)
	if err != nil || string(b) != `["update","move","disable"]` {
		t.Fatalf("Marshal = %s, %v", b, err)
	}
	var back ActionSet
	if err := json.Unmarshal(b, &back); err != nil || back != s {
		t.Fatalf("Unmarshal = %v, %v; want %v", back, err, s)
	}
	if err := json.Unmarshal([]byte(`["create","explode"]`), &back); err == nil || !strings.Contains(err.Error(), `"explode"`) {
		t.Fatalf("Unmarshal of an unknown action: err = %v", err)
	}
	if b, _ := json.Marshal(ActionSet(0)); string(b) != "[]" {
		t.Fatalf("empty set marshals as %s", b)
	}
}

func BenchmarkRecordsAdd(b *testing.B) {
	ds := make([]mapper.Desired, 1000)
	for i := range ds {
		a := fmt.Sprintf("e%07d", i)
		attrs := map[string]string{"username": fmt.Sprintf("user%07d", i), "externalId": a, "email": fmt.Sprintf("user%07d@example.com", i),
			"name.given": "Given", "name.family": "Family", "title": "Engineer"}
		ds[i] = mapper.Desired{Anchor: a, Pos: "line 1", Attributes: attrs, Population: "Staff", Enabled: true, Hash: mapper.HashDesired(attrs, "Staff", true)}
	}
	b.ReportAllocs()
	s := newRecords()
	for i := 0; b.Loop(); i++ {
		s.add(&ds[i%len(ds)])
	}
}

// pair is a merge of two sorted lists: every record gets its checkpoint or
// nil, every other checkpoint is gone, in anchor order, whatever the
// overlap (drawn at random, with the checkpoints in the store's order).
// No record is unchanged (no hash) and every absent user is enabled under
// a complete read: nothing is skipped, and nothing fetched when every
// checkpoint is held whole.
func TestPairAll(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		recAnchors := rapid.SliceOfDistinct(rapid.StringMatching(`[a-e]{1,3}`), func(s string) string { return s }).Draw(t, "records")
		cpAnchors := rapid.SliceOfDistinct(rapid.StringMatching(`[a-e]{1,3}`), func(s string) string { return s }).Draw(t, "checkpoints")
		s := newRecords()
		for _, a := range recAnchors {
			attrs := map[string]string{"username": a}
			s.add(&mapper.Desired{Anchor: a, Attributes: attrs, Population: "Staff", Hash: mapper.HashDesired(attrs, "Staff", false)})
		}
		s.sortByAnchor()
		cs := &checkpoints{full: map[string]*state.Checkpoint{}}
		for _, a := range cpAnchors {
			c := &state.Checkpoint{Anchor: a, UserID: "u-" + a, Enabled: true, Status: state.StatusActive}
			cs.sums.add(summarize(c))
			cs.full[a] = c
		}
		cs.sums.sortBy(func(a, b *summary) bool { return a.anchor < b.anchor })

		var e Engine // no store: nothing may be fetched
		p, err := e.pair(context.Background(), "job", diffInput{desired: s, complete: true}, cs)
		if err != nil {
			t.Fatalf("pair: %v", err)
		}
		inRecs := map[string]bool{}
		for i := 0; i < s.len(); i++ {
			a := s.at(i).anchor()
			inRecs[a] = true
			want := slices.Contains(cpAnchors, a)
			if got := p.checkpoint(i); (got != nil) != want || (got != nil && got.Anchor != a) || p.unchanged[i] {
				t.Fatalf("record %q paired with %v (unchanged %t), want a checkpoint: %t", a, got, p.unchanged[i], want)
			}
		}
		var wantGone []string
		for _, a := range cpAnchors {
			if !inRecs[a] {
				wantGone = append(wantGone, a)
			}
		}
		slices.Sort(wantGone)
		var gotGone []string
		for _, c := range p.gone {
			gotGone = append(gotGone, c.Anchor)
		}
		if !slices.Equal(gotGone, wantGone) || p.skipped != 0 {
			t.Fatalf("gone = %v, want %v; skipped %d, want 0", gotGone, wantGone, p.skipped)
		}
	})
}

// fetchLog records which anchors a run fetched whole.
type fetchLog struct {
	state.Store
	fetched []string
}

func (f *fetchLog) CheckpointsFor(ctx context.Context, job string, anchors []string, fn func(state.Checkpoint) error) error {
	f.fetched = append(f.fetched, anchors...)
	return f.Store.CheckpointsFor(ctx, job, anchors, fn)
}

// A run holds whole only the checkpoints its plan needs: a record that
// changed, an anchor to disable. Unchanged records and absent anchors
// whose users stay as they are are counted, not fetched.
func TestPairFetchesOnlyWhatThePlanNeeds(t *testing.T) {
	ctx := context.Background()
	st, err := sqlitestate.Open(ctx, filepath.Join(t.TempDir(), "state.db"), sqlitestate.Options{AutoMigrate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	attrs := func(a string) map[string]string { return map[string]string{"username": "u" + a, "externalId": a} }
	desired := func(a string) mapper.Desired {
		return mapper.Desired{Anchor: a, Attributes: attrs(a), Population: "Staff", Enabled: true, Hash: mapper.HashDesired(attrs(a), "Staff", true)}
	}
	cp := func(a string, enabled bool, status state.Status) state.Checkpoint {
		return state.Checkpoint{Anchor: a, UserID: "id-" + a, Username: "u" + a, PopulationID: "pop", Enabled: enabled,
			Hash: mapper.HashDesired(attrs(a), "Staff", enabled), Attributes: EncodeAttributes(attrs(a)), Status: status}
	}
	changed := cp("b", true, state.StatusActive)
	changed.Hash = mapper.HashDesired(map[string]string{"username": "old"}, "Staff", true)
	never := state.Checkpoint{Anchor: "f", Status: state.StatusConflict, LastError: "username taken"}
	if err := st.SaveCheckpoints(ctx, "job", []state.Checkpoint{
		cp("a", true, state.StatusActive), changed, cp("d", true, state.StatusActive), cp("e", false, state.StatusDisabled), never,
	}); err != nil {
		t.Fatal(err)
	}

	for _, complete := range []bool{true, false} {
		recs := newRecords()
		for _, a := range []string{"c", "b", "a"} {
			d := desired(a)
			recs.add(&d)
		}
		recs.sortByAnchor()
		log := &fetchLog{Store: st}
		e := &Engine{Store: log}
		cs, err := e.loadCheckpoints(ctx, "job", false)
		if err != nil {
			t.Fatal(err)
		}
		p, err := e.pair(ctx, "job", diffInput{desired: recs, complete: complete}, cs)
		if err != nil {
			t.Fatal(err)
		}
		wantFetched, wantGone, wantSkipped := []string{"b", "d"}, []string{"d"}, 3 // a unchanged; e disabled; f never created
		if !complete {
			wantFetched, wantGone, wantSkipped = []string{"b"}, nil, 4 // d: not in this delta read
		}
		slices.Sort(log.fetched)
		var gone []string
		for _, c := range p.gone {
			gone = append(gone, c.Anchor)
		}
		if !slices.Equal(log.fetched, wantFetched) || !slices.Equal(gone, wantGone) || p.skipped != wantSkipped || p.skippedConflicts != 1 {
			t.Fatalf("complete=%t: fetched %v, gone %v, skipped %d (%d conflicts); want %v, %v, %d (1)",
				complete, log.fetched, gone, p.skipped, p.skippedConflicts, wantFetched, wantGone, wantSkipped)
		}
		// records sorted: a, b, c
		if !p.unchanged[0] || p.checkpoint(0) != nil || p.unchanged[1] || p.checkpoint(1) == nil || p.checkpoint(1).Anchor != "b" || p.checkpoint(2) != nil || p.unchanged[2] {
			t.Fatalf("complete=%t: pairing of a, b, c = %v / %v", complete, p.of, p.unchanged)
		}
	}
}
