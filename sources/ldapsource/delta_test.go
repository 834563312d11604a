package ldapsource

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/syncd/syncd/internal/secret"
	"github.com/syncd/syncd/internal/testenv"
	"github.com/syncd/syncd/sources"
)

func recWith(attr, val string) sources.Record {
	return sources.Record{Attrs: map[string][]string{attr: {val}}}
}

// readResult is a whole read: its records, mode, cursor and error.
type readResult struct {
	recs   []sources.Record
	mode   sources.Mode
	cursor []byte
}

func (r readResult) byAnchor() map[string]sources.Record {
	m := make(map[string]sources.Record, len(r.recs))
	for _, rec := range r.recs {
		m[rec.Anchor] = rec
	}
	return m
}

func (r readResult) deleted() []string {
	var out []string
	for _, rec := range r.recs {
		if rec.Deleted {
			out = append(out, rec.Anchor)
		}
	}
	sort.Strings(out)
	return out
}

func (r readResult) cursorKind(t testing.TB) string {
	t.Helper()
	c, err := decodeCursor(r.cursor)
	if err != nil {
		t.Fatalf("cursor %q: %v", r.cursor, err)
	}
	return c.Kind
}

// readFull reads src to its end; any error fails the test.
func readFull(t testing.TB, src sources.Source, req sources.ReadRequest) readResult {
	t.Helper()
	r, err := src.Open(context.Background(), req)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer r.Close()
	res := readResult{mode: r.Mode()}
	for r.Next() {
		res.recs = append(res.recs, r.Record())
	}
	if err := r.Err(); err != nil {
		t.Fatalf("read: %v", err)
	}
	if r.Mode() != res.mode {
		t.Errorf("Mode changed during the read: %v -> %v", res.mode, r.Mode())
	}
	res.cursor = r.Cursor()
	return res
}

func modify(t testing.TB, c *ldap.Conn, dn string, attr string, vals ...string) {
	t.Helper()
	m := ldap.NewModifyRequest(dn, nil)
	m.Replace(attr, vals)
	if err := c.Modify(m); err != nil {
		t.Fatalf("modify %s: %v", dn, err)
	}
}

func del(t testing.TB, c *ldap.Conn, dn string) {
	t.Helper()
	if err := c.Del(ldap.NewDelRequest(dn, nil)); err != nil {
		t.Fatalf("delete %s: %v", dn, err)
	}
}

// syncreplFixture is a subtree of n users and a source reading it.
func syncreplFixture(t *testing.T, n int) (testenv.LDAPServer, []testenv.LDAPEntry, *Source, *observer.ObservedLogs) {
	t.Helper()
	srv := testenv.LDAP(t)
	parent := srv.Subtree(t)
	entries := make([]testenv.LDAPEntry, n)
	for i := range entries {
		entries[i] = testenv.UserEntry(parent, i, map[string][]string{"title": {"Engineer"}})
	}
	srv.AddEntries(t, entries)
	core, logs := observer.New(zap.InfoLevel)
	cfg := slapdConfig(srv, parent)
	cfg.PageSize = 7
	s, err := New(cfg, zap.New(core))
	if err != nil {
		t.Fatal(err)
	}
	return srv, entries, s, logs
}

var deltaAttrs = []string{"uid", "mail", "title"}

// TestSyncreplDelta: after a full read, 10 modifications and 2 deletions
// come back from a syncrepl delta read as exactly 12 records.
func TestSyncreplDelta(t *testing.T) {
	t.Parallel()
	srv, entries, src, logs := syncreplFixture(t, 30)
	full := readFull(t, src, sources.ReadRequest{Attributes: deltaAttrs})
	if full.mode != sources.Full || len(full.recs) != 30 || full.cursorKind(t) != DeltaSyncrepl {
		t.Fatalf("first read: mode %v, %d records, cursor %s; want full, 30, syncrepl", full.mode, len(full.recs), full.cursor)
	}
	uuidOf := map[string]string{}
	for _, r := range full.recs {
		uuidOf[r.Get("uid")] = r.Anchor
	}

	c := srv.Conn(t)
	for i := range 10 {
		modify(t, c, entries[i].DN, "title", fmt.Sprintf("Changed %d", i))
	}
	var wantDeleted []string
	for i := 10; i < 12; i++ {
		del(t, c, entries[i].DN)
		wantDeleted = append(wantDeleted, uuidOf[entries[i].Attrs["uid"][0]])
	}
	sort.Strings(wantDeleted)

	delta := readFull(t, src, sources.ReadRequest{Attributes: deltaAttrs, Cursor: full.cursor})
	if delta.mode != sources.Delta {
		t.Fatalf("second read is %v, want delta (logs: %v)", delta.mode, logs.All())
	}
	// slapd replays deletions from its session log without checking the
	// search base: deletions elsewhere in the directory (other tests
	// removing their subtrees) come too. They name entries the job never
	// read, which the engine ignores; none may name an entry of ours.
	ours := map[string]bool{}
	for _, a := range uuidOf {
		ours[a] = true
	}
	upserts, mine, foreign := splitDelta(delta, ours)
	if upserts != 10 || strings.Join(mine, " ") != strings.Join(wantDeleted, " ") {
		t.Errorf("delta read: %d upserts, deletions of ours %v; want 10 upserts and %v", upserts, mine, wantDeleted)
	}
	t.Logf("delta read: %d records: %d upserts, %d deletions of ours, %d deletions outside the base", len(delta.recs), upserts, len(mine), foreign)
	got := delta.byAnchor()
	for i := range 10 {
		uid := entries[i].Attrs["uid"][0]
		r, ok := got[uuidOf[uid]]
		if !ok || r.Deleted || r.Get("title") != fmt.Sprintf("Changed %d", i) || r.Get("mail") != uid+"@example.test" {
			t.Errorf("%s: %+v, want an upsert with title %q and every requested attribute", uid, r, fmt.Sprintf("Changed %d", i))
		}
	}

	// Nothing changed: an empty delta, and a cursor that still works.
	again := readFull(t, src, sources.ReadRequest{Attributes: deltaAttrs, Cursor: delta.cursor})
	if u, m, _ := splitDelta(again, ours); again.mode != sources.Delta || u != 0 || len(m) != 0 || again.cursorKind(t) != DeltaSyncrepl {
		t.Errorf("unchanged: mode %v, %d upserts, deletions %v, cursor %s; want an empty delta", again.mode, u, m, again.cursor)
	}
	modify(t, c, entries[20].DN, "title", "Later")
	last := readFull(t, src, sources.ReadRequest{Attributes: deltaAttrs, Cursor: again.cursor})
	if u, m, _ := splitDelta(last, ours); last.mode != sources.Delta || u != 1 || len(m) != 0 || got[uuidOf[entries[20].Attrs["uid"][0]]].DN != "" {
		t.Errorf("after one more change: mode %v, records %+v; want one upsert", last.mode, last.recs)
	}
}

// splitDelta counts a delta's upserts and splits its deletions into those
// of anchors in ours (sorted) and the others.
func splitDelta(r readResult, ours map[string]bool) (upserts int, mine []string, foreign int) {
	for _, rec := range r.recs {
		switch {
		case !rec.Deleted:
			upserts++
		case ours[rec.Anchor]:
			mine = append(mine, rec.Anchor)
		default:
			foreign++
		}
	}
	sort.Strings(mine)
	return upserts, mine, foreign
}

// TestSyncreplFallback: a cursor the server will not resume from, or one
// that is unusable, makes the read a full one, logged, never a failure.
func TestSyncreplFallback(t *testing.T) {
	t.Parallel()
	srv, entries, src, logs := syncreplFixture(t, 12)
	full := readFull(t, src, sources.ReadRequest{Attributes: deltaAttrs})
	bases := normBases(src.cfg.BaseDN)
	withCookie := func(k string) []byte {
		return cursor{Kind: DeltaSyncrepl, Bases: bases, Cookies: [][]byte{[]byte(k)}}.encode()
	}
	tests := []struct {
		name   string
		req    sources.ReadRequest
		logged string
	}{
		{"stale cookie", sources.ReadRequest{Cursor: withCookie("rid=000,csn=20200101000000.000000Z#000000#000#000000")}, "did not resume"},
		{"cookie the server cannot parse", sources.ReadRequest{Cursor: withCookie("garbage")}, "did not recognise"},
		{"corrupt cursor", sources.ReadRequest{Cursor: full.cursor[:len(full.cursor)/2]}, "cursor unusable"},
		{"cursor of another method", sources.ReadRequest{Cursor: cursor{Kind: DeltaTimestamp, Bases: bases, Since: "20261126075654Z"}.encode()}, "cursor is for timestamp"},
		{"cursor of other base DNs", sources.ReadRequest{Cursor: cursor{Kind: DeltaSyncrepl, Bases: []string{"o=x"}, Cookies: [][]byte{[]byte("x")}}.encode()}, "base DNs changed"},
		{"full requested", sources.ReadRequest{Cursor: full.cursor, Full: true}, ""},
		{"more changes than a delta holds", sources.ReadRequest{Cursor: full.cursor}, "more than 3 changes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Not parallel: each looks for its own log line.
			n := logs.Len()
			tt.req.Attributes = deltaAttrs
			if strings.HasPrefix(tt.logged, "more than") {
				// Every entry changed since the first read's cookie.
				src.maxDelta = 3
				defer func() { src.maxDelta = maxDeltaBuffer }()
				c := srv.Conn(t)
				for _, e := range entries {
					modify(t, c, e.DN, "title", "Bulk change")
				}
			}
			res := readFull(t, src, tt.req)
			if res.mode != sources.Full || len(res.recs) != 12 || res.cursorKind(t) != DeltaSyncrepl {
				t.Errorf("mode %v, %d records, cursor %s; want a full read of 12 with a fresh cursor", res.mode, len(res.recs), res.cursor)
			}
			if tt.logged == "" {
				return
			}
			found := false
			for _, e := range logs.All()[n:] {
				if strings.Contains(e.Message+fmt.Sprint(e.ContextMap()), tt.logged) {
					found = true
				}
			}
			if !found {
				t.Errorf("no log line saying %q; logs: %v", tt.logged, logs.All()[n:])
			}
		})
	}
}

// TestTimestampDelta: the modifyTimestamp method sees a modified entry in
// a delta read; a deletion is not reported (only full reads disable).
func TestTimestampDelta(t *testing.T) {
	t.Parallel()
	srv, entries, src, _ := syncreplFixture(t, 10)
	src.cfg.Delta = DeltaTimestamp
	full := readFull(t, src, sources.ReadRequest{Attributes: deltaAttrs})
	if full.mode != sources.Full || len(full.recs) != 10 || full.cursorKind(t) != DeltaTimestamp {
		t.Fatalf("first read: mode %v, %d records, cursor %s", full.mode, len(full.recs), full.cursor)
	}
	c, _ := decodeCursor(full.cursor)
	conn := srv.Conn(t)
	modify(t, conn, entries[3].DN, "title", "Changed")
	del(t, conn, entries[4].DN)
	delta := readFull(t, src, sources.ReadRequest{Attributes: deltaAttrs, Cursor: full.cursor})
	if delta.mode != sources.Delta {
		t.Fatalf("mode %v, want delta", delta.mode)
	}
	found := false
	for _, r := range delta.recs {
		if r.Deleted {
			t.Errorf("timestamp delta reported a deletion: %+v", r)
		}
		if r.Get("uid") == entries[4].Attrs["uid"][0] {
			t.Errorf("deleted entry read: %+v", r)
		}
		if ts := r.Get("modifytimestamp"); ts < c.Since {
			t.Errorf("%s: modifyTimestamp %s before the watermark %s", r.DN, ts, c.Since)
		}
		if r.Get("uid") == entries[3].Attrs["uid"][0] {
			found = r.Get("title") == "Changed"
		}
	}
	if !found {
		t.Errorf("the modified entry is not in the delta (or not changed): %d records", len(delta.recs))
	}
	t.Logf("timestamp delta: %d records since %s (entries created within the second before the watermark are read again)", len(delta.recs), c.Since)
	if next, err := decodeCursor(delta.cursor); err != nil || next.Since < c.Since {
		t.Errorf("next cursor %s (%v): the watermark must not go back", delta.cursor, err)
	}
}

// TestDeltaNone: delta: none reads fully and returns no cursor.
func TestDeltaNone(t *testing.T) {
	t.Parallel()
	_, _, src, _ := syncreplFixture(t, 3)
	src.cfg.Delta = DeltaNone
	res := readFull(t, src, sources.ReadRequest{Cursor: []byte(`{"v":1}`)})
	if res.mode != sources.Full || len(res.recs) != 3 || res.cursor != nil {
		t.Errorf("mode %v, %d records, cursor %q; want full, 3, none", res.mode, len(res.recs), res.cursor)
	}
}

func TestADUSNDelta(t *testing.T) {
	t.Parallel()
	srv := testenv.AD(t)
	parent := srv.Subtree(t)
	p := samPrefix(parent)
	var users []testenv.LDAPEntry
	for i := range 4 {
		users = append(users, testenv.ADUser(parent, fmt.Sprintf("%s-%d", p, i), false, map[string][]string{"title": {"Engineer"}}))
	}
	srv.AddEntries(t, users)
	core, logs := observer.New(zap.InfoLevel)
	cfg := adConfig(srv, parent)
	src, err := New(cfg, zap.New(core))
	if err != nil {
		t.Fatal(err)
	}
	attrs := []string{"samaccountname", "title", "useraccountcontrol"}
	full := readFull(t, src, sources.ReadRequest{Attributes: attrs})
	if full.mode != sources.Full || len(full.recs) != 4 || full.cursorKind(t) != DeltaUSN {
		t.Fatalf("first read: mode %v, %d records, cursor %s; want full, 4, usn (auto on AD)", full.mode, len(full.recs), full.cursor)
	}
	guid := map[string]string{}
	for _, r := range full.recs {
		guid[r.Get("samaccountname")] = r.Anchor
	}
	c := srv.Conn(t)
	modify(t, c, users[0].DN, "title", "Changed")
	modify(t, c, users[1].DN, "userAccountControl", "546") // disabled
	del(t, c, users[2].DN)

	delta := readFull(t, src, sources.ReadRequest{Attributes: attrs, Cursor: full.cursor})
	if delta.mode != sources.Delta {
		t.Fatalf("mode %v, want delta; logs %v", delta.mode, logs.All())
	}
	var upserts []string
	for _, r := range delta.recs {
		if !r.Deleted {
			upserts = append(upserts, r.Get("samaccountname"))
		}
	}
	sort.Strings(upserts)
	if want := []string{p + "-0", p + "-1"}; strings.Join(upserts, " ") != strings.Join(want, " ") {
		t.Errorf("upserts %v, want %v", upserts, want)
	}
	got := delta.byAnchor()
	if r := got[guid[p+"-0"]]; r.Get("title") != "Changed" {
		t.Errorf("modified user: %+v", r)
	}
	if r := got[guid[p+"-1"]]; r.Get("useraccountcontrol") != "546" {
		t.Errorf("disabled user: %+v", r)
	}
	// Tombstones are domain-wide (other tests delete too): the deleted
	// user must be among them, and no live user of ours.
	if r, ok := got[guid[p+"-2"]]; !ok || !r.Deleted {
		t.Errorf("deleted user %s not reported deleted: %+v", guid[p+"-2"], r)
	}
	if _, ok := got[guid[p+"-3"]]; ok {
		t.Errorf("unchanged user in the delta")
	}
	t.Logf("usn delta: %d records (%d deletions domain-wide)", len(delta.recs), len(delta.deleted()))

	// Another DC, or a restored database: a different invocationId in the
	// cursor (Samba cannot be given a new one on demand) forces a full read.
	cur, _ := decodeCursor(delta.cursor)
	cur.InvocationID = "00000000-0000-0000-0000-000000000001"
	n := logs.Len()
	res := readFull(t, src, sources.ReadRequest{Attributes: attrs, Cursor: cur.encode()})
	if res.mode != sources.Full || len(res.recs) != 3 {
		t.Errorf("other invocationId: mode %v, %d records; want a full read of 3", res.mode, len(res.recs))
	}
	if logs.Len() == n || !strings.Contains(logs.All()[n].Message, "another domain controller") {
		t.Errorf("the full read is not explained in the log: %v", logs.All()[n:])
	}
	if next, _ := decodeCursor(res.cursor); next.InvocationID == cur.InvocationID || next.USN < cur.USN {
		t.Errorf("cursor after the full read %+v: want the DC's own invocationId and a current USN", next)
	}
}

func TestDeltaConfig(t *testing.T) {
	t.Parallel()
	base := Config{URL: "ldaps://dc.example", BaseDN: DNList{"dc=example"}}
	tests := []struct {
		delta, anchor, want string
	}{
		{"", "", ""},
		{"auto", "objectGUID", ""},
		{"syncrepl", "", ""},
		{"syncrepl", "objectGUID", "needs anchor: entryUUID"},
		{"usn", "objectGUID", ""},
		{"timestamp", "uid", ""},
		{"none", "", ""},
		{"dirsync", "objectGUID", ""},
		{"dirsync", "", "needs anchor: objectGUID"},
		{"sometimes", "", "want auto, syncrepl"},
	}
	for _, tt := range tests {
		c := base
		c.Delta, c.Anchor = tt.delta, tt.anchor
		err := c.Validate()
		if (tt.want == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tt.want) {
			t.Errorf("delta %q anchor %q: %v, want %q", tt.delta, tt.anchor, err, tt.want)
		}
	}
}

// TestSyncreplPresentPhase: when slapd cannot serve a cookie from its
// session log (kept in memory: the cookie is older than slapd's last
// start), it answers with a present phase: changed entries plus the
// entryUUIDs of unchanged ones, no deletions. The read becomes a full one.
// To get there without restarting the shared slapd, the source reads one
// entry that start-slapd.sh loads offline before slapd starts (cn=reader)
// with a cookie naming the moment it was written.
func TestSyncreplPresentPhase(t *testing.T) {
	t.Parallel()
	srv := testenv.LDAP(t)
	dn := srv.ReaderDN
	res, err := srv.Conn(t).Search(ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=*)", []string{"entryCSN"}, nil))
	if err != nil || len(res.Entries) != 1 {
		t.Fatalf("read %s: %v", dn, err)
	}
	csn := res.Entries[0].GetAttributeValue("entryCSN")
	changed, err := parseGenTime(strings.SplitN(csn, "#", 2)[0])
	if err != nil {
		t.Fatalf("entryCSN %q: %v", csn, err)
	}
	pidfile := testenv.Getenv("SYNCD_TEST_LDAP_STATE_DIR", "/tmp/syncd-slapd") + "/run/slapd.pid"
	// Both preconditions hold on the slapd .ci/start-slapd.sh starts; when
	// they do not, the test cannot show anything: under CI it fails
	// (testenv.Unavailable) rather than pass by skipping.
	if st, err := os.Stat(pidfile); err != nil {
		testenv.Unavailable(t, "slapd's pid file, to know when it started (bash .ci/start-slapd.sh)", err)
	} else if !changed.Before(st.ModTime()) {
		testenv.Unavailable(t, "a slapd started after "+dn+" was written (restart it: bash .ci/stop-slapd.sh; bash .ci/start-slapd.sh)",
			fmt.Errorf("%s changed (%s) after slapd started (%s): its session log covers it", dn, changed, st.ModTime()))
	}

	core, logs := observer.New(zap.InfoLevel)
	cfg := slapdConfig(srv, dn)
	cfg.Scope, cfg.Filter = "base", "(objectClass=*)"
	src, err := New(cfg, zap.New(core))
	if err != nil {
		t.Fatal(err)
	}
	cur := cursor{Kind: DeltaSyncrepl, Bases: normBases(cfg.BaseDN), Cookies: [][]byte{[]byte("rid=000,csn=" + csn)}}
	got := readFull(t, src, sources.ReadRequest{Attributes: []string{"cn"}, Cursor: cur.encode()})
	if got.mode != sources.Full || len(got.recs) != 1 || got.recs[0].Get("cn") != "reader" {
		t.Errorf("mode %v, records %+v; want a full read of the entry", got.mode, got.recs)
	}
	if l := logs.FilterMessageSnippet("full read").All(); len(l) != 1 || !strings.Contains(fmt.Sprint(l[0].ContextMap()), "present phase") {
		t.Errorf("logs %v: want one line naming the present phase", logs.All())
	}
}

// TestADTimestampDelta: on a server that tells its time (AD's RootDSE
// currentTime), the timestamp watermark is that time at the read's start.
func TestADTimestampDelta(t *testing.T) {
	t.Parallel()
	srv := testenv.AD(t)
	parent := srv.Subtree(t)
	p := samPrefix(parent)
	users := []testenv.LDAPEntry{testenv.ADUser(parent, p+"-a", false, nil), testenv.ADUser(parent, p+"-b", false, nil)}
	srv.AddEntries(t, users)
	cfg := adConfig(srv, parent)
	cfg.Delta = DeltaTimestamp
	src := mustNew(t, cfg)
	attrs := []string{"samaccountname", "title"}
	full := readFull(t, src, sources.ReadRequest{Attributes: attrs})
	c, err := decodeCursor(full.cursor)
	if err != nil || c.Kind != DeltaTimestamp || len(full.recs) != 2 {
		t.Fatalf("first read: %d records, cursor %s (%v)", len(full.recs), full.cursor, err)
	}
	if _, ok := full.recs[0].Attrs["modifytimestamp"]; ok {
		t.Errorf("modifyTimestamp requested although the server gives currentTime")
	}
	modify(t, srv.Conn(t), users[1].DN, "title", "Changed")
	delta := readFull(t, src, sources.ReadRequest{Attributes: attrs, Cursor: full.cursor})
	found := false
	for _, r := range delta.recs {
		found = found || r.Get("samaccountname") == p+"-b" && r.Get("title") == "Changed"
	}
	if delta.mode != sources.Delta || !found {
		t.Errorf("mode %v, records %+v; want a delta holding the modified user", delta.mode, delta.recs)
	}
	t.Logf("AD timestamp delta since %s: %d records", c.Since, len(delta.recs))
}

// TestADUSNWithoutTombstoneRights: an account that may not list CN=Deleted
// Objects (any non-admin, by default) gets an empty answer, not an error:
// the full read says so in the log, and delta reads still carry every
// change but no deletion (full reads find those).
func TestADUSNWithoutTombstoneRights(t *testing.T) {
	t.Parallel()
	srv := testenv.AD(t)
	if _, err := os.Stat(srv.SmbConf); err != nil {
		testenv.Unavailable(t, "samba-tool with the DC's smb.conf", err)
	}
	parent := srv.Subtree(t)
	p := samPrefix(parent)
	svc, pw := p+"-svc", "Svc-Passw0rd!"+p
	if out, err := exec.Command("samba-tool", "user", "create", svc, pw, "-s", srv.SmbConf).CombinedOutput(); err != nil {
		t.Fatalf("samba-tool user create: %v\n%s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("samba-tool", "user", "delete", svc, "-s", srv.SmbConf).Run() })
	users := []testenv.LDAPEntry{testenv.ADUser(parent, p+"-a", false, nil), testenv.ADUser(parent, p+"-b", false, nil)}
	srv.AddEntries(t, users)

	core, logs := observer.New(zap.InfoLevel)
	cfg := adConfig(srv, parent)
	cfg.BindDN = svc + srv.BindDN[strings.IndexByte(srv.BindDN, '@'):]
	cfg.BindPassword = secret.New(pw)
	src, err := New(cfg, zap.New(core))
	if err != nil {
		t.Fatal(err)
	}
	attrs := []string{"samaccountname", "title"}
	full := readFull(t, src, sources.ReadRequest{Attributes: attrs})
	if len(full.recs) != 2 || full.cursorKind(t) != DeltaUSN {
		t.Fatalf("first read: %d records, cursor %s", len(full.recs), full.cursor)
	}
	if logs.FilterMessageSnippet("sees no tombstones").Len() != 1 {
		t.Errorf("no log line about invisible tombstones: %v", logs.All())
	}
	c := srv.Conn(t)
	modify(t, c, users[0].DN, "title", "Changed")
	del(t, c, users[1].DN)
	delta := readFull(t, src, sources.ReadRequest{Attributes: attrs, Cursor: full.cursor})
	if delta.mode != sources.Delta || len(delta.recs) != 1 || delta.recs[0].Get("title") != "Changed" {
		t.Errorf("mode %v, records %+v; want a delta with the one modified user (deletions unseen)", delta.mode, delta.recs)
	}

	// DirSync needs Replicating Directory Changes: without it, full reads
	// with no cursor, said in the log.
	cfg.Delta = DeltaDirSync
	src, err = New(cfg, zap.New(core))
	if err != nil {
		t.Fatal(err)
	}
	res := readFull(t, src, sources.ReadRequest{Attributes: attrs})
	if res.mode != sources.Full || len(res.recs) != 1 || res.cursor != nil {
		t.Errorf("dirsync without the right: mode %v, %d records, cursor %s; want a full read of 1, no cursor", res.mode, len(res.recs), res.cursor)
	}
	if logs.FilterMessageSnippet("Replicating Directory Changes").Len() != 1 {
		t.Errorf("no log line naming the missing right: %v", logs.All())
	}
}

// TestADDirSyncDelta: delta: dirsync against Samba AD sees a modified and
// a disabled user, read again in full, and a deleted one; a cookie the
// DC refuses makes a full read.
func TestADDirSyncDelta(t *testing.T) {
	t.Parallel()
	srv := testenv.AD(t)
	parent := srv.Subtree(t)
	p := samPrefix(parent)
	var users []testenv.LDAPEntry
	for i := range 4 {
		users = append(users, testenv.ADUser(parent, fmt.Sprintf("%s-%d", p, i), false, map[string][]string{"title": {"Engineer"}}))
	}
	srv.AddEntries(t, users)
	core, logs := observer.New(zap.InfoLevel)
	cfg := adConfig(srv, parent)
	cfg.Delta = DeltaDirSync
	src, err := New(cfg, zap.New(core))
	if err != nil {
		t.Fatal(err)
	}
	attrs := []string{"samaccountname", "title", "useraccountcontrol"}
	full := readFull(t, src, sources.ReadRequest{Attributes: attrs})
	if full.mode != sources.Full || len(full.recs) != 4 || full.cursorKind(t) != DeltaDirSync {
		t.Fatalf("first read: mode %v, %d records, cursor %s; logs %v", full.mode, len(full.recs), full.cursor, logs.All())
	}
	guid := map[string]string{}
	for _, r := range full.recs {
		guid[r.Get("samaccountname")] = r.Anchor
	}
	c := srv.Conn(t)
	modify(t, c, users[0].DN, "title", "Changed")
	modify(t, c, users[1].DN, "userAccountControl", "546")
	del(t, c, users[2].DN)

	delta := readFull(t, src, sources.ReadRequest{Attributes: attrs, Cursor: full.cursor})
	if delta.mode != sources.Delta {
		t.Fatalf("mode %v, want delta; logs %v", delta.mode, logs.All())
	}
	got := delta.byAnchor()
	if r := got[guid[p+"-0"]]; r.Deleted || r.Get("title") != "Changed" || r.Get("samaccountname") != p+"-0" || r.Get("useraccountcontrol") != "544" {
		t.Errorf("modified user: %+v, want every requested attribute", r)
	}
	if r := got[guid[p+"-1"]]; r.Get("useraccountcontrol") != "546" || r.Get("title") != "Engineer" {
		t.Errorf("disabled user: %+v", r)
	}
	if r, ok := got[guid[p+"-2"]]; !ok || !r.Deleted {
		t.Errorf("deleted user not reported deleted: %+v", r)
	}
	if _, ok := got[guid[p+"-3"]]; ok {
		t.Errorf("unchanged user in the delta")
	}
	upserts := 0
	for _, r := range delta.recs {
		if !r.Deleted {
			upserts++
		}
	}
	if upserts != 2 {
		t.Errorf("%d upserts, want 2 (changes outside the base DN are not ours)", upserts)
	}
	t.Logf("dirsync delta: %d records (%d deletions, domain-wide)", len(delta.recs), len(delta.deleted()))

	again := readFull(t, src, sources.ReadRequest{Attributes: attrs, Cursor: delta.cursor})
	if again.mode != sources.Delta || len(again.recs) > len(again.deleted()) {
		t.Errorf("unchanged: mode %v, records %+v; want a delta without upserts", again.mode, again.recs)
	}

	bad := cursor{Kind: DeltaDirSync, Bases: normBases(cfg.BaseDN), Cookie: []byte("not a dirsync cookie")}
	n := logs.Len()
	res := readFull(t, src, sources.ReadRequest{Attributes: attrs, Cursor: bad.encode()})
	if res.mode != sources.Full || len(res.recs) != 3 || res.cursorKind(t) != DeltaDirSync {
		t.Errorf("refused cookie: mode %v, %d records; want a full read of 3 with a new cursor", res.mode, len(res.recs))
	}
	if logs.Len() == n || !strings.Contains(logs.All()[n].Message, "dirsync delta not possible") {
		t.Errorf("the full read is not explained: %v", logs.All()[n:])
	}
}
