package csvsource

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/syncd/syncd/sources"
)

func intp(n int) *int { return &n }

// readAll reads every record of path with cfg and returns the rows read
// and the error that ended the read.
func readCapped(t *testing.T, cfg Config) (int, error) {
	t.Helper()
	s, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.Open(context.Background(), sources.ReadRequest{Full: true})
	if err != nil {
		return 0, err
	}
	defer r.Close()
	n := 0
	for r.Next() {
		n++
	}
	return n, r.Err()
}

func writeCapped(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "in.csv")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRecordAndFieldSizeCaps(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 3000)
	tests := []struct {
		name      string
		body      string
		line, fld *int
		rows      int
		err       string
	}{
		{"within the caps", "id,name\n1,abc\n2," + long + "\n", intp(3010), intp(3000), 2, ""},
		{"record at the cap exactly", "id,n\n1,abc\n", intp(6), nil, 1, ""},
		{"record one over the cap", "id,n\n1,abcd\n", intp(6), nil, 0, "line 2: a record of 7 bytes, longer than max_line_bytes (6)"},
		{"record over the cap", "id,name\n1,abc\n2," + long + "\n3,z\n", intp(1000), nil, 1, "line 3: a record of 3003 bytes, longer than max_line_bytes (1000)"},
		{"field over the cap", "id,name\n1,abc\n2," + long + "\n", nil, intp(100), 1, "line 3: field 2 is 3000 bytes, longer than max_field_bytes (100)"},
		{"header over the cap", "id," + long + "\n1,2\n", intp(100), nil, 0, "header: a record of 3004 bytes"},
		{"endless quoted field", "id,name\n1,\"" + strings.Repeat("a\n", 400000) + "\"\n", intp(1000), nil, 0, "after line 1: a record longer than max_line_bytes (1000 bytes)"},
		{"no line break at all", "id,name\n" + strings.Repeat("z", 800000), intp(1000), nil, 0, "after line 1: a record longer than max_line_bytes (1000 bytes)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			n, err := readCapped(t, Config{Path: writeCapped(t, tt.body), Key: "id", MaxLineBytes: tt.line, MaxFieldBytes: tt.fld})
			if tt.err == "" {
				if err != nil || n != tt.rows {
					t.Fatalf("rows %d err %v, want %d rows", n, err, tt.rows)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.err) || !errors.Is(err, errTooLong) {
				t.Fatalf("err = %v, want %q", err, tt.err)
			}
			if n != tt.rows {
				t.Errorf("%d rows before the error, want %d", n, tt.rows)
			}
		})
	}
	for _, bad := range []int{0, -1} {
		if err := (Config{Path: "p", Key: "k", MaxLineBytes: intp(bad), MaxFieldBytes: intp(bad)}).Validate(); err == nil ||
			!strings.Contains(err.Error(), "max_line_bytes: want at least 1") || !strings.Contains(err.Error(), "max_field_bytes: want at least 1") {
			t.Errorf("cap %d: %v", bad, err)
		}
	}
}

// TestDevZeroFailsAtTheDefaultCap: a stream with no line break ends the
// read with an error after about a MiB, holding no more.
func TestDevZeroFailsAtTheDefaultCap(t *testing.T) {
	t.Parallel()
	_, err := readCapped(t, Config{Path: "/dev/zero", Key: "id"})
	if err == nil || !strings.Contains(err.Error(), "longer than max_line_bytes (1048576 bytes)") {
		t.Fatalf("err = %v", err)
	}
}

// TestFIFOReadEndsWithTheContext: a CSV path that is a FIFO nobody writes
// to blocks the open; cancelling the context ends it. A writer that stalls
// after the header blocks the read; cancelling ends that too.
func TestFIFOReadEndsWithTheContext(t *testing.T) {
	t.Parallel()
	p := filepath.Join(t.TempDir(), "fifo.csv")
	if err := syscall.Mkfifo(p, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{Path: p, Key: "id"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := s.Open(ctx, sources.ReadRequest{Full: true})
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("the open returned with no writer: %v", err)
	case <-time.After(50 * time.Millisecond): // blocked in open(2), as it should
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("open: err = %v, want context.Canceled", err)
	}
	// Release the abandoned open.
	if w, err := os.OpenFile(p, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
		w.Close()
	}

	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	wch := make(chan *os.File, 1)
	go func() {
		w, err := os.OpenFile(p, os.O_WRONLY, 0)
		if err != nil {
			close(wch)
			return
		}
		_, _ = w.WriteString("id,name\n1,a\n")
		wch <- w // stays open: the reader waits for more
	}()
	r, err := s.Open(ctx, sources.ReadRequest{Full: true})
	if err != nil {
		t.Fatal(err)
	}
	if w := <-wch; w != nil {
		defer w.Close()
	}
	next := make(chan bool, 1)
	go func() {
		ok := r.Next()
		for ok {
			ok = r.Next()
		}
		next <- ok
	}()
	select {
	case <-next:
		t.Fatalf("the read ended before the writer did: %v", r.Err())
	case <-time.After(50 * time.Millisecond):
	}
	cancel()
	<-next
	if !errors.Is(r.Err(), context.Canceled) {
		t.Fatalf("read: err = %v, want context.Canceled", r.Err())
	}
	r.Close()
}
