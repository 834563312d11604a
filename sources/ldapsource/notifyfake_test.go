package ldapsource

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
	"github.com/jimlambrt/gldap"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

// fakeNotifyAD is an in-process server that looks like Active Directory
// and answers change notification searches the way a real AD may and
// Samba will not: refusing them all (refuse != 0), or refusing a subtree
// below the domain's root with unwillingToPerform (Windows 2000 DCs). Accepted
// notification searches of the domain root are held open and deliver
// what the test pushes.
type fakeNotifyAD struct {
	refuse  int // result code for every notification search (0: accept)
	deleted int // result code for CN=Deleted Objects' (0: accept)
	notifys atomic.Int32
	push    chan fakeEntry
	root    chan struct{} // closed once the root's notification search is held

	mu    sync.Mutex
	bases []string // notification searches: "base scope"
}

const fakeNC = "DC=corp,DC=example"

func (f *fakeNotifyAD) start(t *testing.T) string {
	t.Helper()
	f.push = make(chan fakeEntry)
	f.root = make(chan struct{})
	done := make(chan struct{})
	var once sync.Once
	url := serveFake(t, func(w *gldap.ResponseWriter, r *gldap.Request) {
		m, err := r.GetSearchMessage()
		if err != nil {
			return
		}
		if m.BaseDN == "" {
			e := r.NewSearchResponseEntry("")
			e.AddAttribute("supportedControl", []string{oidNotification, oidShowDeleted, "1.2.840.113556.1.4.319"})
			e.AddAttribute("supportedCapabilities", []string{oidADCapability})
			e.AddAttribute("highestCommittedUSN", []string{"1000"})
			e.AddAttribute("dsServiceName", []string{"CN=NTDS Settings,CN=DC1,CN=Servers,CN=Site,CN=Sites,CN=Configuration," + fakeNC})
			e.AddAttribute("defaultNamingContext", []string{fakeNC})
			_ = w.Write(e)
			_ = w.Write(r.NewSearchDoneResponse(gldap.WithResponseCode(gldap.ResultSuccess)))
			return
		}
		notify := false
		for _, c := range m.Controls {
			if c.GetControlType() == oidNotification {
				notify = true
			}
		}
		if !notify {
			_ = w.Write(r.NewSearchDoneResponse(gldap.WithResponseCode(gldap.ResultSuccess)))
			return
		}
		f.notifys.Add(1)
		f.mu.Lock()
		f.bases = append(f.bases, m.BaseDN+" "+map[gldap.Scope]string{gldap.BaseObject: "base", gldap.SingleLevel: "one", gldap.WholeSubtree: "sub"}[m.Scope])
		f.mu.Unlock()
		isRoot := strings.EqualFold(m.BaseDN, fakeNC)
		switch {
		case f.deleted != 0 && strings.HasPrefix(m.BaseDN, "CN=Deleted Objects,"):
			_ = w.Write(r.NewSearchDoneResponse(gldap.WithResponseCode(f.deleted)))
			return
		case f.refuse != 0:
			_ = w.Write(r.NewSearchDoneResponse(gldap.WithResponseCode(f.refuse), gldap.WithDiagnosticMessage("no notifications for you")))
			return
		case m.Scope == gldap.WholeSubtree && !isRoot:
			_ = w.Write(r.NewSearchDoneResponse(gldap.WithResponseCode(gldap.ResultUnwillingToPerform),
				gldap.WithDiagnosticMessage("00002088: ERROR_DS_SUBTREE_NOTIFY_NOT_NC_HEAD")))
			return
		case !isRoot:
			<-done
			return
		}
		once.Do(func() { close(f.root) })
		for {
			select {
			case <-done:
				return
			case e := <-f.push:
				re := r.NewSearchResponseEntry(e.dn)
				for _, a := range e.attrs {
					re.AddAttribute(a[0].(string), a[1].([]string))
				}
				_ = w.Write(re)
			}
		}
	})
	t.Cleanup(func() { close(done) })
	return url
}

func (f *fakeNotifyAD) searches() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.bases...)
}

// watchFake runs src.Watch with cursor until the test ends.
func watchFake(t *testing.T, src *Source, interval time.Duration, cursor func(context.Context) ([]byte, error)) *notes {
	t.Helper()
	n := &notes{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- src.Watch(ctx, WatchOptions{Interval: interval, MaxBackoff: 100 * time.Millisecond, Cursor: cursor}, n)
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Watch: %v", err)
		}
	})
	return n
}

func countLogs(logs *observer.ObservedLogs, msg string) int {
	return logs.FilterMessageSnippet(msg).Len()
}

// TestWatchNotifyRefused: a server that refuses the notification control
// (any of the codes AD uses to say no) is polled every watch_interval
// instead, said once in the log, and never asked again after a
// reconnect; with watch_method notify the watch fails instead.
func TestWatchNotifyRefused(t *testing.T) {
	for _, code := range []int{gldap.ResultUnavailableCriticalExtension, gldap.ResultInsufficientAccessRights,
		gldap.ResultUnwillingToPerform, gldap.ResultAdminLimitExceeded} {
		t.Run(ldap.LDAPResultCodeMap[uint16(code)], func(t *testing.T) {
			t.Parallel()
			f := &fakeNotifyAD{refuse: code}
			cfg := fakeConfig(f.start(t))
			core, logs := observer.New(zap.InfoLevel)
			src, err := New(cfg, zap.New(core))
			if err != nil {
				t.Fatal(err)
			}
			// The cursor: none (a probe asks for one run), then a failure
			// on the third read that makes the watch reconnect.
			var reads atomic.Int32
			n := watchFake(t, src, 20*time.Millisecond, func(context.Context) ([]byte, error) {
				if reads.Add(1) == 3 {
					return nil, errors.New("state unreachable")
				}
				return nil, nil
			})
			waitFor(t, 30*time.Second, "polls after a reconnect", func() bool {
				ups, downs := n.connections()
				return downs > 0 && ups >= 2 && reads.Load() > 5
			})
			// The first connection's only: the base DN's and CN=Deleted
			// Objects' (and for unwillingToPerform, which AD also answers
			// to a subtree below the domain's root, the root's).
			max := int32(2)
			if code == gldap.ResultUnwillingToPerform {
				max = 3
			}
			if got := f.notifys.Load(); got == 0 || got > max {
				t.Errorf("%d notification searches %q, want at most %d, all before the reconnect", got, f.searches(), max)
			}
			if got := countLogs(logs, "refuses change notifications: polling"); got != 1 {
				t.Errorf("the refusal was logged %d times, want once", got)
			}
		})
	}
	t.Run("watch_method notify", func(t *testing.T) {
		t.Parallel()
		f := &fakeNotifyAD{refuse: gldap.ResultUnavailableCriticalExtension}
		cfg := fakeConfig(f.start(t))
		cfg.WatchMethod = WatchNotify
		n := watchFake(t, mustNew(t, cfg), 20*time.Millisecond, func(context.Context) ([]byte, error) { return nil, nil })
		waitFor(t, 30*time.Second, "the watch to fail twice", func() bool { _, downs := n.connections(); return downs >= 2 })
		n.mu.Lock()
		err := n.lastErr
		n.mu.Unlock()
		var re *notifyRefusedError
		if !errors.As(err, &re) || !ldap.IsErrorWithCode(err, ldap.LDAPResultUnavailableCriticalExtension) {
			t.Errorf("disconnected with %v, want the refusal", err)
		}
		if got := f.notifys.Load(); got < 2 {
			t.Errorf("%d notification searches: notify mode should ask again at each reconnect", got)
		}
	})
}

// TestWatchNotifyWidensToDomainRoot: a server that refuses a subtree
// notification search below the domain's root (Windows 2000 DCs) is watched at
// the root; what arrives from outside the base DN, or cannot be a user,
// wakes no run; a user in the base DN, or a user's tombstone whose last
// parent was the base DN, does.
func TestWatchNotifyWidensToDomainRoot(t *testing.T) {
	t.Parallel()
	f := &fakeNotifyAD{}
	cfg := fakeConfig(f.start(t))
	core, logs := observer.New(zap.InfoLevel)
	src, err := New(cfg, zap.New(core))
	if err != nil {
		t.Fatal(err)
	}
	seen := &sightings{}
	src.notified = seen.see
	n := watchFake(t, src, time.Hour, func(context.Context) ([]byte, error) { return nil, nil })
	select {
	case <-f.root:
	case <-time.After(30 * time.Second):
		t.Fatalf("no notification search of the domain root; searches: %q", f.searches())
	}
	waitFor(t, 30*time.Second, "the watch to listen", func() bool { ups, _ := n.connections(); return ups > 0 })
	before := n.changesSince(time.Time{}) // the probe without a cursor asks for one run
	userClasses := [2]any{"objectClass", []string{"top", "person", "organizationalPerson", "user"}}
	person := [2]any{"objectCategory", []string{"CN=Person,CN=Schema,CN=Configuration," + fakeNC}}
	pushed := []struct {
		e    fakeEntry
		wake bool
	}{
		{fakeEntry{"CN=Ann,OU=Staff," + fakeNC, [][2]any{userClasses, person}}, true},
		{fakeEntry{"CN=Bob,OU=Elsewhere," + fakeNC, [][2]any{userClasses, person}}, false},
		{fakeEntry{"CN=Staff,OU=Groups,OU=Staff," + fakeNC, [][2]any{{"objectClass", []string{"top", "group"}},
			{"objectCategory", []string{"CN=Group,CN=Schema,CN=Configuration," + fakeNC}}}}, false},
		{fakeEntry{"CN=PC1,OU=Staff," + fakeNC, [][2]any{{"objectClass", []string{"top", "person", "organizationalPerson", "user", "computer"}},
			{"objectCategory", []string{"CN=Computer,CN=Schema,CN=Configuration," + fakeNC}}}}, false},
		{fakeEntry{`CN=Cid\0ADEL:5f0c1a2b-0000-4000-8000-000000000001,CN=Deleted Objects,` + fakeNC, [][2]any{userClasses,
			{"isDeleted", []string{"TRUE"}}, {"lastKnownParent", []string{"OU=Team,OU=Staff," + fakeNC}}}}, true},
		{fakeEntry{`CN=Dan\0ADEL:5f0c1a2b-0000-4000-8000-000000000002,CN=Deleted Objects,` + fakeNC, [][2]any{userClasses,
			{"isDeleted", []string{"TRUE"}}, {"lastKnownParent", []string{"OU=Elsewhere," + fakeNC}}}}, false},
	}
	for _, p := range pushed {
		f.push <- p.e
	}
	waitFor(t, 30*time.Second, "every pushed entry to be seen", func() bool { return len(seen.all()) == len(pushed) })
	wakes := 0
	for i, s := range seen.all() {
		if s.dn != pushed[i].e.dn || s.wake != pushed[i].wake {
			t.Errorf("notification %d: %q woke %v, want %q %v", i, s.dn, s.wake, pushed[i].e.dn, pushed[i].wake)
		}
		if pushed[i].wake {
			wakes++
		}
	}
	if got := n.changesSince(time.Time{}) - before; got != wakes {
		t.Errorf("%d runs asked for, want %d", got, wakes)
	}
	if countLogs(logs, "watching the domain's root") != 1 {
		t.Errorf("the widening was not logged once")
	}
	count := map[string]int{}
	for _, b := range f.searches() {
		count[b]++
	}
	want := map[string]int{"OU=Staff," + fakeNC + " sub": 1, "CN=Deleted Objects," + fakeNC + " one": 1, fakeNC + " sub": 1}
	for b, k := range count {
		// CN=Deleted Objects' search may be cut before it is sent.
		if k > want[b] || want[b] == 1 && k == 0 && !strings.HasPrefix(b, "CN=Deleted") {
			t.Errorf("notification searches %v, want the base DN's subtree (refused) and CN=Deleted Objects', then the root's: %v", count, want)
		}
	}
	if count[fakeNC+" sub"] != 1 || count["OU=Staff,"+fakeNC+" sub"] != 1 {
		t.Errorf("notification searches %v, want the base DN's subtree (refused), then the root's", count)
	}
}

// TestNotifyWakes: which notified entries wake a run, by scope and filter.
func TestNotifyWakes(t *testing.T) {
	t.Parallel()
	const base = "OU=Staff," + fakeNC
	user := func(dn string, extra ...[2]any) *ldap.Entry {
		attrs := map[string][]string{"objectClass": {"top", "person", "organizationalPerson", "user"},
			"objectCategory": {"CN=Person,CN=Schema,CN=Configuration," + fakeNC}}
		for _, a := range extra {
			attrs[a[0].(string)] = a[1].([]string)
		}
		return ldap.NewEntry(dn, attrs)
	}
	tomb := func(name, parent string) *ldap.Entry {
		attrs := map[string][]string{"objectClass": {"top", "person", "organizationalPerson", "user"}, "isDeleted": {"TRUE"}}
		if parent != "" {
			attrs["lastKnownParent"] = []string{parent}
		}
		return ldap.NewEntry(`CN=`+name+`\0ADEL:5f0c1a2b-0000-4000-8000-000000000001,CN=Deleted Objects,`+fakeNC, attrs)
	}
	tests := []struct {
		name, scope, filter string
		e                   *ldap.Entry
		want                bool
	}{
		{"user in base", "sub", "", user("CN=Ann,OU=Team," + base), true},
		{"the base itself", "sub", "", ldap.NewEntry(base, map[string][]string{"objectClass": {"top", "organizationalUnit"}}), false},
		{"user elsewhere", "sub", "", user("CN=Ann,OU=Other," + fakeNC), false},
		{"user below base, scope one", "one", "", user("CN=Ann,OU=Team," + base), false},
		{"user in base, scope one", "one", "", user("CN=Ann," + base), true},
		{"disabled user, filter excludes disabled", "sub", "(&(objectCategory=person)(objectClass=user)(!(userAccountControl:1.2.840.113556.1.4.803:=2)))",
			user("CN=Ann,"+base, [2]any{"userAccountControl", []string{"514"}}), true},
		{"user not in the group the filter names", "sub", "(&(objectClass=user)(memberOf=CN=Sync,OU=Groups," + fakeNC + "))", user("CN=Ann," + base), true},
		{"filter not evaluated offline", "sub", "(memberOf:1.2.840.113556.1.4.1941:=CN=Sync," + fakeNC + ")",
			ldap.NewEntry("CN=G,"+base, map[string][]string{"objectClass": {"group"}}), true},
		{"tombstone from base", "sub", "", tomb("Ann", "OU=Team,"+base), true},
		{"tombstone from elsewhere", "sub", "", tomb("Ann", "OU=Other,"+fakeNC), false},
		{"tombstone from below base, scope one", "one", "", tomb("Ann", "OU=Team,"+base), false},
		{"tombstone from base, scope one", "one", "", tomb("Ann", base), true},
		{"tombstone of the base object, scope base", "base", "", tomb("Staff", fakeNC), true},
		{"tombstone without parent", "sub", "", tomb("Ann", ""), true},
		{"tombstone of a tree delete", "sub", "", tomb("Ann", `OU=Team\0ADEL:5f0c1a2b-0000-4000-8000-000000000009,CN=Deleted Objects,`+fakeNC), true},
		{"group tombstone from base", "sub", "", ldap.NewEntry(`CN=G\0ADEL:x,CN=Deleted Objects,`+fakeNC,
			map[string][]string{"objectClass": {"top", "group"}, "isDeleted": {"TRUE"}, "lastKnownParent": {base}}), false},
	}
	for _, tt := range tests {
		cfg := fakeConfig("ldap://127.0.0.1:1")
		cfg.Scope, cfg.Filter = tt.scope, tt.filter
		if tt.scope == "base" {
			cfg.BaseDN = DNList{base}
		}
		src := mustNew(t, cfg)
		st := newWatchState(src.cfg.Filter)
		bases := []*ldap.DN{}
		for _, b := range src.cfg.BaseDN {
			d, _ := ldap.ParseDN(b)
			bases = append(bases, d)
		}
		if got := src.wakes(tt.e, bases, st.filter, nil); got != tt.want {
			t.Errorf("%s: wakes = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestWatchNotifyWithoutTombstones: a server that will not watch CN=Deleted
// Objects (here: no such object) leaves the watch listening to the base
// DN, said once in the log.
func TestWatchNotifyWithoutTombstones(t *testing.T) {
	t.Parallel()
	f := &fakeNotifyAD{deleted: gldap.ResultNoSuchObject}
	cfg := fakeConfig(f.start(t))
	cfg.Scope = "one" // accepted below the root by this server
	core, logs := observer.New(zap.InfoLevel)
	src, err := New(cfg, zap.New(core))
	if err != nil {
		t.Fatal(err)
	}
	n := watchFake(t, src, time.Hour, func(context.Context) ([]byte, error) { return nil, nil })
	waitFor(t, 30*time.Second, "the tombstones' search to be given up", func() bool {
		return countLogs(logs, "will not watch CN=Deleted Objects") > 0
	})
	waitFor(t, 30*time.Second, "the watch to listen", func() bool { ups, _ := n.connections(); return ups > 0 })
	if ups, downs := n.connections(); ups != 1 || downs != 0 {
		t.Errorf("connected %d times, disconnected %d times; want one connection that stays", ups, downs)
	}
	if got := countLogs(logs, "refuses change notifications"); got != 0 {
		t.Errorf("the watch fell back to polling")
	}
}
