package mapper

import (
	"strings"
	"testing"

	"github.com/syncd/syncd/sources"
)

// FuzzRecordGroups feeds arbitrary from_records expressions and cell
// values: compiling and evaluating never panic, and every group name
// returned is trimmed, non-empty, free of control characters, within the
// length bound and listed once (case-insensitively).
//
//	go test ./mapper -run '^$' -fuzz FuzzRecordGroups -fuzztime 30s
func FuzzRecordGroups(f *testing.F) {
	for _, s := range []string{`split(groups, ";")`, `groups`, `values("memberof")`, `lower(groups)`, `split(groups, "")`,
		`map(split(groups, ","), trim(#))`, `[groups, groups]`, `1`, `split(`, `groups ?? "x"`} {
		for _, v := range []string{"", "Eng;Ops", ";;", " a ; A ", "x\x01y", strings.Repeat("g", 300), "Zoë;zoë"} {
			f.Add(s, v)
		}
	}
	f.Fuzz(func(t *testing.T, src, val string) {
		g, err := CompileGroups(GroupExprs{FromRecords: src})
		if err != nil {
			return
		}
		names, err := g.RecordGroups(sources.Record{Anchor: "a", Attrs: map[string][]string{"groups": {val}, "memberof": {val, val}}})
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for _, n := range names {
			if n == "" || n != strings.TrimSpace(n) || len([]rune(n)) > maxGroupName ||
				strings.ContainsFunc(n, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
				t.Fatalf("%q on %q gave an unusable name %q", src, val, n)
			}
			if seen[strings.ToLower(n)] {
				t.Fatalf("%q on %q listed %q twice", src, val, n)
			}
			seen[strings.ToLower(n)] = true
		}
	})
}
