package sourcetest_test

import (
	"context"
	"fmt"
	"io"
	"testing"

	"github.com/syncd/syncd/sources"
	"github.com/syncd/syncd/sources/sourcetest"
)

// memSource is the smallest source that passes the suite: it keeps the
// suite itself honest (a suite no implementation can pass is useless).
type memSource struct {
	n     int
	after int // fail after this many records; -1 never
}

func (s memSource) Open(ctx context.Context, _ sources.ReadRequest) (sources.Reader, error) {
	return &memReader{ctx: ctx, src: s, attrs: map[string][]string{}}, nil
}

type memReader struct {
	ctx    context.Context
	src    memSource
	i      int
	rec    sources.Record
	attrs  map[string][]string
	err    error
	closed bool
}

func (r *memReader) Mode() sources.Mode { return sources.Full }

func (r *memReader) Next() bool {
	if r.closed || r.err != nil {
		return false
	}
	if err := r.ctx.Err(); err != nil {
		r.err = fmt.Errorf("read memory source: %w", err)
		return false
	}
	if r.src.after >= 0 && r.i == r.src.after {
		r.err = fmt.Errorf("read memory source at record %d: %w", r.i, io.ErrUnexpectedEOF)
		return false
	}
	if r.i >= r.src.n {
		return false
	}
	r.attrs["mail"] = []string{sourcetest.Mail(r.i)}
	r.rec = sources.Record{Anchor: sourcetest.Anchor(r.i), Attrs: r.attrs, Pos: fmt.Sprint("item ", r.i)}
	r.i++
	return true
}

func (r *memReader) Record() sources.Record { return r.rec }
func (r *memReader) Err() error             { return r.err }
func (r *memReader) Cursor() []byte         { return nil }
func (r *memReader) Close() error           { r.closed = true; return nil }

func TestMemSource(t *testing.T) {
	sourcetest.Run(t, sourcetest.Harness{
		New:     func(t *testing.T, n int) sources.Source { return memSource{n: n, after: -1} },
		Failing: func(t *testing.T, n, after int) sources.Source { return memSource{n: n, after: after} },
		Large:   20_000,
	})
}

func TestAnchorMail(t *testing.T) {
	tests := []struct {
		i          int
		anchor, ml string
	}{
		{0, "00000000-0000-4000-8000-000000000000", "user0@example.com"},
		{123456, "00000000-0000-4000-8000-000000123456", "user123456@example.com"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.i), func(t *testing.T) {
			if got := sourcetest.Anchor(tt.i); got != tt.anchor {
				t.Errorf("Anchor(%d) = %q, want %q", tt.i, got, tt.anchor)
			}
			if got := sourcetest.Mail(tt.i); got != tt.ml {
				t.Errorf("Mail(%d) = %q, want %q", tt.i, got, tt.ml)
			}
		})
	}
}
