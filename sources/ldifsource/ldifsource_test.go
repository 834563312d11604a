package ldifsource

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/syncd/syncd/sources"
	"github.com/syncd/syncd/sources/sourcetest"
)

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		cfg  Config
		want string // "" for valid
	}{
		{"minimal", Config{Path: "x.ldif"}, ""},
		{"ad", Config{Path: "x.ldif", Anchor: "objectGUID"}, ""},
		{"oid anchor", Config{Path: "x.ldif", Anchor: "1.3.6.1.1.16.4"}, ""},
		{"no path", Config{}, "path: required"},
		{"bad anchor", Config{Path: "x", Anchor: "entry uuid"}, `anchor: "entry uuid" is not an attribute name`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.cfg.Validate()
			if got := fmt.Sprint(err); (tt.want == "" && err != nil) || (tt.want != "" && got != tt.want) {
				t.Errorf("Validate() = %v, want %q", err, tt.want)
			}
		})
	}
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func hexB64(t *testing.T, h string) string {
	t.Helper()
	b, err := hex.DecodeString(h)
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(b)
}

type rec struct {
	pos, dn, anchor string
	attrs           map[string][]string // nil: not checked
	reject          string              // substring; "" means not rejected
}

func writeFile(t testing.TB, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "in.ldif")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRead(t *testing.T) {
	t.Parallel()
	guid := hexB64(t, "e07ed86958ab0649966f63985b4fa64b") // 69d87ee0-ab58-4906-966f-63985b4fa64b
	sid := hexB64(t, "010500000000000515000000c7a1f3d77c1754c8d4a0ce01f5030000")
	tests := []struct {
		name    string
		input   string
		anchor  string
		want    []rec
		readErr string
	}{
		{
			name: "openldap export",
			input: "version: 1\n\n# users\ndn: uid=ann,ou=people,dc=example,dc=org\nobjectClass: inetOrgPerson\nobjectClass: top\n" +
				"entryUUID: 1a2b\nMail: ann@example.org\ncn:: " + b64("Änn Müller") + "\n\n\n" +
				"dn: uid=bob,ou=people,dc=example,dc=org\r\nentryUUID: 3c4d\r\nuserCertificate;binary:: AAEC\r\n",
			want: []rec{
				{"line 4", "uid=ann,ou=people,dc=example,dc=org", "1a2b", map[string][]string{
					"objectclass": {"inetOrgPerson", "top"}, "entryuuid": {"1a2b"}, "mail": {"ann@example.org"}, "cn": {"Änn Müller"}}, ""},
				{"line 12", "uid=bob,ou=people,dc=example,dc=org", "3c4d", map[string][]string{
					"entryuuid": {"3c4d"}, "usercertificate;binary": {"AAEC"}}, ""},
			},
		},
		{
			name: "folded lines and folded comment",
			input: "# a long\n  comment\ndn: uid=ann,ou=peo\n ple,dc=example,dc=org\ndescription: one\n  two\n" +
				"entryUUID: 1a\n 2b\n",
			want: []rec{{"line 3", "uid=ann,ou=people,dc=example,dc=org", "1a2b", map[string][]string{
				"description": {"one two"}, "entryuuid": {"1a2b"}}, ""}},
		},
		{
			name:   "active directory export",
			anchor: "objectGUID",
			input: "dn:: " + b64("CN=Zoë,CN=Users,DC=corp,DC=example") + "\nobjectGUID:: " + guid + "\nobjectSid:: " + sid +
				"\nsAMAccountName: zoe\nbadText:: " + base64.StdEncoding.EncodeToString([]byte{0xff, 0x01}) + "\n",
			want: []rec{{"line 1", "CN=Zoë,CN=Users,DC=corp,DC=example", "69d87ee0-ab58-4906-966f-63985b4fa64b", map[string][]string{
				"objectguid":     {"69d87ee0-ab58-4906-966f-63985b4fa64b"},
				"objectsid":      {"S-1-5-21-3623068103-3360954236-30318804-1013"},
				"samaccountname": {"zoe"},
				"badtext":        {"base64:/wE="}}, ""}},
		},
		{
			name:   "guid given as text",
			anchor: "objectguid",
			input:  "dn: cn=a\nobjectGUID: 69D87EE0-AB58-4906-966F-63985B4FA64B\n",
			want:   []rec{{"line 1", "cn=a", "69d87ee0-ab58-4906-966f-63985b4fa64b", nil, ""}},
		},
		{
			name:   "undecodable guid anchor is a reject",
			anchor: "objectGUID",
			input:  "dn: cn=a\nobjectGUID:: AAEC\n\ndn: cn=b\nobjectGUID: nope\n\ndn: cn=c\nobjectGUID:: " + guid + "\n",
			want: []rec{
				{pos: "line 1", dn: "cn=a", reject: "guid: 3 bytes, want 16"},
				{pos: "line 4", dn: "cn=b", reject: `guid "nope": neither base64`},
				{"line 7", "cn=c", "69d87ee0-ab58-4906-966f-63985b4fa64b", nil, ""},
			},
		},
		{
			name:  "missing anchor is a reject and the read goes on",
			input: "dn: cn=a\nmail: a@x\n\ndn: cn=b\nentryUUID:\n\ndn: cn=c\nentryUUID: c\n",
			want: []rec{
				{pos: "line 1", dn: "cn=a", reject: "no anchor attribute entryuuid"},
				{pos: "line 4", dn: "cn=b", reject: "anchor attribute entryuuid is empty"},
				{"line 7", "cn=c", "c", map[string][]string{"entryuuid": {"c"}}, ""},
			},
		},
		{
			name:  "non utf-8 dn is a reject",
			input: "dn:: " + base64.StdEncoding.EncodeToString([]byte("cn=\xff")) + "\nentryUUID: x\n",
			want:  []rec{{pos: "line 1", dn: "base64:Y249/w==", anchor: "x", reject: "dn is not valid UTF-8"}},
		},
		{name: "empty file", input: ""},
		{name: "comments only", input: "version: 1\n# nothing\n\n"},
		{name: "changetype refused", input: "dn: cn=a\nchangetype: add\nentryUUID: a\n", readErr: "line 2: changetype: records are not supported"},
		{name: "control refused", input: "dn: cn=a\ncontrol: 1.2.3\n", readErr: "control: records are not supported"},
		{name: "url value refused", input: "dn: cn=a\njpegPhoto:< file:///etc/passwd\n", readErr: `line 2: attribute jpegphoto: values from URLs (":<") are refused`},
		{name: "bad base64", input: "dn: cn=a\ncn:: !!!\n", readErr: "line 2: attribute cn: bad base64"},
		{name: "no colon", input: "dn: cn=a\nentryUUID x\n", readErr: "line 2: no colon"},
		{name: "missing blank line", input: "dn: cn=a\nentryUUID: a\ndn: cn=b\n", readErr: "line 3: dn: inside the record of line 1"},
		{name: "record without dn", input: "entryUUID: a\n", readErr: `line 1: record starts with "entryuuid", want dn:`},
		{name: "leading continuation", input: " dn: cn=a\n", readErr: "line 1: continuation line (leading space) with no line to continue"},
		{name: "bad version", input: "version: 2\n", readErr: `unsupported LDIF version "2"`},
		{name: "bad attribute name", input: "dn: cn=a\nen try: x\n", readErr: `"en try" is not an attribute name`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			src, err := New(Config{Path: writeFile(t, tt.input), Anchor: tt.anchor}, nil)
			if err != nil {
				t.Fatal(err)
			}
			got, r := readAll(t, src)
			if len(got) != len(tt.want) {
				t.Errorf("got %d records, want %d: %+v", len(got), len(tt.want), got)
			}
			for i := range min(len(got), len(tt.want)) {
				g, w := got[i], tt.want[i]
				if g.Pos != w.pos || g.DN != w.dn || g.Anchor != w.anchor {
					t.Errorf("record %d: pos %q dn %q anchor %q; want %q %q %q", i, g.Pos, g.DN, g.Anchor, w.pos, w.dn, w.anchor)
				}
				if (w.reject == "") != (g.Reject == "") || !strings.Contains(g.Reject, w.reject) {
					t.Errorf("record %d: reject %q, want %q", i, g.Reject, w.reject)
				}
				if w.attrs != nil && !maps.EqualFunc(g.Attrs, w.attrs, slices.Equal) {
					t.Errorf("record %d: attrs\n got %q\nwant %q", i, g.Attrs, w.attrs)
				}
			}
			switch err := r.Err(); {
			case tt.readErr == "" && err != nil:
				t.Errorf("Err() = %v, want nil", err)
			case tt.readErr != "" && (err == nil || !strings.Contains(err.Error(), tt.readErr)):
				t.Errorf("Err() = %v, want one containing %q", err, tt.readErr)
			}
		})
	}
}

func readAll(t testing.TB, src *Source) ([]sources.Record, sources.Reader) {
	t.Helper()
	r, err := src.Open(context.Background(), sources.ReadRequest{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = r.Close() })
	var out []sources.Record
	for r.Next() {
		out = append(out, r.Record())
	}
	return out, r
}

func TestOpenErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, p := range []string{filepath.Join(dir, "missing.ldif"), dir} {
		src, err := New(Config{Path: p}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if r, err := src.Open(context.Background(), sources.ReadRequest{}); err == nil {
			r.Close()
			t.Errorf("Open(%s) succeeded, want an error", p)
		} else if !strings.Contains(err.Error(), p) {
			t.Errorf("Open error %q does not name %s", err, p)
		}
	}
}

// writeEntries writes n generated entries in the suite's shape, with long
// folded descriptions so the file is not trivially small.
func writeEntries(t testing.TB, n int) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "users.ldif")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	fmt.Fprintln(w, "version: 1")
	for i := range n {
		fmt.Fprintf(w, "\ndn: uid=user%d,ou=people,dc=example,dc=org\nobjectClass: inetOrgPerson\nentryUUID: %s\nmail: %s\ncn:: %s\ndescription: a somewhat long description of user %d that\n  is folded\n",
			i, sourcetest.Anchor(i), sourcetest.Mail(i), b64(fmt.Sprintf("Usér %d", i)), i)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return p
}

var errInjected = errors.New("injected I/O error")

// failAfter fails with errInjected once limit bytes are read.
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

func TestConformance(t *testing.T) {
	sourcetest.Run(t, sourcetest.Harness{
		New: func(t *testing.T, n int) sources.Source {
			src, err := New(Config{Path: writeEntries(t, n)}, nil)
			if err != nil {
				t.Fatal(err)
			}
			return src
		},
		Failing: func(t *testing.T, n, after int) sources.Source {
			src, err := New(Config{Path: writeEntries(t, n)}, nil)
			if err != nil {
				t.Fatal(err)
			}
			limit := int64(after) * 260 // entries are ~260 bytes
			src.open = func(path string) (io.ReadCloser, error) {
				f, err := os.Open(path)
				if err != nil {
					return nil, err
				}
				return &failAfter{f: f, limit: limit}, nil
			}
			return src
		},
		Large: 20_000,
	})
}
