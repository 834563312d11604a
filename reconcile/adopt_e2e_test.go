package reconcile_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/syncd/syncd/reconcile"
	"github.com/syncd/syncd/sink/pingone"
	"github.com/syncd/syncd/sources"
	"github.com/syncd/syncd/state"
)

// A first run against an environment of several pages (the emulator's
// 200 a page): the listing streams, and a match found on the last page
// still beats one found on the first under a lower rule, two users with
// one email on different pages still make email ambiguous, and a username
// held by a user carrying another externalId is still a conflict.
func TestFirstRunOverAMultiPageEnvironment(t *testing.T) {
	backends(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend)
		e.job.Match = []string{reconcile.MatchExternalID, reconcile.MatchUsername, reconcile.MatchEmail}
		staff := map[string]any{"id": e.emu.PopulationID("Staff")}
		add := func(u map[string]any) string {
			u["population"] = staff
			id, err := e.emu.AddUser(u)
			if err != nil {
				t.Fatal(err)
			}
			return id
		}
		// Page 1: a user matching id-a by email only, one of id-b's two
		// email matches, and the holder of user.c's username.
		byMail := add(map[string]any{"username": "mail.a", "email": "a@example.com"})
		add(map[string]any{"username": "mail.b1", "email": "b@example.com"})
		add(map[string]any{"username": "user.c", "email": "other@example.com", "externalId": "someone-else"})
		for i := range 400 {
			add(map[string]any{"username": fmt.Sprintf("filler.%03d", i), "email": fmt.Sprintf("f%d@example.com", i)})
		}
		// Page 3: id-a's externalId match, id-b's second email match.
		byExt := add(map[string]any{"username": "old.a", "email": "old@example.com", "externalId": "id-a"})
		add(map[string]any{"username": "mail.b2", "email": "b@example.com"})

		e.rec.take()
		rep := e.mustRun(reconcile.Options{})
		listings := 0
		for _, c := range e.rec.take() {
			if c.Method == http.MethodGet && strings.HasSuffix(c.Path, "/users") {
				listings++
			}
		}
		if listings != 3 {
			t.Errorf("%d listing pages, want 3 (405 users, 200 a page)", listings)
		}
		if rep.Counts.Adopted != 1 || rep.Counts.Created != 7 || rep.Counts.Conflicts != 2 {
			t.Errorf("counts %+v, want 1 adopted, 7 created, 2 conflicts", rep.Counts)
		}
		us := e.users()
		if us["id-a"]["id"] != byExt || us["id-a"]["username"] != "user.a" {
			t.Errorf("id-a = %v, want %s (externalId before email) renamed user.a", us["id-a"]["id"], byExt)
		}
		if u, _ := e.emu.User(byMail); u["externalId"] != nil {
			t.Errorf("the email match was taken: %v", u)
		}
		for _, a := range []string{"id-b", "id-c"} {
			if _, ok := us[a]; ok {
				t.Errorf("%s was created or adopted despite its conflict", a)
			}
		}
		// The conflicts are recorded, with their reasons, for later runs.
		whys := map[string]string{}
		err := e.store.CheckpointsFor(context.Background(), e.job.Name, []string{"id-b", "id-c"}, func(cp state.Checkpoint) error {
			if cp.Status == state.StatusConflict {
				whys[cp.Anchor] = cp.LastError
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if w := whys["id-b"]; w != "match rule email is ambiguous: 2 PingOne users match" {
			t.Errorf("id-b conflict %q", w)
		}
		if w := whys["id-c"]; !strings.Contains(w, `matched by username carries externalId "someone-else" of another record`) {
			t.Errorf("id-c conflict %q", w)
		}
	})
}

// A lost state database costs the listing, not a read per user: a first
// run whose every user already holds what its record wants adopts them
// all with the listing's pages alone — no user read by id, no write — and
// a user edited by hand costs exactly one read by id and the one PATCH
// that puts it back.
func TestLostDatabaseReadsByIDOnlyWhatDiffers(t *testing.T) {
	backends(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend)
		e.mustRun(reconcile.Options{}) // creates the 10 users
		ids := map[string]string{}
		for a, u := range e.users() {
			ids[a] = u["id"].(string)
		}
		lose := func() {
			e.store = openStore(t, backend)
			e.eng.Store = e.store
		}
		byID := func(cs []call) (reads, listings int) {
			for _, c := range cs {
				switch {
				case c.Method != http.MethodGet:
				case strings.HasSuffix(c.Path, "/users"):
					listings++
				case strings.Contains(c.Path, "/users/"):
					reads++
				}
			}
			return reads, listings
		}

		lose()
		e.rec.take()
		rep := e.mustRun(reconcile.Options{})
		cs := e.rec.take()
		if reads, listings := byID(cs); reads != 0 || listings != 1 {
			t.Errorf("adopting 10 unchanged users read %d users by id and %d listing pages, want 0 and 1", reads, listings)
		}
		if w := writes(cs); len(w) != 0 {
			t.Errorf("adopting unchanged users wrote %v", w)
		}
		if rep.Counts.Adopted != 10 {
			t.Errorf("counts %+v, want 10 adopted", rep.Counts)
		}

		lose()
		if err := e.emu.EditUser(ids["id-c"], map[string]any{"title": "Edited By Hand"}); err != nil {
			t.Fatal(err)
		}
		rep = e.mustRun(reconcile.Options{})
		cs = e.rec.take()
		if reads, _ := byID(cs); reads != 1 {
			t.Errorf("%d users read by id, want 1 (the one edited by hand)", reads)
		}
		w := writes(cs)
		if len(w) != 1 || w[0].Method != http.MethodPatch || !strings.HasSuffix(w[0].Path, "/users/"+ids["id-c"]) || !strings.Contains(w[0].Body, "Engineer") {
			t.Errorf("writes %v, want one PATCH of id-c's title", w)
		}
		if rep.Counts.Adopted != 10 || e.users()["id-c"]["title"] != "Engineer" {
			t.Errorf("counts %+v, id-c %v", rep.Counts, e.users()["id-c"])
		}
	})
}

// orderLog records, in order, the whole-environment listings a target
// makes and the reads a source opens.
type orderLog struct {
	mu     sync.Mutex
	events []string
}

func (l *orderLog) take() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	evs := strings.Join(l.events, ",")
	l.events = nil
	return evs
}

func (l *orderLog) add(ev string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, ev)
}

type listingTarget struct {
	reconcile.Target
	log *orderLog
}

func (t listingTarget) FindUsers(ctx context.Context, f pingone.Filter, fn func(pingone.User) error) error {
	if f.IsZero() {
		t.log.add("list")
	}
	return t.Target.FindUsers(ctx, f, fn)
}

type openingSource struct {
	sources.Source
	log *orderLog
}

func (s openingSource) Open(ctx context.Context, req sources.ReadRequest) (sources.Reader, error) {
	s.log.add("read")
	return s.Source.Open(ctx, req)
}

// A job without checkpoints lists the environment once, before its source
// is read — so that the listing's garbage is never collected beside the
// records (a 1M-user environment's first run peaks at ~420 MiB rather
// than ~890) — and a job with checkpoints lists nothing.
func TestFirstRunListsBeforeTheRead(t *testing.T) {
	e := newEnv(t, "sqlite")
	log := &orderLog{}
	e.eng.Target = listingTarget{Target: e.eng.Target, log: log}
	e.job.Source = openingSource{Source: e.job.Source, log: log}
	e.mustRun(reconcile.Options{DryRun: true})
	if got := log.take(); got != "list,read" {
		t.Errorf("first run: %s, want list,read", got)
	}
	e.mustRun(reconcile.Options{}) // creates the users: checkpoints
	log.take()
	e.mustRun(reconcile.Options{ForceFull: true})
	if got := log.take(); got != "read" {
		t.Errorf("a run with checkpoints: %s, want read (no listing)", got)
	}
}
