package ldifsource

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"

	"go.uber.org/zap"

	"github.com/syncd/syncd/internal/fielderr"
	"github.com/syncd/syncd/sources"
	"github.com/syncd/syncd/sources/internal/dirattr"
)

var _ sources.Source = (*Source)(nil)

// maxLine bounds one logical (unfolded) line, so a stranger's file cannot
// make the reader buffer without limit. A 16 MiB value is far beyond any
// directory attribute a sync maps.
const maxLine = 16 << 20

// Config says which file to read and which attribute anchors its entries.
type Config struct {
	// Path is the LDIF file. Required.
	Path string `yaml:"path"`
	// Anchor is the attribute whose first value is each entry's anchor,
	// matched case-insensitively. Default "entryUUID"; use "objectGUID" for
	// Active Directory exports (base64 values are decoded to the GUID
	// string).
	Anchor string `yaml:"anchor"`
}

// Validate reports every problem with the configuration at once.
func (c Config) Validate() error {
	var errs fielderr.List
	if strings.TrimSpace(c.Path) == "" {
		errs.Add("path", "required")
	}
	if a := c.Anchor; a != "" && !validAttrName(a) {
		errs.Add("anchor", "%q is not an attribute name", a)
	}
	return errs.Err()
}

// Source reads one LDIF file. Each Open is an independent read.
type Source struct {
	path   string
	anchor string // lower case
	logger *zap.Logger
	// open opens the file; tests replace it to inject failing readers.
	open func(path string) (io.ReadCloser, error)
}

// New validates cfg and returns a Source. A nil logger logs nothing.
func New(cfg Config, logger *zap.Logger) (*Source, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("ldif source: %w", err)
	}
	if logger == nil {
		logger = zap.NewNop()
	}
	anchor := strings.ToLower(strings.TrimSpace(cfg.Anchor))
	if anchor == "" {
		anchor = "entryuuid"
	}
	return &Source{
		path:   cfg.Path,
		anchor: anchor,
		logger: logger.With(zap.String("source", "ldif"), zap.String("path", cfg.Path)),
		open:   func(path string) (io.ReadCloser, error) { return os.Open(path) },
	}, nil
}

// Open starts a full read of the file (LDIF has no cursor: req.Cursor is
// ignored). A missing or unreadable file fails here.
func (s *Source) Open(ctx context.Context, _ sources.ReadRequest) (sources.Reader, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("open ldif %s: %w", s.path, err)
	}
	f, err := s.open(s.path)
	if err != nil {
		return nil, fmt.Errorf("open ldif file: %w", err)
	}
	r := &reader{ctx: ctx, done: ctx.Done(), src: s, f: f, br: bufio.NewReaderSize(f, 64<<10), first: true}
	// Read ahead one line so a directory or an unreadable file fails at
	// Open, not as the first Next.
	if err := r.fill(); err != nil && !errors.Is(err, io.EOF) {
		_ = f.Close()
		return nil, fmt.Errorf("read ldif %s: %w", s.path, err)
	}
	return r, nil
}

// reader is one read of the file.
type reader struct {
	ctx  context.Context
	done <-chan struct{}
	src  *Source
	f    io.ReadCloser
	br   *bufio.Reader

	// One physical line of look-ahead, needed to unfold continuation lines.
	next     []byte // without its line ending
	nextNo   int    // its line number (1-based)
	nextOK   bool   // next holds a line
	nextErr  error  // error met reading past next (io.EOF at the end)
	physLine int    // physical lines read so far

	first    bool // no record read yet (a version: line may come)
	rec      sources.Record
	rows     int
	rejects  int
	finished bool
	closed   bool
	err      error
}

// fill reads the next physical line into the look-ahead.
func (r *reader) fill() error {
	if r.nextOK || r.nextErr != nil {
		return r.nextErr
	}
	line, err := r.br.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		buf := append([]byte(nil), line...)
		for errors.Is(err, bufio.ErrBufferFull) {
			if len(buf) > maxLine {
				r.nextErr = fmt.Errorf("line %d: longer than %d bytes", r.physLine+1, maxLine)
				return r.nextErr
			}
			line, err = r.br.ReadSlice('\n')
			buf = append(buf, line...)
		}
		line = buf
	} else {
		line = append([]byte(nil), line...)
	}
	if len(line) == 0 && err != nil {
		r.nextErr = err
		return err
	}
	if err != nil && !errors.Is(err, io.EOF) {
		// A partial line followed by an I/O error: the line may be cut.
		r.nextErr = err
		return err
	}
	line = bytes.TrimSuffix(line, []byte("\n"))
	line = bytes.TrimSuffix(line, []byte("\r"))
	r.physLine++
	r.next, r.nextNo, r.nextOK = line, r.physLine, true
	return nil
}

// logical returns the next logical line, continuation lines unfolded, and
// the number of its first physical line. An empty line separates records.
func (r *reader) logical() (string, int, error) {
	if err := r.fill(); err != nil {
		return "", 0, err
	}
	line, no := r.next, r.nextNo
	r.nextOK = false
	if len(line) > 0 && line[0] == ' ' {
		return "", no, fmt.Errorf("line %d: continuation line (leading space) with no line to continue", no)
	}
	if len(line) == 0 {
		return "", no, nil
	}
	var b []byte
	for {
		err := r.fill()
		if err != nil && !errors.Is(err, io.EOF) {
			return "", no, err
		}
		if err != nil || len(r.next) == 0 || r.next[0] != ' ' {
			break
		}
		if b == nil {
			b = append(b, line...)
		}
		b = append(b, r.next[1:]...)
		if len(b) > maxLine {
			return "", no, fmt.Errorf("line %d: logical line longer than %d bytes", no, maxLine)
		}
		r.nextOK = false
	}
	if b != nil {
		return string(b), no, nil
	}
	return string(line), no, nil
}

// Mode is Full: LDIF has no deltas.
func (r *reader) Mode() sources.Mode { return sources.Full }

// Next reads the next entry. A syntax or I/O error, or a cancelled
// context, ends the read with Err set.
func (r *reader) Next() bool {
	if r.finished {
		return false
	}
	select {
	case <-r.done:
		r.fail(fmt.Errorf("read ldif %s: %w", r.src.path, r.ctx.Err()))
		return false
	default:
	}
	rec, err := r.entry()
	switch {
	case errors.Is(err, io.EOF):
		r.finished = true
		r.rec = sources.Record{}
		r.src.logger.Debug("ldif read complete", zap.Int("entries", r.rows), zap.Int("rejects", r.rejects))
		r.release()
		return false
	case err != nil:
		r.fail(fmt.Errorf("read ldif %s: %w", r.src.path, err))
		return false
	}
	if rec.Reject != "" {
		r.rejects++
	} else {
		r.rows++
	}
	r.rec = rec
	return true
}

// attrLine is one parsed "name: value" line.
type attrLine struct {
	name  string // lower case, options kept (dirattr.Key), as live LDAP reads name it
	base  string // lower case, options stripped
	value string // decoded for its kind
	raw   []byte // base64-decoded bytes (nil for text values)
	b64   bool
	line  int
}

// entry parses the next record; io.EOF when there is none.
func (r *reader) entry() (sources.Record, error) {
	// Skip blank lines and comments before the record.
	var (
		text string
		no   int
		err  error
	)
	for {
		text, no, err = r.logical()
		if err != nil {
			return sources.Record{}, err
		}
		if text == "" || text[0] == '#' {
			continue
		}
		if r.first && hasName(text, "version") {
			r.first = false
			al, err := parseLine(text, no)
			if err != nil {
				return sources.Record{}, err
			}
			if al.value != "1" {
				return sources.Record{}, fmt.Errorf("line %d: unsupported LDIF version %q (want 1)", no, al.value)
			}
			continue
		}
		break
	}
	r.first = false
	dnLine, err := parseLine(text, no)
	if err != nil {
		return sources.Record{}, err
	}
	if dnLine.name != "dn" {
		return sources.Record{}, fmt.Errorf("line %d: record starts with %q, want dn:", no, dnLine.name)
	}
	start := no
	rec := sources.Record{DN: dnLine.value, Pos: fmt.Sprintf("line %d", start), Attrs: map[string][]string{}}
	if !utf8.ValidString(dnLine.value) {
		rec.DN = "base64:" + base64.StdEncoding.EncodeToString([]byte(dnLine.value))
		rec.Reject = "dn is not valid UTF-8"
	}
	var rawAnchor *attrLine // anchor value as given, for decoding
	for {
		text, no, err = r.logical()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return sources.Record{}, err
		}
		if text == "" {
			break
		}
		if text[0] == '#' {
			continue
		}
		al, err := parseLine(text, no)
		if err != nil {
			return sources.Record{}, err
		}
		switch al.name {
		case "dn":
			return sources.Record{}, fmt.Errorf("line %d: dn: inside the record of line %d (separate records with a blank line)", no, start)
		case "changetype", "control":
			return sources.Record{}, fmt.Errorf("line %d: %s: records are not supported, fixtures hold content records only", no, al.name)
		}
		kind := attrKind(al.base)
		var v string
		var derr error
		if al.b64 {
			v, derr = decodeRaw(kind, al.raw)
		} else {
			v, derr = decodeText(kind, al.value)
		}
		if derr != nil {
			if rec.Reject == "" {
				rec.Reject = fmt.Sprintf("line %d: attribute %s: %v", no, al.name, derr)
			}
			continue
		}
		if al.name == r.src.anchor && rawAnchor == nil {
			c := al
			rawAnchor = &c
		}
		if v == "" {
			continue // an empty value says nothing: the attribute stays absent
		}
		rec.Attrs[al.name] = append(rec.Attrs[al.name], v)
	}
	switch vs := rec.Attrs[r.src.anchor]; {
	case rec.Reject != "":
		// Already rejected; still report the anchor if it decoded.
		if len(vs) > 0 {
			rec.Anchor = vs[0]
		}
	case len(vs) == 0 && rawAnchor != nil:
		rec.Reject = fmt.Sprintf("anchor attribute %s is empty", r.src.anchor)
	case len(vs) == 0:
		rec.Reject = fmt.Sprintf("no anchor attribute %s", r.src.anchor)
	default:
		rec.Anchor = vs[0]
	}
	return rec, nil
}

// hasName reports whether the line's attribute name is name (any case).
func hasName(text, name string) bool {
	return len(text) > len(name) && text[len(name)] == ':' && strings.EqualFold(text[:len(name)], name)
}

// parseLine parses "name[;options]: value", "name:: base64" or refuses
// "name:< url".
func parseLine(text string, no int) (attrLine, error) {
	i := strings.IndexByte(text, ':')
	if i < 0 {
		return attrLine{}, fmt.Errorf("line %d: no colon: want \"attribute: value\"", no)
	}
	desc := text[:i]
	name, opts, _ := strings.Cut(desc, ";")
	if !validAttrName(name) || !validOptions(opts) {
		return attrLine{}, fmt.Errorf("line %d: %q is not an attribute name (with ;options)", no, desc)
	}
	al := attrLine{line: no}
	al.name, al.base = dirattr.Key(desc)
	rest := text[i+1:]
	switch {
	case strings.HasPrefix(rest, ":"):
		enc := strings.TrimSpace(rest[1:])
		raw, err := base64.StdEncoding.DecodeString(enc)
		if err != nil {
			return attrLine{}, fmt.Errorf("line %d: attribute %s: bad base64: %w", no, al.name, err)
		}
		al.b64, al.raw, al.value = true, raw, string(raw)
	case strings.HasPrefix(rest, "<"):
		return attrLine{}, fmt.Errorf("line %d: attribute %s: values from URLs (\":<\") are refused", no, al.name)
	default:
		al.value = strings.TrimLeft(rest, " ")
	}
	return al, nil
}

// validOptions reports whether s is a list of attribute options (RFC 4512
// §2.5: letters, digits, hyphens) separated by ";", or empty.
func validOptions(s string) bool {
	if s == "" {
		return true
	}
	for _, o := range strings.Split(s, ";") {
		if o == "" {
			return false
		}
		for i := range len(o) {
			if c := o[i]; !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// validAttrName reports whether s is an attribute type: a descriptor
// (letter, then letters, digits, hyphens) or a numeric OID.
func validAttrName(s string) bool {
	if s == "" {
		return false
	}
	c0 := s[0]
	if '0' <= c0 && c0 <= '9' {
		for i := range len(s) {
			if c := s[i]; !(c == '.' || '0' <= c && c <= '9') {
				return false
			}
		}
		return true
	}
	for i := range len(s) {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || i > 0 && ('0' <= c && c <= '9' || c == '-')) {
			return false
		}
	}
	return true
}

// fail ends the read with err.
func (r *reader) fail(err error) {
	r.finished = true
	r.err = err
	r.rec = sources.Record{}
	r.release()
}

func (r *reader) release() {
	if !r.closed {
		r.closed = true
		_ = r.f.Close() // read-only file: nothing to lose on close
	}
}

// Record returns the current entry; it is valid until the next Next.
func (r *reader) Record() sources.Record { return r.rec }

// Err returns the error that ended the read early; nil after a complete
// read or an explicit Close.
func (r *reader) Err() error { return r.err }

// Cursor returns nil: LDIF reads are always full.
func (r *reader) Cursor() []byte { return nil }

// Close ends the read and closes the file; safe to call more than once.
func (r *reader) Close() error {
	r.finished = true
	r.rec = sources.Record{}
	r.release()
	return nil
}
