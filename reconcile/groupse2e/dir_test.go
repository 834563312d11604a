package groupse2e_test

import (
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
	"go.uber.org/zap"

	"github.com/syncd/syncd/internal/secret"
	"github.com/syncd/syncd/internal/testenv"
	"github.com/syncd/syncd/mapper"
	"github.com/syncd/syncd/reconcile"
	"github.com/syncd/syncd/sink/pingone"
	"github.com/syncd/syncd/sink/pingone/pingonetest"
	"github.com/syncd/syncd/sources/ldapsource"
	"github.com/syncd/syncd/state/sqlitestate"
)

// dirJob is a job reading users and groups from a real directory (slapd
// or Samba AD) into the spec-checked emulator, with SQLite state: the
// same wiring as `syncd sync` builds for a groups.ldap block.
type dirJob struct {
	t   *testing.T
	emu *pingonetest.Server
	job *reconcile.Job
	eng *reconcile.Engine
}

// newDirJob builds the job: users from users (their mapping in m), group
// entries from groups (named by cn).
func newDirJob(t *testing.T, users, groups ldapsource.Config, m mapper.Config, nested string) *dirJob {
	t.Helper()
	emu := pingonetest.NewServer(t, pingonetest.Options{Populations: []string{"Staff"}, SpecFile: pingonetest.SpecPath(t)})
	t.Cleanup(func() {
		if v := emu.SpecViolations(); len(v) > 0 {
			t.Errorf("off-spec traffic:\n%s", strings.Join(v[:min(len(v), 10)], "\n"))
		}
	})
	client, err := pingone.New(pingone.Config{
		APIURL: emu.APIURL(), AuthURL: emu.AuthURL(), EnvironmentID: emu.EnvironmentID(),
		ClientID: emu.ClientID(), ClientSecret: secret.New(emu.ClientSecret()), RateLimit: 1e6, Concurrency: 16,
	}, zap.NewNop(), pingone.WithHTTPClient(&http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 32}}))
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlitestate.Open(t.Context(), filepath.Join(t.TempDir(), "state.db"), sqlitestate.Options{AutoMigrate: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	usrc, err := ldapsource.New(users, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	gsrc, err := ldapsource.New(groups, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	um, err := mapper.Compile(m)
	if err != nil {
		t.Fatal(err)
	}
	gm, err := mapper.CompileGroups(mapper.GroupExprs{Name: "cn"})
	if err != nil {
		t.Fatal(err)
	}
	job := &reconcile.Job{Name: "dir", Source: usrc, Mapper: um, BatchSize: 500, Workers: 16,
		Groups: &reconcile.Groups{Source: gsrc, Mapper: gm, MemberAttributes: []string{"member", "uniqueMember"}, Nested: nested}}
	job.Groups.SetDefaults()
	job.SetDefaults()
	return &dirJob{t: t, emu: emu, job: job, eng: &reconcile.Engine{Store: st, Target: client, Logger: zap.NewNop()}}
}

// run runs the job once and returns its report and the emulator's
// statistics of that run.
func (d *dirJob) run(opts reconcile.Options) (*reconcile.Report, pingonetest.Stats) {
	d.t.Helper()
	d.emu.ResetStats()
	rep, err := d.eng.Run(d.t.Context(), d.job, opts)
	if err != nil {
		d.t.Fatal(err)
	}
	if rep.Counts.Failed != 0 || (rep.Groups != nil && rep.Groups.Counts.Failed != 0) {
		d.t.Fatalf("run failed: %+v %+v %+v", rep.Counts, rep.Groups.Counts, rep.Failures)
	}
	return rep, d.emu.Stats()
}

// apiCalls counts a run's API requests (the token's aside).
func apiCalls(st pingonetest.Stats) int { return st.Requests - st.TokenRequests }

// group returns the emulator's group called name.
func (d *dirJob) group(name string) pingonetest.GroupInfo {
	d.t.Helper()
	for _, g := range d.emu.Groups() {
		if g.Name == name {
			return g
		}
	}
	d.t.Fatalf("no group %q in PingOne", name)
	return pingonetest.GroupInfo{}
}

// usernames maps user ids to their usernames, sorted.
func (d *dirJob) usernames(ids []string) []string {
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		u, _ := d.emu.User(id)
		out = append(out, u["username"].(string))
	}
	sort.Strings(out)
	return out
}

func slapdSource(srv testenv.LDAPServer, base, filter string) ldapsource.Config {
	return ldapsource.Config{
		URL: srv.LDAPSURL, TLS: ldapsource.TLSConfig{CAFile: srv.CAFile},
		BindDN: srv.BindDN, BindPassword: secret.New(srv.Password),
		BaseDN: ldapsource.DNList{base}, Filter: filter, Anchor: "entryUUID", PageSize: 1000, Timeout: 2 * time.Minute,
	}
}

var slapdMapping = mapper.Config{Mapping: map[string]string{"username": "uid", "email": "mail"}, Population: mapper.Population{Name: "Staff"}}

// TestGroupsSlapd10kMemberGroup: a groupOfNames of 10,000 members on
// slapd arrives whole, one call per membership; the next run makes no
// call at all.
func TestGroupsSlapd10kMemberGroup(t *testing.T) {
	srv := testenv.LDAP(t)
	const n = 10_000
	// A shared read-only fixture: loaded once per slapd, not per run.
	base := srv.Fixture(t, "groups10k", "1", func(parent string) []testenv.LDAPEntry {
		people, groups := "ou=people,"+parent, "ou=groups,"+parent
		entries := []testenv.LDAPEntry{
			{DN: people, Attrs: map[string][]string{"objectClass": {"organizationalUnit"}, "ou": {"people"}}},
			{DN: groups, Attrs: map[string][]string{"objectClass": {"organizationalUnit"}, "ou": {"groups"}}},
		}
		members := make([]string, n)
		for i := 0; i < n; i++ {
			e := testenv.UserEntry(people, i, nil)
			entries = append(entries, e)
			members[i] = e.DN
		}
		return append(entries, testenv.LDAPEntry{DN: "cn=Everyone," + groups,
			Attrs: map[string][]string{"objectClass": {"groupOfNames"}, "cn": {"Everyone"}, "member": members}})
	})
	d := newDirJob(t, slapdSource(srv, "ou=people,"+base, "(objectClass=inetOrgPerson)"),
		slapdSource(srv, "ou=groups,"+base, "(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames))"), slapdMapping, "")

	rep, st := d.run(reconcile.Options{})
	if got := st.ByOperation["addUserToGroup"]; got != n || rep.Groups.Counts.MembersAdded != n || st.ByOperation["createGroup"] != 1 {
		t.Fatalf("initial sync: %d membership calls, %d group creates, counts %+v; want %d and 1", got, st.ByOperation["createGroup"], rep.Groups.Counts, n)
	}
	if got := len(d.emu.DirectMembers(d.group("Everyone").ID)); got != n {
		t.Fatalf("Everyone has %d members in PingOne, want %d", got, n)
	}
	rep, st = d.run(reconcile.Options{})
	if c := apiCalls(st); c != 0 || rep.Groups.Counts.MembersUnchanged != n {
		t.Fatalf("second run: %d API calls %v, counts %+v; want none", c, st.ByOperation, rep.Groups.Counts)
	}
}

// TestGroupsSlapdMirror: nested: mirror on slapd makes PingOne nesting
// links (groupOfNames holding a groupOfUniqueNames), at most 250 per
// group (API-NOTES §5a), each link one call; a link that leaves the
// directory is one DELETE, and an unchanged directory costs nothing.
func TestGroupsSlapdMirror(t *testing.T) {
	srv := testenv.LDAP(t)
	base := srv.Subtree(t)
	people, groups := "ou=people,"+base, "ou=groups,"+base
	entries := []testenv.LDAPEntry{
		{DN: people, Attrs: map[string][]string{"objectClass": {"organizationalUnit"}, "ou": {"people"}}},
		{DN: groups, Attrs: map[string][]string{"objectClass": {"organizationalUnit"}, "ou": {"groups"}}},
	}
	user := func(i int) string { return testenv.UserEntry(people, i, nil).DN }
	for i := 0; i < 3; i++ {
		entries = append(entries, testenv.UserEntry(people, i, nil))
	}
	const wide = 251 // one past PingOne's limit of nested groups per group
	wideMembers := []string{user(2)}
	for k := 0; k < wide; k++ {
		dn := fmt.Sprintf("cn=Sub%03d,%s", k, groups)
		wideMembers = append(wideMembers, dn)
		entries = append(entries, testenv.LDAPEntry{DN: dn, Attrs: map[string][]string{"objectClass": {"groupOfNames"}, "cn": {fmt.Sprintf("Sub%03d", k)}, "member": {user(2)}}})
	}
	entries = append(entries,
		testenv.LDAPEntry{DN: "cn=Parent," + groups, Attrs: map[string][]string{"objectClass": {"groupOfNames"}, "cn": {"Parent"}, "member": {user(0), "cn=Child," + groups}}},
		testenv.LDAPEntry{DN: "cn=Child," + groups, Attrs: map[string][]string{"objectClass": {"groupOfUniqueNames"}, "cn": {"Child"}, "uniqueMember": {user(1)}}},
		testenv.LDAPEntry{DN: "cn=Wide," + groups, Attrs: map[string][]string{"objectClass": {"groupOfNames"}, "cn": {"Wide"}, "member": wideMembers}},
	)
	srv.AddEntries(t, entries)
	d := newDirJob(t, slapdSource(srv, people, "(objectClass=inetOrgPerson)"),
		slapdSource(srv, groups, "(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames))"), slapdMapping, reconcile.NestedMirror)

	rep, st := d.run(reconcile.Options{})
	if got, want := st.ByOperation["createGroupNesting"], 1+250; got != want {
		t.Errorf("initial sync: %d nesting links created, want %d (Child in Parent, 250 in Wide)", got, want)
	}
	if got := st.ByOperation["createGroup"]; got != 3+wide {
		t.Errorf("initial sync: %d groups created, want %d", got, 3+wide)
	}
	parent, child, w := d.group("Parent"), d.group("Child"), d.group("Wide")
	if !slices.Equal(child.Parents, []string{parent.ID}) || len(parent.Parents) != 0 {
		t.Errorf("Child is nested in %v, Parent in %v; want Child in Parent only", child.Parents, parent.Parents)
	}
	if got := d.usernames(d.emu.DirectMembers(parent.ID)); !slices.Equal(got, []string{"user000000"}) {
		t.Errorf("Parent's direct members = %v, want user000000 only (mirror does not flatten)", got)
	}
	if got := d.usernames(d.emu.EffectiveMembers(parent.ID)); !slices.Equal(got, []string{"user000000", "user000001"}) {
		t.Errorf("Parent's effective members = %v", got)
	}
	if got := d.usernames(d.emu.DirectMembers(child.ID)); !slices.Equal(got, []string{"user000001"}) {
		t.Errorf("Child's members = %v", got)
	}
	inWide := 0
	for _, g := range d.emu.Groups() {
		if slices.Contains(g.Parents, w.ID) {
			inWide++
		}
	}
	if inWide != 250 || !slices.ContainsFunc(rep.Warnings, func(s string) bool { return strings.Contains(s, "250") && strings.Contains(s, "Wide") }) {
		t.Errorf("Wide holds %d nested groups (want 250), warnings %q", inWide, rep.Warnings)
	}

	if _, st = d.run(reconcile.Options{}); apiCalls(st) != 0 {
		t.Fatalf("second run: %d API calls %v, want none", apiCalls(st), st.ByOperation)
	}

	// A verify that finds no drift makes listings only: the users, one
	// nesting listing per managed group (254), the members of each group
	// with members and of the groups nested in them, and the memberships
	// of user000002, listed in Wide both directly and through the 250
	// groups nested in it: its 252 groups take two pages of 200. Never a
	// call per link.
	rep, st = d.run(reconcile.Options{Verify: true})
	if st.Writes != 0 || len(rep.MemberDrift) != 0 {
		t.Fatalf("verify without drift: %d writes %v, drift %+v", st.Writes, st.ByOperation, rep.MemberDrift)
	}
	for op, n := range st.ByOperation {
		switch op {
		case "token", "readAllUsers", "readAllPopulations":
		case "readGroupNesting":
			if n != 3+wide {
				t.Errorf("verify: %d nesting listings, want one per managed group (%d)", n, 3+wide)
			}
		case "readAllGroupMembershipsForUser":
			if n != 2 {
				t.Errorf("verify: %d pages of users' memberships listed, want 2 (user000002's 252 groups)", n)
			}
		default:
			t.Errorf("verify without drift called %s %d times, want listings only: %v", op, n, st.ByOperation)
		}
	}
	// One of Wide's 250 links removed by hand: verify finds that one and
	// re-adds it with one POST.
	var sub pingonetest.GroupInfo
	for _, g := range d.emu.Groups() {
		if slices.Contains(g.Parents, w.ID) {
			sub = g
			break
		}
	}
	if err := d.emu.RemoveNesting(sub.ID, w.ID); err != nil {
		t.Fatal(err)
	}
	rep, st = d.run(reconcile.Options{Verify: true})
	if len(rep.MemberDrift) != 1 || !rep.MemberDrift[0].Nested || rep.MemberDrift[0].MemberName != sub.Name || rep.MemberDrift[0].GroupName != "Wide" {
		t.Errorf("verify after a link removed by hand: drift %+v", rep.MemberDrift)
	}
	if st.Writes != 1 || st.ByOperation["createGroupNesting"] != 1 || !slices.Contains(d.group(sub.Name).Parents, w.ID) {
		t.Errorf("verify after a link removed by hand: %d writes %v", st.Writes, st.ByOperation)
	}

	// Child leaves Parent: one call, the nesting link's DELETE.
	conn := srv.Conn(t)
	mod := ldap.NewModifyRequest("cn=Parent,"+groups, nil)
	mod.Delete("member", []string{"cn=Child," + groups})
	if err := conn.Modify(mod); err != nil {
		t.Fatal(err)
	}
	rep, st = d.run(reconcile.Options{})
	if apiCalls(st) != 1 || st.ByOperation["deleteGroupNesting"] != 1 || rep.Groups.Counts.MembersRemoved != 1 {
		t.Errorf("unnesting: %d API calls %v, counts %+v; want one deleteGroupNesting", apiCalls(st), st.ByOperation, rep.Groups.Counts)
	}
	if got := d.group("Child").Parents; len(got) != 0 {
		t.Errorf("Child still nested in %v", got)
	}
}

// TestGroupsADRangeRetrievalAndNesting: on the Samba AD DC, a group of
// 1,600 members (past AD's MaxValRange of 1,500) arrives whole — every
// member a PingOne membership — and a nested group is flattened. Samba
// returns all 1,600 values to a plain request where AD cuts them at
// 1,500, so the job reads through testenv's RangeProxy, which cuts them
// as AD does: the source must follow "member;range=1500-*" on the DC
// itself to see the rest.
func TestGroupsADRangeRetrievalAndNesting(t *testing.T) {
	srv := testenv.AD(t)
	const n = 1600
	sam := func(i int) string { return fmt.Sprintf("g17r-%04d", i) }
	base := srv.Fixture(t, "syncd-groups-range", "1", func(parent string) [][]testenv.LDAPEntry {
		people, groups := "OU=people,"+parent, "OU=groups,"+parent
		ous := []testenv.LDAPEntry{
			{DN: people, Attrs: map[string][]string{"objectClass": {"organizationalUnit"}, "ou": {"people"}}},
			{DN: groups, Attrs: map[string][]string{"objectClass": {"organizationalUnit"}, "ou": {"groups"}}},
		}
		users := make([]testenv.LDAPEntry, n)
		members := make([]string, n)
		for i := range users {
			users[i] = testenv.ADUser(people, sam(i), false, nil)
			members[i] = users[i].DN
		}
		group := func(name string, members ...string) testenv.LDAPEntry {
			return testenv.LDAPEntry{DN: "CN=" + name + "," + groups, Attrs: map[string][]string{
				"objectClass": {"group"}, "sAMAccountName": {name}, "member": members}}
		}
		return [][]testenv.LDAPEntry{ous, users,
			{group("g17r-Big", members...), group("g17r-Inner", members[1], members[2])},
			{group("g17r-Outer", members[0], "CN=g17r-Inner,"+groups)},
		}
	})
	proxy := srv.NewRangeProxy(t, 1500)
	adSource := func(sub, filter string) ldapsource.Config {
		return ldapsource.Config{
			URL: proxy.URL(), AllowPlaintext: true,
			BindDN: srv.BindDN, BindPassword: secret.New(srv.Password),
			BaseDN: ldapsource.DNList{sub + "," + base}, Filter: filter, Anchor: "objectGUID", PageSize: 500, Timeout: 2 * time.Minute,
		}
	}

	// The proxy behaves as AD: a plain member request gets the first 1,500.
	c, err := ldap.DialURL(proxy.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Bind(srv.BindDN, srv.Password); err != nil {
		t.Fatal(err)
	}
	res, err := c.Search(ldap.NewSearchRequest("CN=g17r-Big,OU=groups,"+base, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=*)", []string{"member"}, nil))
	if err != nil || len(res.Entries) != 1 || len(res.Entries[0].Attributes) != 1 ||
		res.Entries[0].Attributes[0].Name != "member;range=0-1499" || len(res.Entries[0].Attributes[0].Values) != 1500 {
		t.Fatalf("through the proxy, g17r-Big's members: %v %+v; want member;range=0-1499 with 1,500 values", err, res)
	}

	d := newDirJob(t, adSource("OU=people", "(&(objectClass=user)(!(objectClass=computer)))"), adSource("OU=groups", "(objectClass=group)"),
		mapper.Config{Mapping: map[string]string{"username": "sAMAccountName", "email": "mail"}, Population: mapper.Population{Name: "Staff"}}, "")
	d.job.Groups.MemberAttributes = []string{"member"}
	d.job.Groups.Mapper, err = mapper.CompileGroups(mapper.GroupExprs{Name: "sAMAccountName"})
	if err != nil {
		t.Fatal(err)
	}
	cut0 := proxy.Cut()
	rep, st := d.run(reconcile.Options{})
	if proxy.Cut() == cut0 {
		t.Fatal("the job's read of the groups was never cut at 1,500 members: range retrieval not exercised")
	}
	if got, want := st.ByOperation["addUserToGroup"], n+3+2; got != want || rep.Counts.Created != n {
		t.Errorf("initial sync: %d membership calls, %d users created; want %d (Big %d, Outer 3, Inner 2) and %d", got, rep.Counts.Created, want, n, n)
	}
	if got := len(d.emu.DirectMembers(d.group("g17r-Big").ID)); got != n {
		t.Errorf("g17r-Big has %d members in PingOne, want all %d", got, n)
	}
	if got := d.usernames(d.emu.DirectMembers(d.group("g17r-Outer").ID)); !slices.Equal(got, []string{sam(0), sam(1), sam(2)}) {
		t.Errorf("g17r-Outer (flattened) = %v", got)
	}
	via := 0
	for _, m := range rep.Groups.Members {
		if m.GroupName == "g17r-Outer" && m.Via == "g17r-Outer → g17r-Inner" {
			via++
		}
	}
	if via != 2 {
		t.Errorf("%d of g17r-Outer's memberships say they come through g17r-Inner, want 2", via)
	}
	if rep, st = d.run(reconcile.Options{}); apiCalls(st) != 0 || rep.Groups.Counts.MembersUnchanged != n+5 {
		t.Errorf("second run: %d API calls %v, counts %+v; want none", apiCalls(st), st.ByOperation, rep.Groups.Counts)
	}
}

// TestGroupsSlapdFlattenCycleDepthAndBound: flatten on slapd follows
// nesting breadth first, each user once with the shortest path it comes
// through, ends a cycle where it closes, stops at max_depth (with a
// warning; the group's memberships are then only added to) and plans
// nothing for a group past max_members. A member leaving a nested group
// leaves every group above it: one DELETE each.
func TestGroupsSlapdFlattenCycleDepthAndBound(t *testing.T) {
	srv := testenv.LDAP(t)
	base := srv.Subtree(t)
	people, groups := "ou=people,"+base, "ou=groups,"+base
	entries := []testenv.LDAPEntry{
		{DN: people, Attrs: map[string][]string{"objectClass": {"organizationalUnit"}, "ou": {"people"}}},
		{DN: groups, Attrs: map[string][]string{"objectClass": {"organizationalUnit"}, "ou": {"groups"}}},
	}
	user := func(i int) string { return testenv.UserEntry(people, i, nil).DN }
	for i := 0; i < 7; i++ {
		entries = append(entries, testenv.UserEntry(people, i, nil))
	}
	group := func(name string, members ...string) testenv.LDAPEntry {
		return testenv.LDAPEntry{DN: "cn=" + name + "," + groups, Attrs: map[string][]string{"objectClass": {"groupOfNames"}, "cn": {name}, "member": members}}
	}
	g := func(name string) string { return "cn=" + name + "," + groups }
	entries = append(entries,
		group("A", user(0), g("B")),
		group("B", user(1), g("C"), g("A")), // A → B → A: a cycle
		group("C", user(2), user(1)),
		group("D", user(3), g("E")), // D → E → F → G: deeper than max_depth 2
		group("E", user(4), g("F")),
		group("F", user(5), g("G")),
		group("G", user(6)),
		group("H", g("A"), g("D")), // more than max_members 3 once flattened
	)
	srv.AddEntries(t, entries)
	d := newDirJob(t, slapdSource(srv, people, "(objectClass=inetOrgPerson)"), slapdSource(srv, groups, "(objectClass=groupOfNames)"), slapdMapping, reconcile.NestedFlatten)
	d.job.Groups.MaxDepth, d.job.Groups.MaxMembers = 2, 3

	rep, _ := d.run(reconcile.Options{})
	members := func(name string) []string { return d.usernames(d.emu.DirectMembers(d.group(name).ID)) }
	u := func(is ...int) []string {
		out := []string{}
		for _, i := range is {
			out = append(out, fmt.Sprintf("user%06d", i))
		}
		return out
	}
	for name, want := range map[string][]string{
		"A": u(0, 1, 2), "B": u(0, 1, 2), "C": u(1, 2), "D": u(3, 4, 5), "E": u(4, 5, 6), "F": u(5, 6), "G": u(6), "H": {},
	} {
		if got := members(name); !slices.Equal(append([]string{}, got...), want) {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	via := map[string]string{}
	for _, m := range rep.Groups.Members {
		via[m.GroupName+"/"+m.MemberName] = m.Via
	}
	for k, want := range map[string]string{
		"A/user000000": "", "A/user000001": "A → B", "A/user000002": "A → B → C", "B/user000000": "B → A", "C/user000001": "", "D/user000005": "D → E → F",
	} {
		if via[k] != want {
			t.Errorf("%s comes via %q, want %q", k, via[k], want)
		}
	}
	warned := func(snippets ...string) bool {
		return slices.ContainsFunc(rep.Warnings, func(w string) bool {
			for _, s := range snippets {
				if !strings.Contains(w, s) {
					return false
				}
			}
			return true
		})
	}
	if !warned(`"D"`, "max_depth=2") || !warned(`"H"`, "more than 3 members") || warned(`"E"`, "max_depth") {
		t.Errorf("warnings %q: want D past max_depth and H past max_members only", rep.Warnings)
	}

	if _, st := d.run(reconcile.Options{}); apiCalls(st) != 0 {
		t.Fatalf("second run: %d API calls %v", apiCalls(st), st.ByOperation)
	}
	// user2 leaves C: it leaves A and B too (they hold it through C).
	mod := ldap.NewModifyRequest(g("C"), nil)
	mod.Delete("member", []string{user(2)})
	if err := srv.Conn(t).Modify(mod); err != nil {
		t.Fatal(err)
	}
	rep, st := d.run(reconcile.Options{})
	if apiCalls(st) != 3 || st.ByOperation["removeUserFromGroup"] != 3 || rep.Groups.Counts.MembersRemoved != 3 {
		t.Errorf("user2 leaving C: %d API calls %v, counts %+v; want 3 removals (A, B, C)", apiCalls(st), st.ByOperation, rep.Groups.Counts)
	}
	for _, name := range []string{"A", "B", "C"} {
		if slices.Contains(members(name), "user000002") {
			t.Errorf("%s still holds user000002", name)
		}
	}
}
