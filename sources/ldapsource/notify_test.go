package ldapsource

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/syncd/syncd/internal/secret"
	"github.com/syncd/syncd/internal/testenv"
)

// sightings records what change notifications delivered (Source.notified).
type sightings struct {
	mu     sync.Mutex
	events []sighting
}

type sighting struct {
	dn   string
	wake bool
	at   time.Time
}

func (s *sightings) see(e *ldap.Entry, wake bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events = append(s.events, sighting{dn: e.DN, wake: wake, at: time.Now()})
}

// find returns the first sighting whose DN starts with prefix (case
// insensitively), after t.
func (s *sightings) find(prefix string, after time.Time) (sighting, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range s.events {
		if strings.HasPrefix(strings.ToLower(e.dn), strings.ToLower(prefix)) && !e.at.Before(after) {
			return e, true
		}
	}
	return sighting{}, false
}

func (s *sightings) all() []sighting {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]sighting(nil), s.events...)
}

func (n *notes) changesSince(t time.Time) int {
	n.mu.Lock()
	defer n.mu.Unlock()
	k := 0
	for _, c := range n.changes {
		if !c.Before(t) {
			k++
		}
	}
	return k
}

// TestWatchADNotify: on Samba AD, with change notifications and a poll
// interval of 10 minutes (so no poll runs during the test), a user
// disabled and a user deleted in the base DN each wake a run, carried by
// a notification (also one deleted with the OU it was in); a group changed
// or deleted in the base DN, and a user changed or deleted in another OU
// (also with its OU), wake none.
func TestWatchADNotify(t *testing.T) {
	srv := testenv.AD(t)
	for _, method := range []string{DeltaUSN, DeltaDirSync} {
		t.Run(method, func(t *testing.T) {
			t.Parallel() // each waits for Samba's 5 s notification rounds
			parent := srv.Subtree(t)
			other := srv.Subtree(t)
			tag := samPrefix(parent)
			users := []testenv.LDAPEntry{
				testenv.ADUser(parent, tag+"-leaver", false, nil),
				testenv.ADUser(parent, tag+"-gone", false, nil),
				testenv.ADUser(other, tag+"-elsewhere", false, nil),
			}
			group := testenv.LDAPEntry{DN: "CN=" + tag + "-grp," + parent, Attrs: map[string][]string{
				"objectClass": {"group"}, "sAMAccountName": {tag + "-grp"}}}
			// An OU in the base DN and one elsewhere, each with a user, both
			// to be emptied and deleted: a user's tombstone then names its
			// parent by the parent's tombstone.
			team := testenv.LDAPEntry{DN: "OU=team," + parent, Attrs: map[string][]string{"objectClass": {"organizationalUnit"}}}
			gone := testenv.LDAPEntry{DN: "OU=gone," + other, Attrs: map[string][]string{"objectClass": {"organizationalUnit"}}}
			teamer := testenv.ADUser(team.DN, tag+"-teamer", false, nil)
			goner := testenv.ADUser(gone.DN, tag+"-goner", false, nil)
			srv.AddEntries(t, append(users, group, team, gone, teamer, goner))

			seen := &sightings{}
			src := mustNew(t, Config{URL: srv.LDAPSURL, TLS: TLSConfig{CAFile: srv.CAFile}, BindDN: srv.BindDN,
				BindPassword: secret.New(srv.Password), BaseDN: DNList{parent}, Anchor: "objectGUID", Timeout: time.Minute,
				Delta: method, WatchMethod: WatchNotify})
			src.notified = seen.see
			t.Cleanup(func() {
				if t.Failed() {
					for _, e := range seen.all() {
						t.Logf("notified %s wake=%v %q", e.at.Format("15:04:05.000"), e.wake, e.dn)
					}
				}
			})
			n := startWatch(t, src, 10*time.Minute)
			c := srv.Conn(t)
			modify := func(dn, attr, value string) {
				t.Helper()
				m := ldap.NewModifyRequest(dn, nil)
				m.Replace(attr, []string{value})
				if err := c.Modify(m); err != nil {
					t.Fatal(err)
				}
			}
			// Irrelevant changes first, then the user's: by the time the
			// user's notification arrives, the others have arrived too (or
			// never will: the other OU is outside the search).
			at := time.Now()
			modify(group.DN, "description", "not a user")
			modify(users[2].DN, "title", "elsewhere")
			modify(users[0].DN, "userAccountControl", "546") // ACCOUNTDISABLE
			waitFor(t, 60*time.Second, "the disabled user's and the group's notifications", func() bool {
				_, u := seen.find("CN="+tag+"-leaver,", at)
				_, g := seen.find(group.DN, at)
				return u && g
			})
			u, _ := seen.find("CN="+tag+"-leaver,", at)
			t.Logf("disable notified after %s", u.at.Sub(at).Round(time.Millisecond))

			at2 := time.Now()
			for _, dn := range []string{group.DN, users[2].DN, goner.DN, gone.DN, teamer.DN, team.DN, users[1].DN} {
				if err := c.Del(ldap.NewDelRequest(dn, nil)); err != nil {
					t.Fatal(err)
				}
			}
			waitFor(t, 60*time.Second, "the tombstones' notifications", func() bool {
				_, u := seen.find("CN="+tag+"-gone\\0ADEL:", at2)
				_, g := seen.find("CN="+tag+"-grp\\0ADEL:", at2)
				_, e := seen.find("CN="+tag+"-elsewhere\\0ADEL:", at2)
				_, tm := seen.find("CN="+tag+"-teamer\\0ADEL:", at2)
				_, gn := seen.find("CN="+tag+"-goner\\0ADEL:", at2)
				return u && g && e && tm && gn
			})
			d, _ := seen.find("CN="+tag+"-gone\\0ADEL:", at2)
			t.Logf("deletion notified after %s", d.at.Sub(at2).Round(time.Millisecond))

			wakes := 0
			for _, e := range seen.all() {
				if e.at.Before(at) {
					continue
				}
				want := strings.HasPrefix(e.dn, "CN="+tag+"-leaver,") || strings.HasPrefix(e.dn, "CN="+tag+"-gone\\0ADEL:") ||
					strings.HasPrefix(e.dn, "CN="+tag+"-teamer\\0ADEL:")
				if e.wake != want {
					t.Errorf("notification of %q woke a run: %v, want %v", e.dn, e.wake, want)
				}
				if e.wake {
					wakes++
				}
			}
			if wakes < 3 {
				t.Errorf("%d waking notifications, want the disable's and the deletions'", wakes)
			}
			// Every run asked for came from a notification: no poll ran.
			if got := n.changesSince(at); got != wakes {
				t.Errorf("%d changes reported since the first modification, %d waking notifications", got, wakes)
			}
			ups, downs := n.connections()
			if ups != 1 || downs != 0 {
				t.Errorf("connected %d times, disconnected %d times", ups, downs)
			}
		})
	}
}

// TestWatchADNotifyReconnect: on Samba AD, when the watch's connections
// are cut, a user disabled while syncd cannot reconnect is reported once
// it has: by the probe of the cursor after the notification searches are
// registered again (a notification search tells only of later changes).
func TestWatchADNotifyReconnect(t *testing.T) {
	srv := testenv.AD(t)
	parent := srv.Subtree(t)
	tag := samPrefix(parent)
	user := testenv.ADUser(parent, tag+"-away", false, nil)
	srv.AddEntries(t, []testenv.LDAPEntry{user})
	proxy := newCutProxy(t, strings.TrimPrefix(srv.URL, "ldap://"), -1)
	seen := &sightings{}
	src := mustNew(t, Config{URL: proxy.URL(), AllowPlaintext: true, BindDN: srv.BindDN, BindPassword: secret.New(srv.Password),
		BaseDN: DNList{parent}, Anchor: "objectGUID", Timeout: time.Minute, WatchMethod: WatchNotify})
	src.notified = seen.see
	n := startWatch(t, src, 10*time.Minute)

	proxy.hold(true)
	proxy.kill()
	waitFor(t, 60*time.Second, "the watch to see the cut", func() bool { _, downs := n.connections(); return downs > 0 })
	at := time.Now()
	c := srv.Conn(t)
	m := ldap.NewModifyRequest(user.DN, nil)
	m.Replace("userAccountControl", []string{"546"})
	if err := c.Modify(m); err != nil {
		t.Fatal(err)
	}
	proxy.hold(false)
	waitFor(t, 60*time.Second, "the watch to reconnect and report the change made meanwhile", func() bool {
		ups, _ := n.connections()
		return ups > 1 && n.changedSince(at)
	})
	for _, e := range seen.all() {
		if !e.at.Before(at) && e.wake {
			t.Errorf("a notification of %q reported the change made while disconnected: the probe should have", e.dn)
		}
	}
}
