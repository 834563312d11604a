package csvsource

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"go.uber.org/zap"

	"github.com/syncd/syncd/internal/ctxio"
	"github.com/syncd/syncd/sources"
)

// fingerprint identifies the content of the file a read parsed. The cursor
// is its text form, "csv1 <size> <mtime-unix-nano> <sha256-hex>", so a
// person reading the state database can make sense of it.
type fingerprint struct {
	Size  int64
	MTime int64 // with size and hash: a file rewritten with the same bytes is read again
	Sum   [sha256.Size]byte
}

const cursorVersion = "csv1"

func (f fingerprint) encode() []byte {
	return fmt.Appendf(nil, "%s %d %d %s", cursorVersion, f.Size, f.MTime, hex.EncodeToString(f.Sum[:]))
}

func parseFingerprint(b []byte) (fingerprint, error) {
	var f fingerprint
	parts := strings.Fields(string(b))
	if len(parts) != 4 || parts[0] != cursorVersion {
		return f, fmt.Errorf("not a %s cursor", cursorVersion)
	}
	var err error
	if f.Size, err = strconv.ParseInt(parts[1], 10, 64); err != nil {
		return f, fmt.Errorf("size: %w", err)
	}
	if f.MTime, err = strconv.ParseInt(parts[2], 10, 64); err != nil {
		return f, fmt.Errorf("mtime: %w", err)
	}
	sum, err := hex.DecodeString(parts[3])
	if err != nil || len(sum) != sha256.Size {
		return f, errors.New("malformed sha256")
	}
	copy(f.Sum[:], sum)
	return f, nil
}

// unchanged reports whether the file still has the fingerprint in cursor,
// returning its current fingerprint. A cursor it cannot parse, or a file it
// cannot read, is "changed": the full read that follows reports any error.
// Only a cancelled context is an error here.
func (s *Source) unchanged(ctx context.Context, cursor []byte) (fingerprint, bool, error) {
	want, err := parseFingerprint(cursor)
	if err != nil {
		s.logger.Debug("csv cursor unusable, full read", zap.Error(err))
		return fingerprint{}, false, nil
	}
	f, info, err := ctxio.Open(ctx, func() (io.ReadCloser, error) { return s.open(s.cfg.Path) })
	if err != nil {
		if ctx.Err() != nil {
			return fingerprint{}, false, fmt.Errorf("open csv %s: compare with cursor: %w", s.cfg.Path, ctx.Err())
		}
		return fingerprint{}, false, nil
	}
	defer f.Close()
	var got fingerprint
	if info != nil {
		if info.Size() != want.Size || info.ModTime().UnixNano() != want.MTime {
			return fingerprint{}, false, nil // cheap checks first: no hashing
		}
		got.MTime = info.ModTime().UnixNano()
	}
	// Never hash more than the fingerprint's size: a stream that does not
	// end (/dev/zero) is simply "changed".
	in := io.LimitReader(f, want.Size+1)
	h := sha256.New()
	buf := make([]byte, bufSize)
	for {
		if err := ctx.Err(); err != nil {
			return fingerprint{}, false, fmt.Errorf("open csv %s: compare with cursor: %w", s.cfg.Path, err)
		}
		n, err := in.Read(buf)
		h.Write(buf[:n])
		got.Size += int64(n)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fingerprint{}, false, nil
		}
	}
	h.Sum(got.Sum[:0])
	return got, got.Size == want.Size && got.Sum == want.Sum, nil
}

// deltaReader is the read of an unchanged file: a delta with no changes.
type deltaReader struct {
	ctx    context.Context
	cursor []byte
	err    error
	done   bool
}

// Mode is Delta: nothing changed since the cursor.
func (d *deltaReader) Mode() sources.Mode { return sources.Delta }

// Next returns false: there are no changes. A cancelled context is still
// reported, as for any read.
func (d *deltaReader) Next() bool {
	if !d.done {
		d.done = true
		if err := d.ctx.Err(); err != nil {
			d.err = fmt.Errorf("read csv: %w", err)
		}
	}
	return false
}

// Record returns the zero Record: there is never a current record.
func (d *deltaReader) Record() sources.Record { return sources.Record{} }

// Err reports a cancellation seen by Next, else nil.
func (d *deltaReader) Err() error { return d.err }

// Cursor returns the file's current fingerprint.
func (d *deltaReader) Cursor() []byte {
	if d.err != nil {
		return nil
	}
	return d.cursor
}

// Close does nothing: the file was closed in Open.
func (d *deltaReader) Close() error { d.done = true; return nil }
