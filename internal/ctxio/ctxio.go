package ctxio

import (
	"context"
	"io"
	"io/fs"
	"os"
	"sync"
	"time"
)

// maxChunk bounds one underlying read, so a caller's large buffer never
// makes the reader hold a large one of its own.
const maxChunk = 256 << 10

// result is one underlying Read's outcome.
type result struct {
	n   int
	err error
}

// ReadCloser wraps an io.ReadCloser so that Read and Close return at once
// when its context ends. It is not safe for concurrent Reads (nor is a file).
type ReadCloser struct {
	ctx  context.Context
	rc   io.ReadCloser
	buf  []byte
	res  chan result
	mu   sync.Mutex
	busy bool // a Read is in flight in the background goroutine
	dead bool // abandoned: the goroutine closes rc when its Read returns
	err  error
}

// NewReadCloser returns rc whose reads honour ctx.
func NewReadCloser(ctx context.Context, rc io.ReadCloser) *ReadCloser {
	return &ReadCloser{ctx: ctx, rc: rc, res: make(chan result, 1)}
}

// Read reads from the underlying reader in a goroutine and returns its
// result, or ctx.Err() as soon as ctx ends (the read is then abandoned, and
// every later Read returns the same error).
func (r *ReadCloser) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	if err := r.ctx.Err(); err != nil {
		r.err = err
		return 0, err
	}
	n := min(len(p), maxChunk)
	if cap(r.buf) < n {
		r.buf = make([]byte, n)
	}
	buf := r.buf[:n]
	r.mu.Lock()
	r.busy = true
	r.mu.Unlock()
	go func() {
		n, err := r.rc.Read(buf)
		r.mu.Lock()
		r.busy = false
		dead := r.dead
		r.mu.Unlock()
		if dead {
			_ = r.rc.Close() // abandoned: nobody reads the result
			return
		}
		r.res <- result{n, err} // buffered: never blocks
	}()
	select {
	case res := <-r.res:
		copy(p, buf[:res.n])
		return res.n, res.err
	case <-r.ctx.Done():
		r.err = r.ctx.Err()
		r.abandon()
		return 0, r.err
	}
}

// abandon leaves the read in flight to its goroutine and unblocks it where
// the file allows (a FIFO or pipe: a past read deadline).
func (r *ReadCloser) abandon() {
	r.mu.Lock()
	r.dead = true
	busy := r.busy
	r.mu.Unlock()
	if !busy {
		_ = r.rc.Close()
		return
	}
	if d, ok := r.rc.(interface{ SetReadDeadline(time.Time) error }); ok {
		_ = d.SetReadDeadline(time.Unix(1, 0))
	}
}

// Close closes the underlying reader, or leaves that to the goroutine of a
// read still in flight: closing a file under a blocked read could block too.
func (r *ReadCloser) Close() error {
	r.mu.Lock()
	if r.dead {
		r.mu.Unlock()
		return nil
	}
	r.dead = true
	busy := r.busy
	r.mu.Unlock()
	if r.err == nil {
		r.err = os.ErrClosed
	}
	if busy {
		return nil
	}
	return r.rc.Close()
}

// Stat returns the underlying file's FileInfo when it has one.
func (r *ReadCloser) Stat() (fs.FileInfo, error) {
	if st, ok := r.rc.(interface{ Stat() (fs.FileInfo, error) }); ok {
		return st.Stat()
	}
	return nil, fs.ErrInvalid
}

// Open runs open in a goroutine and returns its result, or ctx.Err() as
// soon as ctx ends: opening a FIFO blocks until a writer appears. A file
// opened after ctx ended is closed. info, when open's file has Stat, is
// read in the same goroutine (stat on a dead mount blocks too).
func Open(ctx context.Context, open func() (io.ReadCloser, error)) (*ReadCloser, fs.FileInfo, error) {
	type opened struct {
		rc   io.ReadCloser
		info fs.FileInfo
		err  error
	}
	ch := make(chan opened, 1)
	var mu sync.Mutex
	gaveUp := false
	go func() {
		rc, err := open()
		var info fs.FileInfo
		if err == nil {
			if st, ok := rc.(interface{ Stat() (fs.FileInfo, error) }); ok {
				info, _ = st.Stat()
			}
		}
		mu.Lock()
		defer mu.Unlock()
		if gaveUp {
			if err == nil {
				_ = rc.Close()
			}
			return
		}
		ch <- opened{rc, info, err} // buffered: never blocks
	}()
	select {
	case o := <-ch:
		if o.err != nil {
			return nil, nil, o.err
		}
		return NewReadCloser(ctx, o.rc), o.info, nil
	case <-ctx.Done():
		mu.Lock()
		gaveUp = true
		// The goroutine may have sent just before: close that file.
		select {
		case o := <-ch:
			if o.err == nil {
				_ = o.rc.Close()
			}
		default:
		}
		mu.Unlock()
		return nil, nil, ctx.Err()
	}
}
