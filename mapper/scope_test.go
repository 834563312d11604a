package mapper

import (
	"testing"

	"github.com/syncd/syncd/sources"
)

// TestOutOfScopeBeforeAnchorChecks: an entry the job's scope leaves out (a
// group in a full LDIF export, often without an anchor) is out of scope,
// not a reject; an in-scope record without an anchor still is one.
func TestOutOfScopeBeforeAnchorChecks(t *testing.T) {
	m := mustCompile(t, Config{
		Mapping:    map[string]string{"username": "uid", "email": "mail"},
		Population: Population{Name: "Staff"},
		Scope:      `"inetOrgPerson" in values("objectClass")`,
	})
	group := sources.Record{DN: "cn=staff,ou=groups,dc=x", Pos: "line 9", Reject: "no anchor attribute entryuuid",
		Attrs: map[string][]string{"objectclass": {"groupOfNames"}, "cn": {"staff"}}}
	if res := m.Map(group); res.Outcome != OutOfScope {
		t.Errorf("group without anchor: outcome %v (%+v), want out of scope", res.Outcome, res.Reject)
	}
	person := sources.Record{DN: "uid=a,dc=x", Pos: "line 1", Reject: "no anchor attribute entryuuid",
		Attrs: map[string][]string{"objectclass": {"inetOrgPerson"}, "uid": {"a"}, "mail": {"a@x.org"}}}
	if res := m.Map(person); res.Outcome != Rejected || res.Reject.Reason != "source: no anchor attribute entryuuid" {
		t.Errorf("person without anchor: %v %+v, want the source's reject", res.Outcome, res.Reject)
	}
	cut := sources.Record{Pos: "line 4", Reject: "3 fields, the header has 5"} // nothing to judge scope by
	if res := m.Map(cut); res.Outcome != Rejected {
		t.Errorf("unreadable record: %v, want a reject", res.Outcome)
	}
	person.Reject = ""
	if res := m.Map(person); res.Outcome != Rejected {
		t.Errorf("person with an empty anchor: %v, want a reject", res.Outcome)
	}
}
