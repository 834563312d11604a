package csvsource

import (
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/syncd/syncd/sources"
)

// FuzzCSV feeds arbitrary bytes as the file. It checks that the source never
// panics, that every record it yields is either anchored or a reject, and
// that a read ends either complete or with an error, in bounded steps.
func FuzzCSV(f *testing.F) {
	seeds := []string{
		"id,mail\n1,a@x.org\n",
		"\uFEFFid,mail\r\n1,a\r\n2,b",
		"id,mail\n1,\"multi\nline\"\n2,\"q \"\"x\"\"\"\n",
		"id,mail\n1,a\"b\n2,\"a\"b\n3,\"open\n",
		"id,mail\n\xff,\xfe\n1,caf\xe9\n",
		"id,mail\n1,a\n1,b\n,c\n2\n3,c,d\n",
		"id,groups\n1, a ;b;;\n",
		"ID\n\n\n1\n#c\n",
		"",
		"\uFEFF",
		"\"id\nmail\"\n",
		"id,id\n",
		"id\r\r\n1\r",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		src, err := New(Config{Path: "fuzz.csv", Key: "id", MultiValueSeparator: ";", Comment: "#"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		src.open = func(string) (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
		r, err := src.Open(context.Background(), sources.ReadRequest{})
		if err != nil {
			return // an honest refusal
		}
		defer r.Close()
		n := 0
		for r.Next() {
			n++
			if n > len(data)+1 {
				t.Fatalf("more records (%d) than bytes (%d)", n, len(data))
			}
			rec := r.Record()
			if rec.Anchor == "" && rec.Reject == "" {
				t.Fatalf("record at %s has neither an anchor nor a reject", rec.Pos)
			}
			if rec.Reject == "" {
				if len(rec.Attrs["id"]) == 0 {
					t.Fatalf("record %q lacks its key attribute: %q", rec.Anchor, rec.Attrs)
				}
				for k, vs := range rec.Attrs {
					if len(vs) == 0 {
						t.Fatalf("attribute %q present with no values", k)
					}
					for _, v := range vs {
						if v == "" {
							t.Fatalf("attribute %q has an empty value", k)
						}
					}
				}
			}
		}
		if r.Err() == nil && r.Cursor() == nil {
			t.Fatal("complete read without a cursor")
		}
		if r.Err() != nil && r.Cursor() != nil {
			t.Fatal("failed read with a cursor")
		}
	})
}
