package daemon_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/syncd/syncd/daemon"
	"github.com/syncd/syncd/sources"
	"github.com/syncd/syncd/state"
)

// fakeWatch is a watched source driven by the test.
type fakeWatch struct {
	notify  chan sources.Notify
	started chan struct{}
}

func newFakeWatch() *fakeWatch {
	return &fakeWatch{notify: make(chan sources.Notify, 1), started: make(chan struct{}, 10)}
}

func (f *fakeWatch) source(ctx context.Context, n sources.Notify) error {
	f.started <- struct{}{}
	select {
	case f.notify <- n:
	default:
	}
	<-ctx.Done()
	return nil
}

// batches records the watch runs.
type batches struct {
	mu  sync.Mutex
	got []daemon.WatchBatch
	err error // returned once, then cleared
}

func (b *batches) run(_ context.Context, _ string, wb daemon.WatchBatch) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.err; err != nil {
		b.err = nil
		return err
	}
	b.got = append(b.got, wb)
	return nil
}

func (b *batches) list() []daemon.WatchBatch {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]daemon.WatchBatch(nil), b.got...)
}

// TestWatchBatchWaitsForTheRunningJob: changes are gathered into one
// batch; while a scheduled run holds the job the batch waits, and when
// another process holds the job (state.ErrLocked) it is retried; it runs
// once, whole, with the time of its first change.
func TestWatchBatchWaitsForTheRunningJob(t *testing.T) {
	release := make(chan struct{})
	running := make(chan struct{}, 1)
	h := start(t, daemon.Options{}, []daemon.Job{{Name: "j", Schedule: "@every 1h", RunAtStart: true}},
		func(ctx context.Context, job string) error {
			running <- struct{}{}
			<-release
			return nil
		})
	<-running // the scheduled run holds the job
	fw, b := newFakeWatch(), &batches{err: state.ErrLocked}
	if err := h.d.Watch([]daemon.Watch{{Job: "j", Source: fw.source, Debounce: 50 * time.Millisecond, StaleAfter: time.Hour}}, b.run); err != nil {
		t.Fatal(err)
	}
	n := <-fw.notify
	n.Connected(true, nil)
	first := time.Now()
	for i := range 3 {
		n.Changed(first.Add(time.Duration(i) * time.Millisecond))
	}
	if got := b.list(); len(got) != 0 {
		t.Fatalf("a batch ran while the scheduled run held the job: %+v", got)
	}
	close(release)
	waitFor(t, 30*time.Second, "the batch to run after the scheduled run and a locked attempt", func() bool { return len(b.list()) == 1 })
	got := b.list()[0]
	if got.Changes != 3 || !got.First.Equal(first) {
		t.Errorf("batch %+v, want 3 changes from %s", got, first)
	}
	if len(b.list()) != 1 {
		t.Errorf("%d batches, want 1", len(b.list()))
	}
}

// fakeLease is held by "other" until freed.
type fakeLease struct {
	mu     sync.Mutex
	holder string
}

func (l *fakeLease) AcquireLease(_ context.Context, _, holder string, _ time.Duration) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.holder == "" || l.holder == holder {
		l.holder = holder
		return true, nil
	}
	return false, nil
}

func (l *fakeLease) ReleaseLease(_ context.Context, _, holder string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.holder == holder {
		l.holder = ""
	}
	return nil
}

// TestWatchReadiness: a watch disconnected longer than StaleAfter makes
// /readyz fail, naming the job, until it reconnects; a standby that does
// not hold the watch's lease does not watch and is ready.
func TestWatchReadiness(t *testing.T) {
	h := start(t, daemon.Options{Listen: "127.0.0.1:0", ReadyCache: -1}, []daemon.Job{{Name: "a", Schedule: "@every 1h"}, {Name: "b", Schedule: "@every 1h"}},
		func(context.Context, string) error { return nil })
	readyz := func() (int, string) {
		resp, err := http.Get("http://" + h.d.Addr().String() + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	active, standby := newFakeWatch(), newFakeWatch()
	lease := &fakeLease{holder: "the other replica"}
	b := &batches{}
	err := h.d.Watch([]daemon.Watch{
		{Job: "a", Source: active.source, StaleAfter: 100 * time.Millisecond},
		{Job: "b", Source: standby.source, StaleAfter: 100 * time.Millisecond, Lease: lease, Holder: "me"},
	}, b.run)
	if err != nil {
		t.Fatal(err)
	}
	n := <-active.notify
	waitFor(t, 10*time.Second, "/readyz to fail while watch a never connected", func() bool {
		code, body := readyz()
		return code == 503 && strings.Contains(body, "watch of job a disconnected")
	})
	n.Connected(true, nil)
	if code, body := readyz(); code != 200 {
		t.Fatalf("/readyz %d %q with watch a connected and b on standby", code, body)
	}
	n.Connected(false, errors.New("connection reset"))
	waitFor(t, 10*time.Second, "/readyz to fail again", func() bool { code, _ := readyz(); return code == 503 })
	n.Connected(true, nil)
	select {
	case <-standby.started:
		t.Fatal("the standby watches without the lease")
	default:
	}
}
