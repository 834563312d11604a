package ldifsource

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/syncd/syncd/sources"
)

// FuzzLDIF feeds arbitrary bytes as the file: no panic, every record is
// either anchored or a reject, attribute names are lower case, every value
// is valid UTF-8, and the read ends (complete or with an error).
func FuzzLDIF(f *testing.F) {
	seeds := []string{
		"version: 1\n\ndn: cn=a\nentryUUID: a\nmail: a@x\n",
		"dn: cn=a\n objectGUID:: 4H7YaVirBkmWb2OYW0+mSw==\n",
		"dn: cn=a\nobjectGUID:: 4H7YaVirBkmWb2OYW0+mSw==\nobjectSid:: AQEAAAAAAAUSAAAA\n",
		"# c\n  folded comment\ndn: cn=x,\n dc=y\nentryUUID: 1\n 2\n\n\ndn: cn=b\n",
		"dn:: Y249/w==\nentryUUID:: /w==\n",
		"dn: cn=a\r\nentryUUID: a\r\n\r\ndn: cn=b\r\nchangetype: delete\r\n",
		"dn: cn=a\njpegPhoto:< file:///x\n",
		" \n",
		"dn:\n",
		"version: 1\nversion: 1\n",
		"dn: cn=a\ncn;lang-en;binary:: AAEC\nentryUUID: z",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, anchor := range []string{"entryUUID", "objectGUID"} {
			src, err := New(Config{Path: "fuzz.ldif", Anchor: anchor}, nil)
			if err != nil {
				t.Fatal(err)
			}
			src.open = func(string) (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
			r, err := src.Open(context.Background(), sources.ReadRequest{})
			if err != nil {
				t.Fatalf("Open over bytes: %v", err)
			}
			n := 0
			for r.Next() {
				if n++; n > len(data) {
					t.Fatalf("more records (%d) than bytes (%d)", n, len(data))
				}
				rec := r.Record()
				if rec.Anchor == "" && rec.Reject == "" {
					t.Fatalf("record at %s has neither an anchor nor a reject", rec.Pos)
				}
				for k, vs := range rec.Attrs {
					if k != strings.ToLower(k) {
						t.Fatalf("attribute name %q not lower case", k)
					}
					for _, v := range vs {
						if !utf8.ValidString(v) {
							t.Fatalf("attribute %s: value %q is not valid UTF-8", k, v)
						}
					}
				}
				if !utf8.ValidString(rec.DN) {
					t.Fatalf("dn %q is not valid UTF-8", rec.DN)
				}
				if !utf8.ValidString(rec.Anchor) {
					t.Fatalf("anchor %q is not valid UTF-8", rec.Anchor)
				}
			}
			_ = r.Err()
			if err := r.Close(); err != nil {
				t.Fatal(err)
			}
		}
	})
}
