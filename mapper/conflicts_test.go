package mapper

import (
	"hash/maphash"
	"slices"
	"strings"
	"testing"

	"pgregory.net/rapid"
)

type conflictRec struct{ anchor, user, pos string }

// naiveConflicts is the rule stated directly, in O(n²): a record is in
// conflict when another has its anchor, or its username ignoring case.
func naiveConflicts(rs []conflictRec) []int {
	var bad []int
	for i, r := range rs {
		for j, o := range rs {
			if i != j && (r.anchor == o.anchor || (r.user != "" && strings.ToLower(r.user) == strings.ToLower(o.user))) {
				bad = append(bad, i)
				break
			}
		}
	}
	return bad
}

func conflictRecs(t *rapid.T) []conflictRec {
	rs := rapid.SliceOfN(rapid.Custom(func(t *rapid.T) conflictRec {
		return conflictRec{
			anchor: rapid.StringMatching(`[ab]{1,3}`).Draw(t, "anchor"),
			user:   rapid.StringMatching(`([aA][bB]?|Ä|ä|ß){0,2}`).Draw(t, "user"),
		}
	}), 0, 40).Draw(t, "records")
	for i := range rs {
		rs[i].pos = "line " + string(rune('A'+i%26))
	}
	return rs
}

func findOn(rs []conflictRec, sorted bool) ([]int, []Reject) {
	return FindConflicts(len(rs), func(i int) (string, string, string) { return rs[i].anchor, rs[i].user, rs[i].pos }, sorted)
}

// FindConflicts finds exactly the records the rule names, whether anchors
// are indexed or found as neighbours in sorted input, and says why.
func TestFindConflictsIsTheRule(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		rs := conflictRecs(t)
		check := func(rs []conflictRec, sorted bool) {
			bad, rejects := findOn(rs, sorted)
			if want := naiveConflicts(rs); !slices.Equal(bad, want) {
				t.Fatalf("sorted=%t: bad = %v, want %v (records %v)", sorted, bad, want, rs)
			}
			for k, i := range bad {
				if rejects[k].Anchor != rs[i].anchor || rejects[k].Pos != rs[i].pos || rejects[k].Reason == "" {
					t.Fatalf("sorted=%t: reject %d = %+v for record %+v", sorted, k, rejects[k], rs[i])
				}
			}
		}
		check(rs, false)
		sorted := slices.Clone(rs)
		slices.SortStableFunc(sorted, func(a, b conflictRec) int { return strings.Compare(a.anchor, b.anchor) })
		check(sorted, true)
	})
}

// Two usernames whose hashes collide are told apart: with every hash equal,
// the result is still the rule's.
func TestFindConflictsHashCollisions(t *testing.T) {
	defer func(h func(maphash.Seed, []byte) uint64) { userHash = h }(userHash)
	userHash = func(maphash.Seed, []byte) uint64 { return 42 }
	rapid.Check(t, func(t *rapid.T) {
		rs := conflictRecs(t)
		if bad, _ := findOn(rs, false); !slices.Equal(bad, naiveConflicts(rs)) {
			t.Fatalf("bad = %v, want %v (records %v)", bad, naiveConflicts(rs), rs)
		}
	})
}

func TestAppendLower(t *testing.T) {
	for _, s := range []string{"", "abc", "ABC", "MiXeD.Case@Example.COM", "ÄÖÜ", "İstanbul", "ß", "ǅ", "\xff\xfeA"} {
		if got := string(appendLower([]byte("x"), s)); got != "x"+strings.ToLower(s) {
			t.Errorf("appendLower(%q) = %q, want %q", s, got, "x"+strings.ToLower(s))
		}
	}
}
