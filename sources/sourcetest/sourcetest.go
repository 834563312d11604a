package sourcetest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/syncd/syncd/sources"
)

// Harness builds sources over generated data for the suite.
type Harness struct {
	// New returns a source whose full read yields exactly n records with
	// anchors Anchor(i) for i in [0,n) and an attribute "mail" = Mail(i)
	// (plus whatever else the source likes), in a stable order. The source
	// must support several reads (Open calls), one after the other.
	New func(t *testing.T, n int) sources.Source
	// Failing returns a source whose read fails after yielding about `after`
	// records of n (connection killed, file truncated or unreadable mid-way).
	// Open must succeed; the failure comes through Next/Err. Nil when the
	// source cannot simulate it: the case is then skipped, saying so.
	Failing func(t *testing.T, n, after int) sources.Source
	// Large is n for the large read (e.g. 10_000 for LDAP, 100_000 for CSV).
	// Zero means 10_000. The case is skipped under -short.
	Large int
}

// Anchor returns the anchor of generated record i. It has the shape of a
// canonical (lower-case) GUID so that harnesses can serve it as entryUUID,
// as a decoded objectGUID, as a uid or as a CSV key; it sorts in i order.
func Anchor(i int) string {
	return fmt.Sprintf("00000000-0000-4000-8000-%012d", i)
}

// Mail returns the "mail" attribute of generated record i.
func Mail(i int) string {
	return fmt.Sprintf("user%d@example.com", i)
}

// smallN is the record count of the ordinary cases: large enough to span a
// few LDAP pages at small page sizes, small enough to keep the suite fast.
const smallN = 57

// Run runs the conformance suite against the sources h builds. Subtests run
// one after the other (harnesses may share a server).
//
// After an explicit Close mid-read, Next must return false from then on; Err
// may be nil (the caller closed the read itself, so it knows the read is
// incomplete) or an error. After a cancellation of the context given to
// Open, the very next call to Next must return false and Err must wrap
// context.Canceled (errors.Is), also after Close. A failing read (Failing)
// must end with Err() != nil and fewer than n records.
func Run(t *testing.T, h Harness) {
	t.Helper()
	if h.New == nil {
		t.Fatal("sourcetest: Harness.New is nil")
	}
	large := h.Large
	if large <= 0 {
		large = 10_000
	}
	t.Run("CompleteRead", func(t *testing.T) { testComplete(t, h, smallN) })
	t.Run("Empty", func(t *testing.T) { testComplete(t, h, 0) })
	t.Run("One", func(t *testing.T) { testComplete(t, h, 1) })
	t.Run("StableOrder", func(t *testing.T) { testStableOrder(t, h) })
	t.Run("RecordStableUntilNext", func(t *testing.T) { testRecordStable(t, h) })
	t.Run("EarlyClose", func(t *testing.T) { testEarlyClose(t, h) })
	t.Run("CloseBeforeNext", func(t *testing.T) { testCloseBeforeNext(t, h) })
	t.Run("CancelMidRead", func(t *testing.T) { testCancelMidRead(t, h) })
	t.Run("CancelBeforeNext", func(t *testing.T) { testCancelBeforeNext(t, h) })
	t.Run("CancelledBeforeOpen", func(t *testing.T) { testCancelledBeforeOpen(t, h) })
	t.Run("ErrorMidStream", func(t *testing.T) { testFailing(t, h) })
	t.Run("Large", func(t *testing.T) {
		if testing.Short() {
			t.Skipf("large read of %d records skipped under -short", large)
		}
		testComplete(t, h, large)
	})
}

// open opens a full read of src with ctx and registers its Close.
func open(t *testing.T, ctx context.Context, src sources.Source) sources.Reader {
	t.Helper()
	r, err := src.Open(ctx, sources.ReadRequest{Full: true})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if r == nil {
		t.Fatal("Open returned a nil Reader and a nil error")
	}
	t.Cleanup(func() { _ = r.Close() })
	return r
}

// clone deep-copies a record, since a Reader may reuse its storage once
// Next is called again.
func clone(rec sources.Record) sources.Record {
	c := rec
	if rec.Attrs != nil {
		c.Attrs = make(map[string][]string, len(rec.Attrs))
		for k, v := range rec.Attrs {
			c.Attrs[k] = slices.Clone(v)
		}
	}
	return c
}

// checkRecord checks the per-record rules: no reject on generated data,
// lower-case attribute names, a non-empty anchor.
func checkRecord(t *testing.T, rec sources.Record) {
	t.Helper()
	if rec.Reject != "" {
		t.Errorf("record %q (pos %q) rejected on valid data: %s", rec.Anchor, rec.Pos, rec.Reject)
	}
	if rec.Anchor == "" {
		t.Errorf("record at pos %q has an empty anchor", rec.Pos)
	}
	if rec.Deleted {
		t.Errorf("record %q marked Deleted in a full read", rec.Anchor)
	}
	for k := range rec.Attrs {
		if k != strings.ToLower(k) {
			t.Errorf("record %q: attribute name %q is not lower case", rec.Anchor, k)
		}
	}
}

// drain reads r to its end, checking every record, and returns the anchors
// in read order plus the mail seen for each anchor.
func drain(t *testing.T, r sources.Reader) (anchors []string, mails map[string]string) {
	t.Helper()
	mails = make(map[string]string)
	for r.Next() {
		rec := r.Record()
		checkRecord(t, rec)
		anchors = append(anchors, rec.Anchor)
		mails[rec.Anchor] = rec.Get("mail")
	}
	return anchors, mails
}

func testComplete(t *testing.T, h Harness, n int) {
	src := h.New(t, n)
	r := open(t, context.Background(), src)
	if m := r.Mode(); m != sources.Full {
		t.Errorf("Mode() = %v, want full", m)
	}
	anchors, mails := drain(t, r)
	if err := r.Err(); err != nil {
		t.Fatalf("Err() after a complete read of %d records = %v, want nil", n, err)
	}
	if r.Next() {
		t.Error("Next() returned true after the end of the read")
	}
	if len(anchors) != n {
		t.Errorf("read %d records, want %d", len(anchors), n)
	}
	seen := make(map[string]int, n)
	for _, a := range anchors {
		seen[a]++
	}
	for i := range n {
		a := Anchor(i)
		switch c := seen[a]; {
		case c == 0:
			t.Errorf("anchor %s (record %d) missing", a, i)
		case c > 1:
			t.Errorf("anchor %s yielded %d times", a, c)
		}
		if c := seen[a]; c > 0 && mails[a] != Mail(i) {
			t.Errorf("anchor %s: mail = %q, want %q", a, mails[a], Mail(i))
		}
		if t.Failed() && i > 20 {
			t.FailNow() // enough noise
		}
	}
	if len(seen) > n {
		t.Errorf("read %d distinct anchors, want %d", len(seen), n)
	}
	_ = r.Cursor() // must not panic
	if err := r.Close(); err != nil {
		t.Errorf("Close after a complete read: %v", err)
	}
	if err := r.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := r.Err(); err != nil {
		t.Errorf("Err() after Close of a complete read = %v, want nil", err)
	}
	if r.Next() {
		t.Error("Next() returned true after Close")
	}
}

func testStableOrder(t *testing.T, h Harness) {
	src := h.New(t, smallN)
	var runs [2][]string
	for i := range runs {
		r := open(t, context.Background(), src)
		runs[i], _ = drain(t, r)
		if err := r.Err(); err != nil {
			t.Fatalf("read %d: Err() = %v", i+1, err)
		}
		if err := r.Close(); err != nil {
			t.Fatalf("read %d: Close: %v", i+1, err)
		}
	}
	if !slices.Equal(runs[0], runs[1]) {
		t.Errorf("two reads of the same data disagree on order:\nfirst:  %v\nsecond: %v", runs[0], runs[1])
	}
}

func testRecordStable(t *testing.T, h Harness) {
	src := h.New(t, smallN)
	r := open(t, context.Background(), src)
	for r.Next() {
		a := clone(r.Record())
		b := r.Record()
		if a.Anchor != b.Anchor || a.DN != b.DN || a.Pos != b.Pos || a.Reject != b.Reject ||
			!maps.EqualFunc(a.Attrs, b.Attrs, slices.Equal) {
			t.Fatalf("two Record() calls without Next disagree:\n%+v\n%+v", a, b)
		}
	}
	if err := r.Err(); err != nil {
		t.Fatalf("Err() = %v", err)
	}
}

func testEarlyClose(t *testing.T, h Harness) {
	src := h.New(t, smallN)
	r := open(t, context.Background(), src)
	got := 0
	for got < smallN/2 && r.Next() {
		got++
	}
	if got != smallN/2 {
		t.Fatalf("read stopped after %d records (Err %v), want at least %d", got, r.Err(), smallN/2)
	}
	if err := r.Close(); err != nil {
		t.Logf("Close mid-read returned %v (allowed)", err)
	}
	for r.Next() {
		got++
		if got > smallN {
			break
		}
	}
	if got != smallN/2 {
		t.Errorf("Next() yielded %d more records after Close, want none", got-smallN/2)
	}
	t.Logf("Err() after Close mid-read = %v", r.Err())
	if err := r.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func testCloseBeforeNext(t *testing.T, h Harness) {
	src := h.New(t, smallN)
	r := open(t, context.Background(), src)
	if err := r.Close(); err != nil {
		t.Errorf("Close before Next: %v", err)
	}
	if r.Next() {
		t.Error("Next() returned true after Close")
	}
	if err := r.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func testCancelMidRead(t *testing.T, h Harness) {
	src := h.New(t, smallN)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := open(t, ctx, src)
	got := 0
	for got < smallN/2 && r.Next() {
		got++
	}
	if got != smallN/2 {
		t.Fatalf("read stopped after %d records (Err %v), want at least %d", got, r.Err(), smallN/2)
	}
	cancel()
	if r.Next() {
		t.Error("Next() returned true after the context was cancelled")
	}
	if err := r.Err(); !errors.Is(err, context.Canceled) {
		t.Errorf("Err() after cancel = %v, want an error wrapping context.Canceled", err)
	}
	if r.Next() {
		t.Error("Next() returned true again after the context was cancelled")
	}
	if err := r.Close(); err != nil {
		t.Logf("Close after cancel returned %v (allowed)", err)
	}
	if err := r.Err(); !errors.Is(err, context.Canceled) {
		t.Errorf("Err() after cancel and Close = %v, want an error wrapping context.Canceled", err)
	}
}

func testCancelBeforeNext(t *testing.T, h Harness) {
	src := h.New(t, smallN)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := open(t, ctx, src)
	cancel()
	if r.Next() {
		t.Error("Next() returned true after the context was cancelled")
	}
	if err := r.Err(); !errors.Is(err, context.Canceled) {
		t.Errorf("Err() after cancel = %v, want an error wrapping context.Canceled", err)
	}
}

// testCancelledBeforeOpen accepts either of the two honest answers: Open
// fails with the cancellation, or the Reader reports it at the first Next.
func testCancelledBeforeOpen(t *testing.T, h Harness) {
	src := h.New(t, smallN)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r, err := src.Open(ctx, sources.ReadRequest{Full: true})
	if err != nil {
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Open with a cancelled context: %v, want an error wrapping context.Canceled", err)
		}
		return
	}
	defer r.Close()
	if r.Next() {
		t.Error("Next() returned true on a read opened with a cancelled context")
	}
	if err := r.Err(); !errors.Is(err, context.Canceled) {
		t.Errorf("Err() = %v, want an error wrapping context.Canceled", err)
	}
}

func testFailing(t *testing.T, h Harness) {
	if h.Failing == nil {
		t.Skip("the harness cannot simulate a read failing mid-stream (Harness.Failing is nil)")
	}
	const n, after = 200, 100
	src := h.Failing(t, n, after)
	r := open(t, context.Background(), src)
	got := 0
	for r.Next() {
		got++
		if got > n {
			t.Fatalf("failing source yielded more than %d records", n)
		}
	}
	err := r.Err()
	if err == nil {
		t.Fatalf("read that fails after about %d of %d records ended with Err() == nil after %d records: a short read looks complete", after, n, got)
	}
	if got >= n {
		t.Errorf("failing read yielded %d records, want fewer than %d", got, n)
	}
	t.Logf("failing read: %d records, then Err() = %v", got, err)
	if r.Next() {
		t.Error("Next() returned true after the read failed")
	}
	if err := r.Close(); err != nil {
		t.Logf("Close after failure returned %v (allowed)", err)
	}
	if r.Err() == nil {
		t.Error("Err() became nil after Close of a failed read")
	}
}
