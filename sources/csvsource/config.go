package csvsource

import (
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/htmlindex"
	"golang.org/x/text/encoding/ianaindex"
	"golang.org/x/text/encoding/unicode"

	"github.com/syncd/syncd/internal/fielderr"
)

// Config is the `source.csv` block of a job.
type Config struct {
	// Path is the CSV file to read. Required.
	Path string `yaml:"path"`
	// Key is the header name of the column whose value is each record's
	// anchor, matched case-insensitively. Required. Surrounding white space
	// is trimmed from the key value.
	Key string `yaml:"key"`
	// Delimiter is the field separator, a single character. Default ",".
	Delimiter string `yaml:"delimiter"`
	// Comment, when set, is a single character that starts a comment line
	// (a line beginning with it is skipped). Default: none.
	Comment string `yaml:"comment"`
	// MultiValueSeparator, when set, splits every cell into several values
	// (spaces around each value trimmed, empty values dropped), e.g. ";" for
	// group lists. The key column is never split. Default: none, each cell
	// is one value.
	MultiValueSeparator string `yaml:"multi_value_separator"`
	// Encoding is the file's character encoding: utf-8 (default, with or
	// without a byte order mark), or any name golang.org/x/text knows from
	// the IANA registry or the WHATWG Encoding Standard: windows-1250,
	// iso-8859-2, windows-1252, latin1 (= iso-8859-1), shift_jis, ...
	Encoding string `yaml:"encoding"`
	// Settle is how long the file must have been left unmodified before it
	// is read; a younger file is waited for. Default 0: read at once. The
	// file is compared (size, modification time, inode) after the read
	// and before the first disable whatever this says.
	Settle time.Duration `yaml:"settle"`
	// MinRecords refuses a read with fewer data rows (rejected rows
	// included) as incomplete: a cut or wrong export. Default 0: none.
	MinRecords int `yaml:"min_records"`
	// MaxLineBytes caps one record in bytes (a line, or several when a
	// quoted field holds line breaks). A longer one fails the read: it is
	// not an HR export but a wrong path (/dev/zero) or a broken file, and
	// holding it would cost memory without bound. Default 1 MiB.
	MaxLineBytes *int `yaml:"max_line_bytes"`
	// MaxFieldBytes caps one field in bytes; a longer one fails the read.
	// Default 64 KiB (PingOne's longest attribute is far shorter).
	MaxFieldBytes *int `yaml:"max_field_bytes"`
}

// Defaults of the size caps.
const (
	DefaultMaxLineBytes  = 1 << 20
	DefaultMaxFieldBytes = 64 << 10
)

// maxLine returns the record cap.
func (c Config) maxLine() int {
	if c.MaxLineBytes == nil {
		return DefaultMaxLineBytes
	}
	return *c.MaxLineBytes
}

// maxField returns the field cap.
func (c Config) maxField() int {
	if c.MaxFieldBytes == nil {
		return DefaultMaxFieldBytes
	}
	return *c.MaxFieldBytes
}

// Validate reports every problem with the block at once, each naming the
// field relative to the block (`path: required`).
func (c Config) Validate() error {
	var errs fielderr.List
	if strings.TrimSpace(c.Path) == "" {
		errs.Add("path", "required")
	}
	if strings.TrimSpace(c.Key) == "" {
		errs.Add("key", "required")
	}
	delim := ','
	if c.Delimiter != "" {
		r, ok := singleRune(c.Delimiter)
		switch {
		case !ok:
			errs.Add("delimiter", "must be a single character, got %q", c.Delimiter)
		case !validDelim(r):
			errs.Add("delimiter", "%q cannot separate fields (a quote, a line break or an invalid character)", c.Delimiter)
		default:
			delim = r
		}
	}
	if c.Comment != "" {
		r, ok := singleRune(c.Comment)
		switch {
		case !ok:
			errs.Add("comment", "must be a single character, got %q", c.Comment)
		case !validDelim(r):
			errs.Add("comment", "%q cannot start a comment (a quote, a line break or an invalid character)", c.Comment)
		case r == delim:
			errs.Add("comment", "must differ from the delimiter %q", string(delim))
		}
	}
	if c.MultiValueSeparator != "" && strings.ContainsAny(c.MultiValueSeparator, "\r\n") {
		errs.Add("multi_value_separator", "must not contain a line break")
	}
	if _, err := lookupEncoding(c.Encoding); err != nil {
		errs.AddErr("encoding", err)
	}
	if c.Settle < 0 {
		errs.Add("settle", "must not be negative")
	}
	if c.MinRecords < 0 {
		errs.Add("min_records", "must not be negative")
	}
	if c.MaxLineBytes != nil && *c.MaxLineBytes < 1 {
		errs.Add("max_line_bytes", "want at least 1, not %d", *c.MaxLineBytes)
	}
	if c.MaxFieldBytes != nil && *c.MaxFieldBytes < 1 {
		errs.Add("max_field_bytes", "want at least 1, not %d", *c.MaxFieldBytes)
	}
	return errs.Err()
}

// delimiter returns the configured delimiter rune (default ',').
func (c Config) delimiter() rune {
	if r, ok := singleRune(c.Delimiter); ok {
		return r
	}
	return ','
}

// comment returns the configured comment rune, 0 for none.
func (c Config) comment() rune {
	if r, ok := singleRune(c.Comment); ok {
		return r
	}
	return 0
}

// singleRune returns the only rune of s, reporting whether s is exactly one
// valid character.
func singleRune(s string) (rune, bool) {
	r, size := utf8.DecodeRuneInString(s)
	if s == "" || size != len(s) || r == utf8.RuneError {
		return 0, false
	}
	return r, true
}

// validDelim mirrors encoding/csv's rule for Comma and Comment.
func validDelim(r rune) bool {
	return r != 0 && r != '"' && r != '\r' && r != '\n' && utf8.ValidRune(r) && r != utf8.RuneError
}

// lookupEncoding maps a configured encoding name to a decoder; nil means
// UTF-8 (read as is, byte order mark stripped). Names are looked up in the
// IANA registry first (iso-8859-1 is Latin-1 there, while WHATWG reads it
// as windows-1252), then among the WHATWG labels (cp1250, latin2, ...).
func lookupEncoding(name string) (encoding.Encoding, error) {
	n := strings.ToLower(strings.TrimSpace(name))
	switch n {
	case "", "utf-8", "utf8":
		return nil, nil
	case "latin1", "latin-1", "iso8859-1":
		return charmap.ISO8859_1, nil
	}
	e, err := ianaindex.IANA.Encoding(n)
	if err != nil || e == nil {
		e, err = htmlindex.Get(n)
	}
	if err != nil || e == nil {
		return nil, fielderr.New("", "unknown %q: not an encoding name golang.org/x/text knows (IANA or WHATWG), e.g. utf-8, windows-1250, iso-8859-2, windows-1252", name)
	}
	if e == unicode.UTF8 {
		return nil, nil
	}
	return e, nil
}
