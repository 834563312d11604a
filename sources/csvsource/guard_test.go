package csvsource

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/syncd/syncd/sources"
)

const fiveRows = "id,name\n1,a\n2,b\n3,c\n4,d\n5,e\n"

// openRead opens a full read of src and reads n records (all when n < 0).
func openRead(t *testing.T, src *Source, n int) sources.Reader {
	t.Helper()
	r, err := src.Open(context.Background(), sources.ReadRequest{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	for i := 0; n < 0 || i < n; i++ {
		if !r.Next() {
			break
		}
	}
	return r
}

func drain(r sources.Reader) error {
	for r.Next() {
	}
	return r.Err()
}

// TestFileWrittenDuringTheReadIsIncomplete: an export appended to, or
// replaced by a rename, while it is read ends the read with an error.
func TestFileWrittenDuringTheReadIsIncomplete(t *testing.T) {
	t.Parallel()
	t.Run("appended", func(t *testing.T) {
		path := writeFile(t, fiveRows)
		src, _ := New(Config{Path: path, Key: "id"}, nil)
		r := openRead(t, src, 2)
		f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = f.WriteString("6,f\n")
		f.Close()
		var ce *ChangedError
		if err := drain(r); !errors.As(err, &ce) || ce.Before.Size != int64(len(fiveRows)) || ce.After.Size != int64(len(fiveRows))+4 {
			t.Fatalf("Err() = %v, want a *ChangedError naming both sizes", err)
		}
		if r.Cursor() != nil {
			t.Error("a changed read returned a cursor")
		}
	})
	t.Run("replaced by a file of the same size and time", func(t *testing.T) {
		path := writeFile(t, fiveRows)
		src, _ := New(Config{Path: path, Key: "id"}, nil)
		fi, _ := os.Stat(path)
		r := openRead(t, src, 2)
		tmp := filepath.Join(filepath.Dir(path), "new.csv")
		if err := os.WriteFile(tmp, []byte(strings.Replace(fiveRows, "5,e", "9,z", 1)), 0o600); err != nil {
			t.Fatal(err)
		}
		_ = os.Chtimes(tmp, fi.ModTime(), fi.ModTime())
		if err := os.Rename(tmp, path); err != nil {
			t.Fatal(err)
		}
		var ce *ChangedError
		if err := drain(r); !errors.As(err, &ce) || ce.Before.Ino == ce.After.Ino {
			t.Fatalf("Err() = %v, want a *ChangedError with two inodes", err)
		}
	})
	t.Run("untouched", func(t *testing.T) {
		path := writeFile(t, fiveRows)
		src, _ := New(Config{Path: path, Key: "id"}, nil)
		r := openRead(t, src, -1)
		if r.Err() != nil || r.Cursor() == nil {
			t.Fatalf("Err() = %v, cursor %q", r.Err(), r.Cursor())
		}
	})
}

// TestRecheckBeforeTheFirstDisable: a complete read whose file changes
// afterwards says so when rechecked (the engine asks before disabling).
func TestRecheckBeforeTheFirstDisable(t *testing.T) {
	t.Parallel()
	path := writeFile(t, fiveRows)
	src, _ := New(Config{Path: path, Key: "id"}, nil)
	r := openRead(t, src, -1)
	if r.Err() != nil {
		t.Fatal(r.Err())
	}
	rc, ok := r.(sources.Rechecker)
	if !ok {
		t.Fatal("the CSV reader is not a sources.Rechecker")
	}
	if err := rc.Recheck(context.Background()); err != nil {
		t.Fatalf("Recheck of an untouched file = %v", err)
	}
	if err := os.WriteFile(path, []byte(fiveRows[:len(fiveRows)-4]), 0o600); err != nil {
		t.Fatal(err)
	}
	var ce *ChangedError
	if err := rc.Recheck(context.Background()); !errors.As(err, &ce) || !strings.Contains(err.Error(), "before the first disable") {
		t.Fatalf("Recheck after a rewrite = %v, want a *ChangedError", err)
	}
	_ = os.Remove(path)
	if err := rc.Recheck(context.Background()); !errors.As(err, &ce) {
		t.Fatalf("Recheck of a removed file = %v, want a *ChangedError", err)
	}
}

func TestSettle(t *testing.T) {
	t.Parallel()
	t.Run("a young file is waited for", func(t *testing.T) {
		path := writeFile(t, fiveRows)
		src, _ := New(Config{Path: path, Key: "id", Settle: time.Hour}, nil)
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		_, err := src.Open(ctx, sources.ReadRequest{})
		if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "settle") {
			t.Fatalf("Open = %v, want a wait for the file to settle, cut by the deadline", err)
		}
	})
	t.Run("an old file is read at once", func(t *testing.T) {
		path := writeFile(t, fiveRows)
		old := time.Now().Add(-2 * time.Hour)
		_ = os.Chtimes(path, old, old)
		src, _ := New(Config{Path: path, Key: "id", Settle: time.Hour}, nil)
		if err := drain(openRead(t, src, 0)); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("a file that settles while waited for", func(t *testing.T) {
		path := writeFile(t, fiveRows)
		src, _ := New(Config{Path: path, Key: "id", Settle: time.Hour}, nil)
		fi, _ := os.Stat(path)
		calls := 0
		src.now = func() time.Time { // the second look finds it an hour old
			calls++
			if calls == 1 {
				return fi.ModTime().Add(59*time.Minute + 59*time.Second + 999*time.Millisecond)
			}
			return fi.ModTime().Add(time.Hour)
		}
		if err := drain(openRead(t, src, 0)); err != nil || calls != 2 {
			t.Fatalf("Err() = %v after %d looks, want a read after 2", err, calls)
		}
	})
}

func TestMinRecords(t *testing.T) {
	t.Parallel()
	path := writeFile(t, fiveRows+"bad,row,extra\n")
	for _, tt := range []struct {
		min     int
		wantErr bool
	}{{0, false}, {6, false}, {7, true}} {
		src, _ := New(Config{Path: path, Key: "id", MinRecords: tt.min}, nil)
		err := drain(openRead(t, src, 0))
		var te *TooFewError
		if tt.wantErr != errors.As(err, &te) {
			t.Errorf("min_records %d: Err() = %v", tt.min, err)
		}
		if tt.wantErr && te.Rows != 6 {
			t.Errorf("min_records %d: %d rows counted, want 6 (the reject included)", tt.min, te.Rows)
		}
	}
}

// TestUnchangedShortcutComparesMTime: the same bytes written again are
// read again (the README promises size, time and content).
func TestUnchangedShortcutComparesMTime(t *testing.T) {
	t.Parallel()
	path := writeFile(t, fiveRows)
	src, _ := New(Config{Path: path, Key: "id"}, nil)
	r := openRead(t, src, -1)
	cur := r.Cursor()
	r2, err := src.Open(context.Background(), sources.ReadRequest{Cursor: cur})
	if err != nil || r2.Mode() != sources.Delta {
		t.Fatalf("unchanged file: mode %v, err %v; want a delta", r2.Mode(), err)
	}
	later := time.Now().Add(time.Minute)
	_ = os.Chtimes(path, later, later)
	r3, err := src.Open(context.Background(), sources.ReadRequest{Cursor: cur})
	if err != nil || r3.Mode() != sources.Full {
		t.Fatalf("same bytes, new mtime: mode %v, err %v; want a full read", r3.Mode(), err)
	}
	r3.Close()
}

// TestEncodingNames: every name golang.org/x/text knows is accepted, and
// iso-8859-1 stays Latin-1 (WHATWG would read it as windows-1252).
func TestEncodingNames(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"windows-1250", "cp1250", "ISO-8859-2", "latin2", "iso_8859-2:1987", "windows-1252", "shift_jis", "UTF-16LE", "koi8-r", "UTF-8", "utf8", ""} {
		if _, err := lookupEncoding(name); err != nil {
			t.Errorf("lookupEncoding(%q) = %v", name, err)
		}
	}
	for _, name := range []string{"x", "utf-9", "latin99"} {
		if _, err := lookupEncoding(name); err == nil {
			t.Errorf("lookupEncoding(%q) accepted an unknown name", name)
		}
	}
	e, _ := lookupEncoding("iso-8859-1")
	got, _ := e.NewDecoder().String("\x80")
	if got != "\u0080" {
		t.Errorf("iso-8859-1 decodes 0x80 as %q, want U+0080 (Latin-1, not windows-1252)", got)
	}
}
