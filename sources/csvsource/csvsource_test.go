package csvsource

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/syncd/syncd/internal/fielderr"
	"github.com/syncd/syncd/sources"
)

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  Config
		want []string // every problem, in order; nil means valid
	}{
		{"minimal", Config{Path: "u.csv", Key: "id"}, nil},
		{"all set", Config{Path: "u.csv", Key: "id", Delimiter: ";", Comment: "#", MultiValueSeparator: "|", Encoding: "Windows-1252"}, nil},
		{"tab and latin1", Config{Path: "u.csv", Key: "id", Delimiter: "\t", Encoding: "iso-8859-1"}, nil},
		{"unicode delimiter", Config{Path: "u.csv", Key: "id", Delimiter: "§"}, nil},
		{"empty", Config{}, []string{"path: required", "key: required"}},
		{"long delimiter", Config{Path: "p", Key: "k", Delimiter: ";;"}, []string{`delimiter: must be a single character, got ";;"`}},
		{"quote delimiter", Config{Path: "p", Key: "k", Delimiter: `"`}, []string{`delimiter: "\"" cannot separate fields (a quote, a line break or an invalid character)`}},
		{"newline delimiter", Config{Path: "p", Key: "k", Delimiter: "\n"}, []string{`delimiter: "\n" cannot separate fields (a quote, a line break or an invalid character)`}},
		{"comment equals delimiter", Config{Path: "p", Key: "k", Comment: ","}, []string{`comment: must differ from the delimiter ","`}},
		{"long comment", Config{Path: "p", Key: "k", Comment: "//"}, []string{`comment: must be a single character, got "//"`}},
		{"separator newline", Config{Path: "p", Key: "k", MultiValueSeparator: "\n"}, []string{"multi_value_separator: must not contain a line break"}},
		{"unknown encoding", Config{Path: "p", Key: "k", Encoding: "x"}, []string{`encoding: unknown "x": not an encoding name golang.org/x/text knows (IANA or WHATWG), e.g. utf-8, windows-1250, iso-8859-2, windows-1252`}},
		{"negative settle and min_records", Config{Path: "p", Key: "k", Settle: -1, MinRecords: -1}, []string{"settle: must not be negative", "min_records: must not be negative"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.cfg.Validate()
			var got []string
			if err != nil {
				for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
					var fe *fielderr.FieldError
					if !errors.As(e, &fe) {
						t.Errorf("problem %v is not a *fielderr.FieldError", e)
					}
					got = append(got, e.Error())
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("Validate() problems:\n got %q\nwant %q", got, tt.want)
			}
			if _, err := New(tt.cfg, nil); (err == nil) != (tt.want == nil) {
				t.Errorf("New() error = %v, want error: %v", err, tt.want != nil)
			}
		})
	}
}

// rec is a record as the tests expect it.
type rec struct {
	pos    string
	anchor string
	attrs  map[string][]string // nil: not checked (rejects)
	reject string              // substring of Reject; "" means not rejected
}

// writeFile writes content to a fresh file and returns its path.
func writeFile(t testing.TB, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "users.csv")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// readAll opens src and reads every record (deep-copied).
func readAll(t testing.TB, src *Source) ([]sources.Record, sources.Reader, error) {
	t.Helper()
	r, err := src.Open(context.Background(), sources.ReadRequest{})
	if err != nil {
		return nil, nil, err
	}
	t.Cleanup(func() { _ = r.Close() })
	var out []sources.Record
	for r.Next() {
		x := r.Record()
		c := x
		c.Attrs = maps.Clone(x.Attrs)
		for k, v := range c.Attrs {
			c.Attrs[k] = slices.Clone(v)
		}
		out = append(out, c)
	}
	return out, r, nil
}

func TestRead(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		input   string
		cfg     Config // Path is filled in; Key defaults to "id"
		want    []rec
		openErr string // substring of the Open error
		readErr string // substring of Err() at the end of the read
	}{
		{
			name:  "basic",
			input: "id,Mail,givenName\n1,a@x.org,Ann\n2,b@x.org,Bob\n",
			want: []rec{
				{"line 2", "1", map[string][]string{"id": {"1"}, "mail": {"a@x.org"}, "givenname": {"Ann"}}, ""},
				{"line 3", "2", map[string][]string{"id": {"2"}, "mail": {"b@x.org"}, "givenname": {"Bob"}}, ""},
			},
		},
		{
			name:  "bom crlf and no final newline",
			input: "\uFEFFid,mail\r\n1,a@x.org\r\n2,b@x.org",
			want: []rec{
				{"line 2", "1", map[string][]string{"id": {"1"}, "mail": {"a@x.org"}}, ""},
				{"line 3", "2", map[string][]string{"id": {"2"}, "mail": {"b@x.org"}}, ""},
			},
		},
		{
			name:  "key matched case-insensitively and trimmed",
			input: "Employee ID,mail\n  e1 ,a@x.org\n",
			cfg:   Config{Key: "EMPLOYEE id"},
			want:  []rec{{"line 2", "e1", map[string][]string{"employee id": {"  e1 "}, "mail": {"a@x.org"}}, ""}},
		},
		{
			name:  "empty cell is absent",
			input: "id,mail,phone\n1,,\n",
			want:  []rec{{"line 2", "1", map[string][]string{"id": {"1"}}, ""}},
		},
		{
			name:  "multi-value",
			input: "id,groups,mail\n1, a ;b;; c ;,m\n2,;,\n",
			cfg:   Config{MultiValueSeparator: ";"},
			want: []rec{
				{"line 2", "1", map[string][]string{"id": {"1"}, "groups": {"a", "b", "c"}, "mail": {"m"}}, ""},
				{"line 3", "2", map[string][]string{"id": {"2"}}, ""},
			},
		},
		{
			name:  "quoted fields with embedded newline keep physical line numbers",
			input: "id,note\n1,\"two\nlines, \"\"quoted\"\"\"\n2,x\n",
			want: []rec{
				{"line 2", "1", map[string][]string{"id": {"1"}, "note": {"two\nlines, \"quoted\""}}, ""},
				{"line 4", "2", map[string][]string{"id": {"2"}, "note": {"x"}}, ""},
			},
		},
		{
			name:  "semicolon delimiter, comments and blank lines",
			input: "# exported 2026-01-01\nid;mail\n\n1;a@x.org\n# 2;b\n3;c@x.org\n",
			cfg:   Config{Delimiter: ";", Comment: "#"},
			want: []rec{
				{"line 4", "1", map[string][]string{"id": {"1"}, "mail": {"a@x.org"}}, ""},
				{"line 6", "3", map[string][]string{"id": {"3"}, "mail": {"c@x.org"}}, ""},
			},
		},
		{
			name:  "tab delimiter",
			input: "id\tmail\n1\ta,b@x.org\n",
			cfg:   Config{Delimiter: "\t"},
			want:  []rec{{"line 2", "1", map[string][]string{"id": {"1"}, "mail": {"a,b@x.org"}}, ""}},
		},
		{
			name:  "header only",
			input: "id,mail\n",
		},
		{
			name:  "wrong field count",
			input: "id,mail\n1,a,extra\n2\n3,c\n",
			want: []rec{
				{pos: "line 2", reject: "3 fields, the header has 2"},
				{pos: "line 3", reject: "1 fields, the header has 2"},
				{"line 4", "3", map[string][]string{"id": {"3"}, "mail": {"c"}}, ""},
			},
		},
		{
			name:  "empty key",
			input: "id,mail\n ,a\n,b\n3,c\n",
			want: []rec{
				{pos: "line 2", reject: `empty key column "id"`},
				{pos: "line 3", reject: `empty key column "id"`},
				{"line 4", "3", map[string][]string{"id": {"3"}, "mail": {"c"}}, ""},
			},
		},
		{
			name:  "invalid utf-8",
			input: "id,mail\n1,caf\xe9\n\xff,b\n3,c\n",
			want: []rec{
				{pos: "line 2", anchor: "1", reject: `column "mail" is not valid UTF-8`},
				{pos: "line 3", reject: `key column "id" is not valid UTF-8`},
				{"line 4", "3", map[string][]string{"id": {"3"}, "mail": {"c"}}, ""},
			},
		},
		{
			name:  "duplicate key",
			input: "id,mail\n1,a\n2,b\n 1,c\n1,d\n",
			want: []rec{
				{"line 2", "1", map[string][]string{"id": {"1"}, "mail": {"a"}}, ""},
				{"line 3", "2", map[string][]string{"id": {"2"}, "mail": {"b"}}, ""},
				{pos: "line 4", anchor: "1", reject: `duplicate key "1", first seen on line 2`},
				{pos: "line 5", anchor: "1", reject: `duplicate key "1", first seen on line 2`},
			},
		},
		{
			name:  "bare quote is a reject and the read goes on",
			input: "id,mail\n1,a\"b\n2,b\n",
			want: []rec{
				{pos: "line 2", reject: "bare \" in non-quoted-field"},
				{"line 3", "2", map[string][]string{"id": {"2"}, "mail": {"b"}}, ""},
			},
		},
		{
			name:  "text after closing quote is a reject and the read goes on",
			input: "id,mail\n1,\"a\"b\n2,b\n",
			want: []rec{
				{pos: "line 2", reject: "extraneous or missing \" in quoted-field"},
				{"line 3", "2", map[string][]string{"id": {"2"}, "mail": {"b"}}, ""},
			},
		},
		{
			name:  "truncated inside a quoted field is an error",
			input: "id,mail\n1,a\n2,\"b\n3,c\n",
			want: []rec{
				{"line 2", "1", map[string][]string{"id": {"1"}, "mail": {"a"}}, ""},
				{pos: "line 3", reject: "extraneous or missing \" in quoted-field"},
			},
			readErr: "line 3: quoted field not closed before end of file (truncated file?)",
		},
		{
			name:  "latin1",
			input: "id,sn\n1,M\xfcller\n",
			cfg:   Config{Encoding: "latin1"},
			want:  []rec{{"line 2", "1", map[string][]string{"id": {"1"}, "sn": {"Müller"}}, ""}},
		},
		{
			name:  "windows-1252",
			input: "id,note\n1,\x80 5 \x93ok\x94\n",
			cfg:   Config{Encoding: "windows-1252"},
			want:  []rec{{"line 2", "1", map[string][]string{"id": {"1"}, "note": {"€ 5 “ok”"}}, ""}},
		},
		{
			// Central-European exports: 0xE8 is č in both, è in windows-1252.
			name:  "windows-1250",
			input: "id,sn\n1,Farini\xe8 \x8a\x9e\n",
			cfg:   Config{Encoding: "windows-1250"},
			want:  []rec{{"line 2", "1", map[string][]string{"id": {"1"}, "sn": {"Farinič Šž"}}, ""}},
		},
		{
			name:  "iso-8859-2",
			input: "id,sn\n1,Farini\xe8 \xa9\xb9\n",
			cfg:   Config{Encoding: "iso-8859-2"},
			want:  []rec{{"line 2", "1", map[string][]string{"id": {"1"}, "sn": {"Farinič Šš"}}, ""}},
		},
		{name: "empty file", input: "", openErr: "empty file, no header row"},
		{name: "bom only", input: "\uFEFF", openErr: "empty file, no header row"},
		{name: "blank lines only", input: "\n\r\n\n", openErr: "empty file, no header row"},
		{name: "missing key column", input: "uid,mail\n1,a\n", openErr: `key column "id" not in the header (line 1): ["uid" "mail"]`},
		{name: "duplicate header", input: "id,Mail,MAIL\n", openErr: `columns 2 and 3 are both named "mail"`},
		{name: "unnamed column", input: "id,mail,\n", openErr: "column 3 has no name"},
		{name: "malformed header", input: "id,ma\"il\n", openErr: "header: parse error on line 1"},
		{name: "invalid utf-8 header", input: "id,m\xe9l\n", openErr: "column 2 name is not valid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := tt.cfg
			cfg.Path = writeFile(t, tt.input)
			if cfg.Key == "" {
				cfg.Key = "id"
			}
			src, err := New(cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			got, r, err := readAll(t, src)
			if tt.openErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.openErr) {
					t.Fatalf("Open error = %v, want one containing %q", err, tt.openErr)
				}
				if !strings.Contains(err.Error(), cfg.Path) {
					t.Errorf("Open error %q does not name the file", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			checkRecords(t, got, tt.want)
			switch err := r.Err(); {
			case tt.readErr == "" && err != nil:
				t.Errorf("Err() = %v, want nil", err)
			case tt.readErr != "" && (err == nil || !strings.Contains(err.Error(), tt.readErr)):
				t.Errorf("Err() = %v, want one containing %q", err, tt.readErr)
			}
			if tt.readErr != "" && r.Cursor() != nil {
				t.Errorf("failed read returned a cursor %q", r.Cursor())
			}
			if tt.readErr == "" && r.Cursor() == nil {
				t.Error("complete read returned no cursor")
			}
		})
	}
}

func checkRecords(t *testing.T, got []sources.Record, want []rec) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("got %d records, want %d", len(got), len(want))
	}
	for i := range min(len(got), len(want)) {
		g, w := got[i], want[i]
		if g.Pos != w.pos || g.Anchor != w.anchor {
			t.Errorf("record %d: pos %q anchor %q, want pos %q anchor %q", i, g.Pos, g.Anchor, w.pos, w.anchor)
		}
		switch {
		case w.reject == "" && g.Reject != "":
			t.Errorf("record %d (%s): unexpected reject %q", i, g.Pos, g.Reject)
		case w.reject != "" && !strings.Contains(g.Reject, w.reject):
			t.Errorf("record %d (%s): reject %q, want one containing %q", i, g.Pos, g.Reject, w.reject)
		}
		if w.attrs != nil && !maps.EqualFunc(g.Attrs, w.attrs, slices.Equal) {
			t.Errorf("record %d (%s): attrs\n got %q\nwant %q", i, g.Pos, g.Attrs, w.attrs)
		}
		if g.DN != "" || g.Deleted {
			t.Errorf("record %d: DN %q Deleted %v, want empty", i, g.DN, g.Deleted)
		}
	}
}

func TestOpenErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	missing := filepath.Join(dir, "nope.csv")
	tests := []struct {
		name string
		path string
	}{
		{"missing file", missing},
		{"directory", dir},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			src, err := New(Config{Path: tt.path, Key: "id"}, nil)
			if err != nil {
				t.Fatal(err)
			}
			r, err := src.Open(context.Background(), sources.ReadRequest{})
			if err == nil {
				r.Close()
				t.Fatal("Open succeeded, want an error")
			}
			if !strings.Contains(err.Error(), tt.path) {
				t.Errorf("Open error %q does not name %s", err, tt.path)
			}
		})
	}
}

func TestIOErrorMidRead(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString("id,mail\n")
	for i := range 10_000 {
		fmt.Fprintf(&b, "%d,user%d@example.com\n", i, i)
	}
	src, err := New(Config{Path: writeFile(t, b.String()), Key: "id"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	src.open = failAfterOpener(bufSize + 100)
	got, r, err := readAll(t, src)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if !errors.Is(r.Err(), errInjected) {
		t.Errorf("Err() = %v, want the injected I/O error", r.Err())
	}
	if len(got) >= 10_000 || len(got) == 0 {
		t.Errorf("read %d records before the error, want some but not all", len(got))
	}
	if r.Cursor() != nil {
		t.Error("failed read returned a cursor")
	}
}

var errInjected = errors.New("injected I/O error")

// failAfter reads a file but fails with errInjected once limit bytes are
// read, like a disk or network file system giving up mid-way.
type failAfter struct {
	f     *os.File
	limit int64
}

func (r *failAfter) Read(p []byte) (int, error) {
	if r.limit <= 0 {
		return 0, errInjected
	}
	if int64(len(p)) > r.limit {
		p = p[:r.limit]
	}
	n, err := r.f.Read(p)
	r.limit -= int64(n)
	return n, err
}

func (r *failAfter) Close() error { return r.f.Close() }

func failAfterOpener(limit int64) func(string) (io.ReadCloser, error) {
	return func(path string) (io.ReadCloser, error) {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		return &failAfter{f: f, limit: limit}, nil
	}
}

func TestCursorDelta(t *testing.T) {
	t.Parallel()
	path := writeFile(t, "id,mail\n1,a\n2,b\n")
	src, err := New(Config{Path: path, Key: "id"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	recs, r, err := readAll(t, src)
	if err != nil || r.Err() != nil || len(recs) != 2 {
		t.Fatalf("first read: %d records, open err %v", len(recs), err)
	}
	cur := r.Cursor()
	if !bytes.HasPrefix(cur, []byte("csv1 16 ")) {
		t.Fatalf("cursor %q, want a csv1 fingerprint of 16 bytes", cur)
	}

	open := func(req sources.ReadRequest) (sources.Mode, int, []byte) {
		t.Helper()
		r, err := src.Open(ctx, req)
		if err != nil {
			t.Fatalf("Open(%+v): %v", req, err)
		}
		defer r.Close()
		n := 0
		for r.Next() {
			n++
		}
		if r.Err() != nil {
			t.Fatalf("Err() = %v", r.Err())
		}
		return r.Mode(), n, r.Cursor()
	}

	if m, n, c := open(sources.ReadRequest{Cursor: cur}); m != sources.Delta || n != 0 || !bytes.Equal(c, cur) {
		t.Errorf("unchanged file: mode %v, %d records, cursor %q; want delta, 0, %q", m, n, c, cur)
	}
	if m, n, _ := open(sources.ReadRequest{Cursor: cur, Full: true}); m != sources.Full || n != 2 {
		t.Errorf("Full forced: mode %v, %d records; want full, 2", m, n)
	}
	if m, n, _ := open(sources.ReadRequest{Cursor: []byte("garbage")}); m != sources.Full || n != 2 {
		t.Errorf("unusable cursor: mode %v, %d records; want full, 2", m, n)
	}
	// Same size, different content: the hash decides.
	if err := os.WriteFile(path, []byte("id,mail\n1,a\n2,c\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	m, n, cur2 := open(sources.ReadRequest{Cursor: cur})
	if m != sources.Full || n != 2 || bytes.Equal(cur2, cur) {
		t.Errorf("changed file: mode %v, %d records, cursor %q; want full, 2, a new cursor", m, n, cur2)
	}
	if m, n, _ := open(sources.ReadRequest{Cursor: cur2}); m != sources.Delta || n != 0 {
		t.Errorf("unchanged again: mode %v, %d records; want delta, 0", m, n)
	}
	// A removed file is an error, not an empty delta.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if r, err := src.Open(ctx, sources.ReadRequest{Cursor: cur2}); err == nil {
		r.Close()
		t.Error("Open of a removed file with a cursor succeeded")
	}
}

func TestRecordReuse(t *testing.T) {
	t.Parallel()
	// The map and slices are reused: a record is valid until the next Next,
	// and a later row's absent cell must not leak an earlier row's value.
	src, err := New(Config{Path: writeFile(t, "id,mail\n1,a\n2,\n"), Key: "id"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := src.Open(context.Background(), sources.ReadRequest{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for r.Next() {
		rec := r.Record()
		if rec.Anchor == "2" {
			if _, ok := rec.Attrs["mail"]; ok {
				t.Errorf("row 2 has mail %q, want absent", rec.Attrs["mail"])
			}
		}
	}
}

func TestRequestedAttributes(t *testing.T) {
	t.Parallel()
	src, err := New(Config{Path: writeFile(t, "ID,Mail,photo,sn\n1,a,\xff\xfe,S\n"), Key: "id"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := src.Open(context.Background(), sources.ReadRequest{Attributes: []string{"mail", "SN", "nosuch"}})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if !r.Next() {
		t.Fatalf("no record: %v", r.Err())
	}
	rec := r.Record()
	want := map[string][]string{"id": {"1"}, "mail": {"a"}, "sn": {"S"}}
	if rec.Reject != "" || !maps.EqualFunc(rec.Attrs, want, slices.Equal) {
		t.Errorf("record %q reject %q, want attrs %q and no reject (photo is not requested)", rec.Attrs, rec.Reject, want)
	}
}

// With AnchorsChecked, the caller finds keys read twice itself: every row
// is a record, duplicate keys included, and no index of keys is kept.
func TestAnchorsCheckedLeavesDuplicatesToTheCaller(t *testing.T) {
	t.Parallel()
	src, err := New(Config{Path: writeFile(t, "id,mail\n1,a\n2,b\n1,c\n"), Key: "id"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := src.Open(context.Background(), sources.ReadRequest{AnchorsChecked: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if rd, ok := r.(*reader); !ok || rd.seen != nil {
		t.Errorf("reader %T keeps a key index although the caller checks keys", r)
	}
	var got []sources.Record
	for r.Next() {
		rec := r.Record()
		attrs := map[string][]string{}
		for k, v := range rec.Attrs {
			attrs[k] = slices.Clone(v) // the reader reuses them
		}
		rec.Attrs = attrs
		got = append(got, rec)
	}
	checkRecords(t, got, []rec{
		{"line 2", "1", map[string][]string{"id": {"1"}, "mail": {"a"}}, ""},
		{"line 3", "2", map[string][]string{"id": {"2"}, "mail": {"b"}}, ""},
		{"line 4", "1", map[string][]string{"id": {"1"}, "mail": {"c"}}, ""},
	})
}

func TestKeyColumnNotSplit(t *testing.T) {
	t.Parallel()
	src, err := New(Config{Path: writeFile(t, "id,groups\na;b,x;y\n;,\n"), Key: "id", MultiValueSeparator: ";"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, r, err := readAll(t, src)
	if err != nil {
		t.Fatal(err)
	}
	checkRecords(t, got, []rec{
		{"line 2", "a;b", map[string][]string{"id": {"a;b"}, "groups": {"x", "y"}}, ""},
		{"line 3", ";", map[string][]string{"id": {";"}}, ""},
	})
	if r.Err() != nil {
		t.Fatal(r.Err())
	}
}
