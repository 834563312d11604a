package ldapsource_test

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest"

	"github.com/syncd/syncd/internal/secret"
	"github.com/syncd/syncd/internal/testenv"
	"github.com/syncd/syncd/mapper"
	"github.com/syncd/syncd/reconcile"
	"github.com/syncd/syncd/sink/pingone"
	"github.com/syncd/syncd/sink/pingone/pingonetest"
	"github.com/syncd/syncd/sources"
	"github.com/syncd/syncd/sources/ldapsource"
	"github.com/syncd/syncd/state/sqlitestate"
)

// deltaEnv is the engine with a slapd source, the PingOne emulator and a
// SQLite state store.
type deltaEnv struct {
	emu *pingonetest.Server
	eng *reconcile.Engine
	job *reconcile.Job
}

// slapdSource reads bases of the test slapd as the reader account.
func slapdSource(t testing.TB, srv testenv.LDAPServer, bases []string, logger *zap.Logger) sources.Source {
	t.Helper()
	src, err := ldapsource.New(ldapsource.Config{
		URL: srv.URL, StartTLS: true, TLS: ldapsource.TLSConfig{CAFile: srv.CAFile},
		BindDN: srv.ReaderDN, BindPassword: secret.New(srv.ReaderPassword),
		BaseDN: bases, PageSize: 1000, Timeout: 2 * time.Minute,
	}, logger)
	if err != nil {
		t.Fatal(err)
	}
	return src
}

func newDeltaEnv(t testing.TB, src sources.Source, logger *zap.Logger) *deltaEnv {
	t.Helper()
	emu := pingonetest.NewServer(t, pingonetest.Options{Populations: []string{"Staff"}, SpecFile: pingonetest.SpecPath(t)})
	client, err := pingone.New(pingone.Config{
		APIURL: emu.APIURL(), AuthURL: emu.AuthURL(), EnvironmentID: emu.EnvironmentID(),
		ClientID: emu.ClientID(), ClientSecret: secret.New(emu.ClientSecret()), RateLimit: 5000, Concurrency: 8,
	}, logger)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	st, err := sqlitestate.Open(ctx, filepath.Join(t.TempDir(), "state.db"), sqlitestate.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	m, err := mapper.Compile(mapper.Config{
		Mapping: map[string]string{
			"username": "uid", "email": "mail", "name.given": "givenName", "name.family": "sn", "title": "title",
		},
		Population: mapper.Population{Name: "Staff"},
	})
	if err != nil {
		t.Fatal(err)
	}
	job := &reconcile.Job{Name: "ldap", Source: src, Mapper: m, ConfigDigest: "delta-e2e", FullEvery: 24 * time.Hour}
	job.SetDefaults()
	job.Safety.MaxDisablePercent = 50
	return &deltaEnv{emu: emu, job: job,
		eng: &reconcile.Engine{Store: st, Target: client, Logger: logger, Calls: func() int64 { return client.Stats().Total() }}}
}

// calls summarises the emulator's request log since the last ResetStats:
// "METHOD operation" -> count, token requests left out.
func (e *deltaEnv) calls() map[string]int {
	out := map[string]int{}
	for _, r := range e.emu.Requests() {
		if r.Operation == "token" {
			continue
		}
		out[r.Method+" "+r.Operation]++
	}
	return out
}

func (e *deltaEnv) run(t testing.TB) *reconcile.Report {
	t.Helper()
	e.emu.ResetStats()
	rep, err := e.eng.Run(context.Background(), e.job, reconcile.Options{})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	return rep
}

func modifyAll(t testing.TB, c *ldap.Conn, dns []string, attr, val string) {
	t.Helper()
	for _, dn := range dns {
		m := ldap.NewModifyRequest(dn, nil)
		m.Replace(attr, []string{val})
		if err := c.Modify(m); err != nil {
			t.Fatalf("modify %s: %v", dn, err)
		}
	}
}

func deleteAll(t testing.TB, c *ldap.Conn, dns []string) {
	t.Helper()
	for _, dn := range dns {
		if err := c.Del(ldap.NewDelRequest(dn, nil)); err != nil {
			t.Fatalf("delete %s: %v", dn, err)
		}
	}
}

// checkDeltaCalls checks that the run's requests, every one counted
// (reads too; token requests are the auth server's), are exactly 10
// PATCHes and 2 PUTs (disables): one request per change.
func checkDeltaCalls(t testing.TB, rep *reconcile.Report, calls map[string]int) {
	t.Helper()
	if rep.Mode != "delta" {
		t.Errorf("run mode %q, want delta", rep.Mode)
	}
	// slapd's session log replays deletions from the whole database, not
	// only below the base DN (other tests delete their subtrees): those
	// are read but name no managed user, so they cost nothing.
	if rep.Counts.Records < 12 {
		t.Errorf("delta read %d records, want 12 (plus deletions outside the base)", rep.Counts.Records)
	}
	if rep.Counts.Updated != 10 || rep.Counts.Disabled != 2 {
		t.Errorf("delta run counts %+v, want 10 updated, 2 disabled", rep.Counts)
	}
	var patch, put, other int
	for k, n := range calls {
		switch {
		case strings.HasPrefix(k, http.MethodPatch+" "):
			patch += n
		case strings.HasPrefix(k, http.MethodPut+" "):
			put += n
		default:
			other += n
		}
	}
	if patch != 10 || put != 2 || other != 0 {
		t.Errorf("delta run requests %v: want 10 PATCH + 2 PUT (disable) and no other request, reads included", calls)
	}
}

// TestEngineSyncreplDelta runs the engine over slapd: a full first sync,
// then 10 modifications and 2 deletions make a delta run of exactly 12
// requests, reads included. (The same over 100,000 users is a row of
// make bench: bench/cmd/syncd-bench.)
func TestEngineSyncreplDelta(t *testing.T) {
	t.Parallel()
	srv := testenv.LDAP(t)
	parent := srv.Subtree(t)
	var entries []testenv.LDAPEntry
	for i := range 40 {
		entries = append(entries, testenv.UserEntry(parent, i, map[string][]string{"title": {"Engineer"}}))
	}
	srv.AddEntries(t, entries)
	logger := zaptest.NewLogger(t, zaptest.Level(zap.InfoLevel))
	e := newDeltaEnv(t, slapdSource(t, srv, []string{parent}, logger), logger)

	rep := e.run(t)
	if rep.Mode != "full" || rep.Counts.Created != 40 {
		t.Fatalf("first run: mode %s, counts %+v", rep.Mode, rep.Counts)
	}
	var mod, gone []string
	for i := range 10 {
		mod = append(mod, entries[i].DN)
	}
	gone = []string{entries[10].DN, entries[11].DN}
	c := srv.Conn(t)
	modifyAll(t, c, mod, "title", "Changed")
	deleteAll(t, c, gone)

	rep = e.run(t)
	calls := e.calls()
	checkDeltaCalls(t, rep, calls)
	users := 0
	for _, u := range e.emu.Users() {
		if u["title"] == "Changed" {
			users++
		}
	}
	if users != 10 {
		t.Errorf("%d PingOne users have the new title, want 10", users)
	}

	// Nothing changed since: a delta run that reads nothing and writes
	// nothing.
	rep = e.run(t)
	if rep.Mode != "delta" || rep.Counts.Updated+rep.Counts.Created+rep.Counts.Disabled != 0 || e.emu.Stats().Writes != 0 {
		t.Errorf("unchanged run: mode %s, %d records, %d writes", rep.Mode, rep.Counts.Records, e.emu.Stats().Writes)
	}
}

// TestEngineADUSNDelta runs the engine over Samba AD with the default
// delta method (usn): after a full sync, a modified user is one PATCH, a
// user disabled in AD and a deleted one are one PUT (enabled=false) each.
func TestEngineADUSNDelta(t *testing.T) {
	t.Parallel()
	srv := testenv.AD(t)
	parent := srv.Subtree(t)
	tag := strings.SplitN(parent, ",", 2)[0]
	tag = "t" + tag[strings.LastIndexByte(tag, '-')+1:][:6]
	var users []testenv.LDAPEntry
	for i := range 5 {
		users = append(users, testenv.ADUser(parent, fmt.Sprintf("%s-%d", tag, i), false, map[string][]string{"title": {"Engineer"}}))
	}
	srv.AddEntries(t, users)
	logger := zaptest.NewLogger(t, zaptest.Level(zap.InfoLevel))
	src, err := ldapsource.New(ldapsource.Config{
		URL: srv.LDAPSURL, TLS: ldapsource.TLSConfig{CAFile: srv.CAFile},
		BindDN: srv.BindDN, BindPassword: secret.New(srv.Password),
		BaseDN: []string{parent}, Anchor: "objectGUID", Timeout: time.Minute,
	}, logger)
	if err != nil {
		t.Fatal(err)
	}
	e := newDeltaEnv(t, src, logger)
	e.job.Mapper, err = mapper.Compile(mapper.Config{
		Mapping: map[string]string{
			"username": "sAMAccountName", "email": "mail", "name.given": "givenName", "name.family": "sn", "title": "title",
		},
		Population: mapper.Population{Name: "Staff"},
		Enabled:    "adEnabled(userAccountControl)",
	})
	if err != nil {
		t.Fatal(err)
	}
	rep := e.run(t)
	if rep.Mode != "full" || rep.Counts.Created != 5 {
		t.Fatalf("first run: mode %s, counts %+v", rep.Mode, rep.Counts)
	}
	c := srv.Conn(t)
	modifyAll(t, c, []string{users[0].DN}, "title", "Changed")
	modifyAll(t, c, []string{users[1].DN}, "userAccountControl", "546")
	deleteAll(t, c, []string{users[2].DN})

	rep = e.run(t)
	calls := e.calls()
	var patch, put, other int
	for k, n := range calls {
		switch {
		case strings.HasPrefix(k, http.MethodPatch+" "):
			patch += n
		case strings.HasPrefix(k, http.MethodPut+" "):
			put += n
		case !strings.HasPrefix(k, http.MethodGet+" "):
			other += n
		}
	}
	if rep.Mode != "delta" || rep.Counts.Updated != 1 || rep.Counts.Disabled != 2 || patch != 1 || put != 2 || other != 0 {
		t.Errorf("delta run: mode %s, counts %+v, calls %v; want delta, 1 PATCH, 2 PUT", rep.Mode, rep.Counts, calls)
	}
	t.Logf("AD usn delta run: %d records read (tombstones are domain-wide), calls %v", rep.Counts.Records, calls)
}
