package ldifsource

import (
	"strings"
	"testing"
)

var person = map[string][]string{
	"objectclass":        {"inetOrgPerson"},
	"uid":                {"ann"},
	"mail":               {"Ann.Lee@Example.org", "ann@example.org"},
	"givenname":          {"Ann"},
	"givenname;lang-de":  {"Änne"},
	"employeenumber":     {"42"},
	"useraccountcontrol": {"514"},
	"objectcategory":     {"CN=Person,CN=Schema,CN=Configuration,DC=corp,DC=example"},
}

func TestFilterMatch(t *testing.T) {
	tests := []struct {
		filter string
		want   bool
	}{
		{"(uid=ann)", true},
		{"(UID=ANN)", true},
		{"(uid=bob)", false},
		{"(mail=ann@example.org)", true},
		{"(mail=*)", true},
		{"(title=*)", false},
		{"(mail=ann.*@example.org)", true},
		{"(mail=*@example.*)", true},
		{"(mail=*lee*)", true},
		{"(mail=a*n*g)", true},
		{"(mail=x*)", false},
		{"(mail=*.com)", false},
		{"(givenName=Änne)", true}, // a tagged subtype matches its type
		{"(givenName;lang-de=Ann)", false},
		{"(objectClass=person)", true}, // superclass of inetOrgPerson
		{"(objectClass=top)", true},
		{"(objectClass=groupOfNames)", false},
		{"(&(objectClass=inetOrgPerson)(uid=ann))", true},
		{"(&(objectClass=inetOrgPerson)(uid=bob))", false},
		{"(|(uid=bob)(uid=ann))", true},
		{"(|(uid=bob)(uid=carl))", false},
		{"(!(uid=bob))", true},
		{"(!(uid=ann))", false},
		{"(employeeNumber>=9)", true}, // numeric, not "42" < "9"
		{"(employeeNumber<=41)", false},
		{"(uid~=ANN)", true},
		{"(objectCategory=person)", true},
		{"(&(objectCategory=person)(objectClass=user))", false},
		{"(userAccountControl:1.2.840.113556.1.4.803:=2)", true},
		{"(!(userAccountControl:1.2.840.113556.1.4.803:=2))", false},
		{"(userAccountControl:1.2.840.113556.1.4.804:=3)", true},
		{"(userAccountControl:1.2.840.113556.1.4.803:=3)", false},
		{`(cn=\2a)`, false},
	}
	for _, tt := range tests {
		f, err := CompileFilter(tt.filter)
		if err != nil {
			t.Errorf("%s: %v", tt.filter, err)
			continue
		}
		if got := f.Match(person); got != tt.want {
			t.Errorf("%s: Match = %v, want %v", tt.filter, got, tt.want)
		}
	}
}

// TestFilterMayMatch: with only objectClass and objectCategory certain,
// an entry is ruled out only by its classes.
func TestFilterMayMatch(t *testing.T) {
	user := map[string][]string{
		"objectclass":        {"top", "person", "organizationalPerson", "user"},
		"objectcategory":     {"CN=Person,CN=Schema,CN=Configuration,DC=corp,DC=example"},
		"useraccountcontrol": {"514"},
		"department":         {"Sales"},
	}
	computer := map[string][]string{
		"objectclass":    {"top", "person", "organizationalPerson", "user", "computer"},
		"objectcategory": {"CN=Computer,CN=Schema,CN=Configuration,DC=corp,DC=example"},
	}
	group := map[string][]string{"objectclass": {"top", "group"}}
	tombstone := map[string][]string{"objectclass": {"top", "person", "organizationalPerson", "user"}} // no objectCategory
	classes := func(a string) bool { return a == "objectclass" || a == "objectcategory" }
	const ad = "(&(objectCategory=person)(objectClass=user))"
	tests := []struct {
		filter string
		entry  map[string][]string
		want   bool
	}{
		{ad, user, true},
		{ad, computer, false},
		{ad, group, false},
		{ad, tombstone, false}, // objectCategory known but absent: a tombstone's caller must not claim it
		{"(&" + ad[2:len(ad)-1] + "(!(userAccountControl:1.2.840.113556.1.4.803:=2)))", user, true}, // disabled now, maybe not before
		{"(&(objectClass=user)(department=Engineering))", user, true},                               // may have just left Engineering
		{"(&(objectClass=group)(department=Engineering))", user, false},
		{"(|(objectClass=group)(department=x))", user, true},
		{"(!(objectClass=user))", user, false},
		{"(!(department=x))", group, true},
		{"(objectClass=*)", group, true},
	}
	for _, tt := range tests {
		f, err := CompileFilter(tt.filter)
		if err != nil {
			t.Fatalf("%s: %v", tt.filter, err)
		}
		if got := f.MayMatch(tt.entry, classes); got != tt.want {
			t.Errorf("%s on %v: MayMatch = %v, want %v", tt.filter, tt.entry["objectclass"], got, tt.want)
		}
		// With every attribute certain, MayMatch is Match.
		all := func(string) bool { return true }
		if got, want := f.MayMatch(tt.entry, all), f.Match(tt.entry); got != want {
			t.Errorf("%s: MayMatch with all known = %v, Match = %v", tt.filter, got, want)
		}
	}
}

func TestFilterRefusesWhatItCannotEvaluate(t *testing.T) {
	for _, s := range []string{"(uid=ann", "uid=ann)", "(cn:caseExactMatch:=Ann)", "(cn:dn:2.5.13.5:=x)", "(userAccountControl:1.2.840.113556.1.4.803:=x)"} {
		if _, err := CompileFilter(s); err == nil {
			t.Errorf("CompileFilter(%q) accepted it", s)
		}
	}
}

func TestSelector(t *testing.T) {
	entries := map[string]bool{ // DN -> selected with scope sub
		"uid=ann,ou=People,dc=example,dc=org":         true,
		"uid=bob,ou=deep,ou=people,dc=example,dc=org": true,
		"ou=people,dc=example,dc=org":                 false, // an OU: the filter says no
		"uid=carl,ou=robots,dc=example,dc=org":        false, // another base
		"uid=dan,ou=people\\,old,dc=example,dc=org":   false, // escaped comma: not under ou=people
	}
	s, err := NewSelector([]string{"ou=people,dc=example,dc=org"}, "sub", "(objectClass=person)")
	if err != nil {
		t.Fatal(err)
	}
	one, _ := NewSelector([]string{"OU=People, DC=example, DC=org"}, "one", "(objectClass=person)")
	for dn, want := range entries {
		attrs := map[string][]string{"objectclass": {"inetOrgPerson"}}
		if strings.HasPrefix(dn, "ou=") {
			attrs = map[string][]string{"objectclass": {"organizationalUnit"}}
		}
		if got := s.Selects(dn, attrs); got != want {
			t.Errorf("sub: Selects(%s) = %v, want %v", dn, got, want)
		}
		if got, w := one.Selects(dn, attrs), want && !strings.Contains(dn, "ou=deep"); got != w {
			t.Errorf("one: Selects(%s) = %v, want %v", dn, got, w)
		}
	}
}

func FuzzFilter(f *testing.F) {
	for _, s := range []string{"(uid=ann)", "(&(a=*)(|(b=x*y*z)(!(c>=3))))", "(mail=*@*)", "(x:1.2.840.113556.1.4.803:=2)", "(givenName;lang-de~=a)", `(cn=\28\29)`} {
		f.Add(s, "ann", "x*y")
	}
	f.Fuzz(func(t *testing.T, filter, v1, v2 string) {
		flt, err := CompileFilter(filter)
		if err != nil {
			return
		}
		attrs := map[string][]string{"uid": {v1}, "mail": {v1, v2}, "objectclass": {v2}, "b;x": {v2}}
		got := flt.Match(attrs)
		if got != flt.Match(attrs) {
			t.Fatal("Match is not deterministic")
		}
		not, err := CompileFilter("(!" + filter + ")")
		if err == nil && not.Match(attrs) == got {
			t.Fatalf("(!%s) matches like %s", filter, filter)
		}
	})
}
