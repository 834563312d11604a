package ctxio

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestReadsLikeTheUnderlyingReader(t *testing.T) {
	t.Parallel()
	want := strings.Repeat("0123456789", 100000)
	r := NewReadCloser(context.Background(), io.NopCloser(strings.NewReader(want)))
	got, err := io.ReadAll(r)
	if err != nil || string(got) != want {
		t.Fatalf("read %d bytes, err %v", len(got), err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
}

// fifo makes a named pipe nobody writes to.
func fifo(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(p, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestOpenOfAFIFOWithoutWriterEndsWithTheContext(t *testing.T) {
	t.Parallel()
	p := fifo(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, _, err := Open(ctx, func() (io.ReadCloser, error) { return os.Open(p) })
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("the open returned with no writer: %v", err)
	case <-time.After(50 * time.Millisecond): // blocked in open(2), as it should
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	// Let the abandoned open complete, so the goroutine closes its file.
	w, err := os.OpenFile(p, os.O_WRONLY|syscall.O_NONBLOCK, 0)
	if err == nil {
		w.Close()
	}
}

func TestReadStuckOnAFIFOEndsWithTheContext(t *testing.T) {
	t.Parallel()
	p := fifo(t)
	// A writer that opens the pipe and then writes nothing.
	wch := make(chan *os.File, 1)
	go func() {
		w, err := os.OpenFile(p, os.O_WRONLY, 0)
		if err != nil {
			close(wch)
			return
		}
		wch <- w
	}()
	ctx, cancel := context.WithCancel(context.Background())
	r, _, err := Open(ctx, func() (io.ReadCloser, error) { return os.Open(p) })
	if err != nil {
		t.Fatal(err)
	}
	w := <-wch
	if w != nil {
		defer w.Close()
	}
	done := make(chan error, 1)
	go func() {
		_, err := r.Read(make([]byte, 10))
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("the read returned before anything was written: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if _, err := r.Read(make([]byte, 1)); !errors.Is(err, context.Canceled) {
		t.Errorf("a read after cancellation: %v", err)
	}
	if err := r.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
}
