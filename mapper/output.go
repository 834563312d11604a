package mapper

import (
	"fmt"
	"hash/maphash"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/syncd/syncd/sources"
)

// Explanation says how one expression was evaluated for one record: the
// attribute path (or "scope", "enabled", "population[1].when"), the
// expression, the source values it read, and what it produced.
type Explanation struct {
	Path       string `json:"path"`
	Expression string `json:"expression,omitempty"`
	// Inputs holds the values of the source attributes the expression
	// reads by name (lower case), plus "anchor" and "dn" when it reads
	// those. Attributes named at run time (attr(x + "y")) are not listed.
	Inputs map[string][]string `json:"inputs,omitempty"`
	// Value is the string or boolean produced, before validation; for a
	// population rule that matched, the population.
	Value any `json:"value,omitempty"`
	// Error is set when the expression failed for this record.
	Error string `json:"error,omitempty"`
}

// MapOutput is the result of mapping a whole read, as `syncd map` prints
// it: the users syncd wants, the records it refused, and the anchors the
// scope expression excluded.
type MapOutput struct {
	Desired    []Desired `json:"desired"`
	Rejects    []Reject  `json:"rejects"`
	OutOfScope []string  `json:"out_of_scope"`
}

// MapAll maps every record and checks the result for conflicts
// (CheckConflicts). Deleted records are skipped: they carry no attributes
// to map.
func (m *Mapper) MapAll(recs []sources.Record) MapOutput {
	out := MapOutput{Desired: []Desired{}, Rejects: []Reject{}, OutOfScope: []string{}}
	for _, rec := range recs {
		if rec.Deleted {
			continue
		}
		res := m.Map(rec)
		switch res.Outcome {
		case Mapped:
			out.Desired = append(out.Desired, res.Desired)
		case OutOfScope:
			out.OutOfScope = append(out.OutOfScope, res.Desired.Anchor)
		case Rejected:
			out.Rejects = append(out.Rejects, res.Reject)
		}
	}
	kept, rejects := CheckConflicts(out.Desired)
	out.Desired = kept
	out.Rejects = append(out.Rejects, rejects...)
	return out
}

// CheckConflicts finds records that cannot both be synced: two records
// with the same anchor, or two records claiming the same username (PingOne
// usernames are unique per environment; compared case-insensitively, as
// PingOne's own uniqueness is not documented as case-sensitive). Every
// record involved is rejected, naming the others, because syncd cannot
// tell which one is right. kept preserves the order of ds (it is ds itself
// when nothing conflicts). O(n).
func CheckConflicts(ds []Desired) (kept []Desired, rejects []Reject) {
	bad, rejects := FindConflicts(len(ds), func(i int) (string, string, string) {
		return ds[i].Anchor, ds[i].Username(), ds[i].Pos
	}, false)
	if len(bad) == 0 {
		return ds[:len(ds):len(ds)], nil
	}
	kept = make([]Desired, 0, len(ds)-len(bad))
	for i, d := range ds {
		if len(bad) > 0 && bad[0] == i {
			bad = bad[1:]
			continue
		}
		kept = append(kept, d)
	}
	return kept, rejects
}

// FindConflicts applies CheckConflicts' rules to any list of n mapped
// records, for callers that keep them in another form: at(i) returns record
// i's anchor, username and position. When anchorsSorted, equal anchors are
// neighbours and need no index. It returns the indexes of the records
// involved in a conflict, ascending, and a reject for each.
//
// Memory is what a million records need it to be: usernames are indexed by
// a 64-bit hash of their lower-cased form (a hash two usernames share is
// told apart exactly), so no lower-cased copy is kept per record.
func FindConflicts(n int, at func(i int) (anchor, username, pos string), anchorsSorted bool) (bad []int, rejects []Reject) {
	// Only keys seen twice get a list, so the common case allocates no
	// slice per record.
	var anchorDups, userDups map[string][]int
	dup := func(dups *map[string][]int, key string, first, i int) {
		if *dups == nil {
			*dups = map[string][]int{}
		}
		if _, ok := (*dups)[key]; !ok {
			(*dups)[key] = []int{first}
		}
		(*dups)[key] = append((*dups)[key], i)
	}

	if anchorsSorted {
		prev := ""
		for i := 0; i < n; i++ {
			a, _, _ := at(i)
			if i > 0 && a == prev {
				dup(&anchorDups, a, i-1, i)
			}
			prev = a
		}
	} else {
		first := make(map[string]int32, n)
		for i := 0; i < n; i++ {
			a, _, _ := at(i)
			if j, ok := first[a]; ok {
				dup(&anchorDups, a, int(j), i)
			} else {
				first[a] = int32(i)
			}
		}
	}

	seed := maphash.MakeSeed()
	first := make(map[uint64]int32, n)
	var exact map[string]int32 // lower-cased usernames whose hash another one has
	var buf []byte
	for i := 0; i < n; i++ {
		_, u, _ := at(i)
		if u == "" {
			continue
		}
		buf = appendLower(buf[:0], u)
		h := userHash(seed, buf)
		j, ok := first[h]
		if !ok {
			first[h] = int32(i)
			continue
		}
		key := string(buf)
		if _, uj, _ := at(int(j)); strings.ToLower(uj) == key {
			dup(&userDups, key, int(j), i)
			continue
		}
		if exact == nil {
			exact = map[string]int32{}
		}
		if k, ok := exact[key]; ok {
			dup(&userDups, key, int(k), i)
		} else {
			exact[key] = int32(i)
		}
	}
	if anchorDups == nil && userDups == nil {
		return nil, nil
	}

	sameAnchor, sameUser := map[int][]int{}, map[int][]int{}
	for _, same := range anchorDups {
		for _, i := range same {
			sameAnchor[i] = same
		}
	}
	for _, same := range userDups {
		for _, i := range same {
			sameUser[i] = same
		}
	}
	for i := range sameAnchor {
		bad = append(bad, i)
	}
	for i := range sameUser {
		if _, ok := sameAnchor[i]; !ok {
			bad = append(bad, i)
		}
	}
	slices.Sort(bad)
	for _, i := range bad {
		anchor, user, pos := at(i)
		var reasons []string
		attr := ""
		if same := sameAnchor[i]; same != nil {
			reasons = append(reasons, fmt.Sprintf("duplicate anchor %q: it appears %d times in the source (also at %s)", anchor, len(same), others(at, same, i, false)))
		}
		if same := sameUser[i]; same != nil {
			attr = "username"
			reasons = append(reasons, fmt.Sprintf("username %q is also claimed by %s; usernames are unique in PingOne", user, others(at, same, i, true)))
		}
		rejects = append(rejects, Reject{Anchor: anchor, Pos: pos, Attribute: attr, Reason: strings.Join(reasons, "; ")})
	}
	return bad, rejects
}

// userHash hashes a lower-cased username (a variable so that a test can
// make every username collide).
var userHash = maphash.Bytes

// appendLower appends strings.ToLower(s), without allocating for ASCII.
func appendLower(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return append(b, strings.ToLower(s)...)
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b = append(b, c)
	}
	return b
}

// others names the records in idx other than self (at most five).
func others(at func(int) (string, string, string), idx []int, self int, withAnchor bool) string {
	var names []string
	for _, j := range idx {
		if j == self {
			continue
		}
		if len(names) == 5 {
			names = append(names, fmt.Sprintf("and %d more", len(idx)-1-5))
			break
		}
		anchor, _, pos := at(j)
		switch {
		case withAnchor && pos != "":
			names = append(names, fmt.Sprintf("anchor=%s (%s)", anchor, pos))
		case withAnchor:
			names = append(names, "anchor="+anchor)
		case pos != "":
			names = append(names, pos)
		default:
			names = append(names, fmt.Sprintf("record %d", j+1))
		}
	}
	return strings.Join(names, ", ")
}
