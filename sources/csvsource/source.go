package csvsource

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"errors"
	"fmt"
	"hash"
	"hash/maphash"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"go.uber.org/zap"
	"golang.org/x/text/encoding"

	"github.com/syncd/syncd/internal/ctxio"
	"github.com/syncd/syncd/sources"
)

var _ sources.Source = (*Source)(nil)

// bufSize is the read buffer: large enough that encoding/csv reuses it
// rather than wrapping the file in its own 4 KiB buffer.
const bufSize = 64 << 10

// utf8BOM is the byte order mark some tools (Excel) write at the start of a
// UTF-8 file.
var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// Source reads one configured CSV file. It is safe for concurrent use; each
// Open is an independent read.
type Source struct {
	cfg     Config
	enc     encoding.Encoding // nil for UTF-8
	delim   rune
	comment rune
	logger  *zap.Logger
	// open opens the file; tests replace it to inject readers that fail
	// mid-way. The returned value may implement Stat() (fs.FileInfo, error)
	// (an *os.File does) so the cursor can record the modification time.
	open func(path string) (io.ReadCloser, error)
	// now is the clock settle is measured with.
	now func() time.Time
}

// New validates cfg and returns a Source for it. A nil logger logs nothing.
// The file is not touched until Open.
func New(cfg Config, logger *zap.Logger) (*Source, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("csv source: %w", err)
	}
	enc, _ := lookupEncoding(cfg.Encoding) // validated above
	if logger == nil {
		logger = zap.NewNop()
	}
	return &Source{
		cfg:     cfg,
		enc:     enc,
		delim:   cfg.delimiter(),
		comment: cfg.comment(),
		logger:  logger.With(zap.String("source", "csv"), zap.String("path", cfg.Path)),
		open:    func(path string) (io.ReadCloser, error) { return os.Open(path) },
		now:     time.Now,
	}, nil
}

// Open starts a read of the file. It opens the file and reads the header,
// so a missing or unreadable file, an empty file, or a header without the
// key column fail here.
//
// When req.Cursor is a fingerprint returned by an earlier read, req.Full is
// false and the file is byte-for-byte unchanged, Open returns a Delta read
// with no records (the rows are not parsed). Otherwise it returns a Full
// read.
//
// When req.Attributes is not empty, records carry only those columns plus
// the key column, and only those are checked for valid UTF-8: a stray byte
// in a column the mapping does not use rejects nothing.
func (s *Source) Open(ctx context.Context, req sources.ReadRequest) (sources.Reader, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("open csv %s: %w", s.cfg.Path, err)
	}
	if !req.Full && len(req.Cursor) > 0 {
		fp, ok, err := s.unchanged(ctx, req.Cursor)
		if err != nil {
			return nil, err
		}
		if ok {
			s.logger.Debug("csv file unchanged since cursor, empty delta read")
			return &deltaReader{ctx: ctx, cursor: fp.encode()}, nil
		}
	}
	return s.openFull(ctx, req.Attributes, !req.AnchorsChecked)
}

// openFull opens the file and reads its header. When attrs is not empty,
// records carry only those columns (plus the key column). With checkKeys,
// a key seen on an earlier line is rejected (the index costs ~40 bytes a
// row).
func (s *Source) openFull(ctx context.Context, attrs []string, checkKeys bool) (*reader, error) {
	if err := s.waitSettled(ctx); err != nil {
		return nil, err
	}
	// The open, and every read after it, returns when ctx ends: a FIFO
	// nobody writes to or a dead mount must not outlive SIGTERM.
	isFile := false
	f, info, err := ctxio.Open(ctx, func() (io.ReadCloser, error) {
		rc, err := s.open(s.cfg.Path)
		_, isFile = rc.(*os.File)
		return rc, err
	})
	if err != nil {
		return nil, fmt.Errorf("open csv file: %w", err)
	}
	maxLine := s.cfg.maxLine()
	guard := &sizeGuard{r: f, limit: int64(maxLine) + guardSlack, maxLine: maxLine}
	r := &reader{
		ctx:      ctx,
		done:     ctx.Done(),
		path:     s.cfg.Path,
		logger:   s.logger,
		f:        f,
		guard:    guard,
		hr:       &hashingReader{r: guard, h: sha256.New()},
		maxLine:  int64(maxLine),
		maxField: s.cfg.maxField(),
		sep:      s.cfg.MultiValueSeparator,
		checkUT:  s.enc == nil,
		seed1:    maphash.MakeSeed(),
		seed2:    maphash.MakeSeed(),
		min:      s.cfg.MinRecords,
	}
	if checkKeys {
		r.seen = make(map[[2]uint64]int)
	}
	if info != nil {
		r.mtime = info.ModTime().UnixNano()
		if isFile {
			st := statOf(info)
			r.stat = &st
		}
	}
	if err := r.start(s, attrs); err != nil {
		_ = f.Close()
		return nil, err
	}
	return r, nil
}

// reader is one full read of the file.
type reader struct {
	ctx    context.Context
	done   <-chan struct{}
	path   string
	logger *zap.Logger

	f     io.ReadCloser
	guard *sizeGuard
	hr    *hashingReader
	// maxLine and maxField are the size caps (Config.MaxLineBytes,
	// MaxFieldBytes); offset is the input offset after the last record.
	maxLine  int64
	maxField int
	offset   int64
	lastLine int
	cr       *csv.Reader
	mtime    int64
	stat     *fileStat // the opened file's identity (guard.go); nil: unknown
	min      int       // min_records
	sep      string
	checkUT  bool // check cells are valid UTF-8 (only when decoding is not done by a charmap)

	header []string   // lower-case attribute names, one per column
	keyCol int        // index of the key column
	keep   []bool     // per column: part of the records (ReadRequest.Attributes)
	vals   [][]string // per-column value slices, reused row after row
	attrs  map[string][]string
	rec    sources.Record

	// seen maps a 128-bit hash of each key (two independent 64-bit maphash
	// values: a false duplicate needs both to collide, ~1e-27 for 1M rows)
	// to the line it was first seen on. Hashes, not keys, keep the index
	// at about 50 bytes a row instead of a copy of every key on top.
	seen         map[[2]uint64]int
	seed1, seed2 maphash.Seed

	quoteErrLine int // line of a malformed quoted field read just before; 0 if none

	rows, rejects int
	finished      bool // Next will return false from now on
	closed        bool
	err           error
	cursor        []byte
}

// start sets up decoding and reads the header row.
func (r *reader) start(s *Source, attrs []string) error {
	br := bufio.NewReaderSize(r.hr, bufSize)
	var in io.Reader = br
	if s.enc == nil {
		head, err := br.Peek(len(utf8BOM))
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("read csv %s: %w", r.path, err)
		}
		if bytes.Equal(head, utf8BOM) {
			_, _ = br.Discard(len(utf8BOM))
		}
	} else {
		in = bufio.NewReaderSize(s.enc.NewDecoder().Reader(br), bufSize)
	}
	r.cr = csv.NewReader(in)
	r.cr.Comma = s.delim
	r.cr.Comment = s.comment
	r.cr.FieldsPerRecord = -1 // the field-count check is ours: a reject, not an error
	r.cr.LazyQuotes = false
	r.cr.ReuseRecord = true

	fields, err := r.cr.Read()
	switch {
	case errors.Is(err, io.EOF):
		return fmt.Errorf("read csv %s: empty file, no header row", r.path)
	case err != nil:
		return fmt.Errorf("read csv %s: header: %w", r.path, err)
	}
	if err := r.checkSize(fields); err != nil {
		return fmt.Errorf("read csv %s: header: %w", r.path, err)
	}
	line, _ := r.cr.FieldPos(0)
	r.lastLine = line
	r.header = make([]string, len(fields))
	r.keyCol = -1
	index := make(map[string]int, len(fields))
	for i, f := range fields {
		if !utf8.ValidString(f) {
			return fmt.Errorf("read csv %s: header (line %d): column %d name is not valid UTF-8 (wrong encoding?)", r.path, line, i+1)
		}
		name := strings.ToLower(strings.TrimSpace(f))
		if name == "" {
			return fmt.Errorf("read csv %s: header (line %d): column %d has no name", r.path, line, i+1)
		}
		if j, dup := index[name]; dup {
			return fmt.Errorf("read csv %s: header (line %d): columns %d and %d are both named %q", r.path, line, j+1, i+1, name)
		}
		index[name] = i
		r.header[i] = name
	}
	key := strings.ToLower(strings.TrimSpace(s.cfg.Key))
	var ok bool
	if r.keyCol, ok = index[key]; !ok {
		return fmt.Errorf("read csv %s: key column %q not in the header (line %d): %q", r.path, s.cfg.Key, line, r.header)
	}
	r.keep = make([]bool, len(r.header))
	for i := range r.keep {
		r.keep[i] = len(attrs) == 0 || i == r.keyCol
	}
	for _, a := range attrs {
		if i, ok := index[strings.ToLower(a)]; ok {
			r.keep[i] = true
		}
	}
	r.vals = make([][]string, len(r.header))
	r.attrs = make(map[string][]string, len(r.header))
	return nil
}

// Mode is Full: a reader is only returned for a full read.
func (r *reader) Mode() sources.Mode { return sources.Full }

// Next advances to the next row. A malformed row yields a record with
// Reject set; an I/O error, a cancelled context, or a quoted field still
// open at end of file ends the read with Err set.
//
// encoding/csv reports a quoted field cut by the end of the file with the
// same error as a stray quote (`"a"b`), so a malformed quoted field on the
// very last row also ends the read with an error: a possibly truncated
// file must not pass for a complete one.
func (r *reader) Next() bool {
	if r.finished {
		return false
	}
	select {
	case <-r.done:
		r.fail(fmt.Errorf("read csv %s: %w", r.path, r.ctx.Err()))
		return false
	default:
	}
	fields, err := r.cr.Read()
	if errors.Is(err, io.EOF) {
		if r.quoteErrLine > 0 {
			// encoding/csv reports a quoted field cut by the end of the
			// file like any malformed quote; at the very end it means the
			// file may be truncated, so the read must not look complete.
			r.fail(fmt.Errorf("read csv %s: line %d: quoted field not closed before end of file (truncated file?): %w",
				r.path, r.quoteErrLine, io.ErrUnexpectedEOF))
			return false
		}
		r.complete()
		return false
	}
	r.quoteErrLine = 0
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) && (errors.Is(pe.Err, csv.ErrQuote) || errors.Is(pe.Err, csv.ErrBareQuote)) {
			// encoding/csv resumes at the next line: reject this one.
			if errors.Is(pe.Err, csv.ErrQuote) {
				r.quoteErrLine = pe.StartLine
			}
			r.reject(pe.StartLine, "", fmt.Sprintf("malformed CSV at column %d of line %d: %v", pe.Column, pe.Line, pe.Err))
			return true
		}
		if errors.Is(err, errTooLong) {
			r.fail(fmt.Errorf("read csv %s: after line %d: %w", r.path, r.lastLine, err))
			return false
		}
		r.fail(fmt.Errorf("read csv %s: %w", r.path, err))
		return false
	}
	line, _ := r.cr.FieldPos(0)
	if err := r.checkSize(fields); err != nil {
		r.fail(fmt.Errorf("read csv %s: line %d: %w", r.path, line, err))
		return false
	}
	r.lastLine = line
	r.row(fields, line)
	return true
}

// guardSlack is how far the guard lets the bytes read since the last
// record run past maxLine: what the buffers above it read ahead. The exact
// check is checkSize's.
const guardSlack = 4 * bufSize

// errTooLong marks a record or field over its cap.
var errTooLong = errors.New("size cap exceeded")

// checkSize fails a record longer than max_line_bytes or with a field
// longer than max_field_bytes, and lets the guard count afresh.
func (r *reader) checkSize(fields []string) error {
	off := r.cr.InputOffset()
	n := off - r.offset
	r.offset = off
	r.guard.reset()
	if n > r.maxLine {
		return fmt.Errorf("a record of %d bytes, longer than max_line_bytes (%d): %w", n, r.maxLine, errTooLong)
	}
	for i, f := range fields {
		if len(f) > r.maxField {
			return fmt.Errorf("field %d is %d bytes, longer than max_field_bytes (%d): %w", i+1, len(f), r.maxField, errTooLong)
		}
	}
	return nil
}

// sizeGuard fails the read when more than limit bytes pass without a
// record ending (reset): a file with no line break (/dev/zero) or one
// endless quoted field would otherwise grow encoding/csv's buffers until
// the process dies.
type sizeGuard struct {
	r       io.Reader
	n       int64
	limit   int64
	maxLine int
}

func (g *sizeGuard) reset() { g.n = 0 }

func (g *sizeGuard) Read(p []byte) (int, error) {
	if g.n > g.limit {
		return 0, g.tooLong()
	}
	n, err := g.r.Read(p)
	g.n += int64(n)
	if g.n > g.limit {
		return n, g.tooLong()
	}
	return n, err
}

func (g *sizeGuard) tooLong() error {
	return fmt.Errorf("a record longer than max_line_bytes (%d bytes): not a CSV export (check source.csv.path), or raise max_line_bytes: %w", g.maxLine, errTooLong)
}

// row turns one parsed row into the current record (or a reject).
func (r *reader) row(fields []string, line int) {
	if len(fields) != len(r.header) {
		r.reject(line, "", fmt.Sprintf("%d fields, the header has %d", len(fields), len(r.header)))
		return
	}
	anchor := strings.TrimSpace(fields[r.keyCol])
	if anchor == "" {
		r.reject(line, "", fmt.Sprintf("empty key column %q", r.header[r.keyCol]))
		return
	}
	if r.checkUT {
		for i, f := range fields {
			if r.keep[i] && !utf8.ValidString(f) {
				if i == r.keyCol {
					r.reject(line, "", fmt.Sprintf("key column %q is not valid UTF-8 (wrong encoding?)", r.header[i]))
					return
				}
				r.markSeen(anchor, line)
				r.reject(line, anchor, fmt.Sprintf("column %q is not valid UTF-8 (wrong encoding?)", r.header[i]))
				return
			}
		}
	}
	if first, dup := r.markSeen(anchor, line); dup {
		r.reject(line, anchor, fmt.Sprintf("duplicate key %q, first seen on line %d", anchor, first))
		return
	}
	for i, name := range r.header {
		if !r.keep[i] {
			continue
		}
		v := r.vals[i][:0]
		cell := fields[i]
		if r.sep == "" || i == r.keyCol { // the key is one identity, never split
			if cell != "" {
				v = append(v, cell)
			}
		} else {
			for cell != "" {
				part, rest, _ := strings.Cut(cell, r.sep)
				if part = strings.TrimSpace(part); part != "" {
					v = append(v, part)
				}
				cell = rest
			}
		}
		r.vals[i] = v
		if len(v) == 0 {
			delete(r.attrs, name)
		} else {
			r.attrs[name] = v
		}
	}
	r.rows++
	r.rec = sources.Record{Anchor: anchor, Attrs: r.attrs, Pos: pos(line)}
}

// markSeen records the key's first line, reporting that line and true when
// the key was seen before.
func (r *reader) markSeen(anchor string, line int) (int, bool) {
	if r.seen == nil {
		return 0, false // the caller checks keys itself
	}
	k := [2]uint64{maphash.String(r.seed1, anchor), maphash.String(r.seed2, anchor)}
	if first, ok := r.seen[k]; ok {
		return first, true
	}
	r.seen[k] = line
	return 0, false
}

func (r *reader) reject(line int, anchor, why string) {
	r.rejects++
	r.rec = sources.Record{Anchor: anchor, Pos: pos(line), Reject: why}
}

// pos formats "line N" with a single allocation.
func pos(line int) string {
	var buf [32]byte
	return string(strconv.AppendInt(append(buf[:0], "line "...), int64(line), 10))
}

// complete ends a successful read: the cursor fingerprints exactly the
// bytes that were parsed.
func (r *reader) complete() {
	if err := r.checkStat("during the read"); err != nil {
		r.fail(err)
		return
	}
	if r.stat != nil && r.hr.n != r.stat.Size {
		r.fail(&ChangedError{Path: r.path, When: fmt.Sprintf("during the read (%d bytes read)", r.hr.n), Before: *r.stat, After: *r.stat})
		return
	}
	if n := r.rows + r.rejects; n < r.min {
		r.fail(&TooFewError{Path: r.path, Rows: n, Min: r.min})
		return
	}
	r.finished = true
	fp := fingerprint{Size: r.hr.n, MTime: r.mtime}
	r.hr.h.Sum(fp.Sum[:0])
	r.cursor = fp.encode()
	r.rec = sources.Record{}
	r.logger.Debug("csv read complete", zap.Int("rows", r.rows), zap.Int("rejects", r.rejects), zap.Int64("bytes", r.hr.n))
	r.release()
}

// fail ends the read with err.
func (r *reader) fail(err error) {
	r.finished = true
	r.err = err
	r.rec = sources.Record{}
	r.release()
}

// release closes the file early (end of read) and drops the key index.
func (r *reader) release() {
	r.seen = nil
	if !r.closed {
		r.closed = true
		_ = r.f.Close() // read-only file: nothing to lose on close
	}
}

// Record returns the current record; it is valid until the next Next
// (attribute slices and the map are reused row after row).
func (r *reader) Record() sources.Record { return r.rec }

// Err returns the error that ended the read early, nil after a complete
// read or after an explicit Close.
func (r *reader) Err() error { return r.err }

// Cursor returns the file's fingerprint after a complete read, else nil.
func (r *reader) Cursor() []byte {
	if r.err != nil {
		return nil
	}
	return r.cursor
}

// Close ends the read and closes the file. It is safe to call more than
// once and before the end of the read; Next then returns false.
func (r *reader) Close() error {
	if r.finished && r.closed {
		return nil
	}
	r.finished = true
	r.rec = sources.Record{}
	r.release()
	return nil
}

// hashingReader feeds every byte read through a hash and counts them.
type hashingReader struct {
	r io.Reader
	h hash.Hash
	n int64
}

func (h *hashingReader) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	if n > 0 {
		h.h.Write(p[:n])
		h.n += int64(n)
	}
	return n, err
}
