package mapper_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/syncd/syncd/mapper"
	"github.com/syncd/syncd/sources"
)

func TestGroupsFromRecords(t *testing.T) {
	for _, tc := range []struct {
		expr  string
		attrs map[string][]string
		want  []string
		err   string
	}{
		{`split(groups, ";")`, map[string][]string{"groups": {"Eng; Ops;eng;"}}, []string{"Eng", "Ops"}, ""},
		{`split(groups, ";")`, map[string][]string{"groups": {""}}, []string{}, ""}, // an empty cell is no group
		{`split(groups, ";")`, nil, []string{}, ""},
		{`memberOf`, map[string][]string{"memberof": {"A", "B"}}, []string{"A", "B"}, ""},
		{`lower(dept)`, map[string][]string{"dept": {"Sales"}}, []string{"sales"}, ""},
		{`split(groups, ";")`, map[string][]string{"groups": {"ok;bad\x01name"}}, nil, "control character"},
	} {
		g, err := mapper.CompileGroups(mapper.GroupExprs{FromRecords: tc.expr})
		if err != nil {
			t.Fatalf("%s: %v", tc.expr, err)
		}
		got, err := g.RecordGroups(sources.Record{Anchor: "a", Attrs: tc.attrs})
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s %v: err %v, want %q", tc.expr, tc.attrs, err, tc.err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("%s %v = %q, %v; want %q", tc.expr, tc.attrs, got, err, tc.want)
		}
	}
}

func TestGroupEntryMapping(t *testing.T) {
	g, err := mapper.CompileGroups(mapper.GroupExprs{Description: "description", Scope: `dnValue(dn, "ou") != "legacy"`})
	if err != nil {
		t.Fatal(err)
	}
	if got := g.SourceAttributes(); !slices.Equal(got, []string{"cn", "description"}) {
		t.Errorf("SourceAttributes = %v", got)
	}
	res, err := g.MapGroup(sources.Record{Anchor: "x", DN: "cn=Eng,ou=groups,dc=ex", Attrs: map[string][]string{"cn": {" Eng "}, "description": {"Engineers"}}})
	if err != nil || res != (mapper.GroupResult{Name: "Eng", Description: "Engineers", InScope: true}) {
		t.Errorf("MapGroup = %+v, %v", res, err)
	}
	res, err = g.MapGroup(sources.Record{Anchor: "y", DN: "cn=Old,ou=legacy,dc=ex", Attrs: map[string][]string{"cn": {"Old"}}})
	if err != nil || res.InScope {
		t.Errorf("legacy group in scope: %+v %v", res, err)
	}
	if _, err := g.MapGroup(sources.Record{Anchor: "z", DN: "cn=,ou=groups", Attrs: map[string][]string{}}); err == nil || !strings.Contains(err.Error(), "empty group name") {
		t.Errorf("nameless group: %v", err)
	}
	if _, err := mapper.CompileGroups(mapper.GroupExprs{Name: "lower(", Scope: "1 +"}); err == nil || !strings.Contains(err.Error(), "name") || !strings.Contains(err.Error(), "scope") {
		t.Errorf("bad expressions: %v, want both named", err)
	}
}
