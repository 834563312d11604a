package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestEscapeText(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"plain\tline\n":            "plain\tline\n",
		"E1\x1b[2J":                `E1\u001b[2J`,
		"\x1b]0;pwned\x07":         `\u001b]0;pwned\u0007`,
		"a\rb\x7fc":                `a\u000db\u007fc`,
		"c1\u0085\u009b31m":        `c1\u0085\u009b31m`,
		"bidi \u202eevil\u2066":    `bidi \u202eevil\u2066`,
		"é ü → ★ 漢字":               "é ü → ★ 漢字",
		"invalid \xff\xc2 bytes":   "invalid \xff\xc2 bytes",
		"\u00a0 nbsp is printable": "\u00a0 nbsp is printable",
	} {
		if got := escapeText(in); got != want {
			t.Errorf("escapeText(%q) = %q, want %q", in, got, want)
		}
		// The writer gives the same, however the input is cut.
		for cut := 0; cut <= len(in); cut++ {
			var b bytes.Buffer
			e := newTextEscaper(&b)
			_, _ = e.Write([]byte(in[:cut]))
			_, _ = e.Write([]byte(in[cut:]))
			_ = e.Flush()
			if b.String() != want {
				t.Errorf("textEscaper(%q cut at %d) = %q, want %q", in, cut, b.String(), want)
			}
		}
	}
}

// TestEscapedJSONStaysJSON: under --output json the escaper only rewrites
// characters inside strings into equivalent \u escapes.
func TestEscapedJSONStaysJSON(t *testing.T) {
	t.Parallel()
	v := map[string]string{"anchor": "E1\x1b[2J\u0085\u202e\x7f", "name": "ok\n"}
	raw, _ := json.Marshal(v)
	var b bytes.Buffer
	e := newTextEscaper(&b)
	_, _ = e.Write(raw)
	_ = e.Flush()
	var back map[string]string
	if err := json.Unmarshal(b.Bytes(), &back); err != nil || back["anchor"] != v["anchor"] || back["name"] != v["name"] {
		t.Fatalf("escaped JSON %s: %v %q", b.String(), err, back)
	}
	if strings.ContainsAny(b.String(), "\x1b\x7f\u0085\u202e") || !utf8.Valid(b.Bytes()) {
		t.Errorf("raw controls left: %q", b.String())
	}
}

func FuzzTextEscaper(f *testing.F) {
	for _, s := range []string{"a\x1b[2Jb", "\u0085\u202e", "\xc2", "\xe2\x80", "ok\n"} {
		f.Add(s, 1)
	}
	f.Fuzz(func(t *testing.T, in string, cut int) {
		if cut < 0 || cut > len(in) {
			cut = len(in)
		}
		var b bytes.Buffer
		e := newTextEscaper(&b)
		_, _ = e.Write([]byte(in[:cut]))
		_, _ = e.Write([]byte(in[cut:]))
		_ = e.Flush()
		if b.String() != escapeText(in) {
			t.Fatalf("writer %q, escapeText %q", b.String(), escapeText(in))
		}
		for _, r := range b.String() {
			if r != utf8.RuneError && mustEscape(r) {
				t.Fatalf("%q left in %q", r, b.String())
			}
		}
	})
}
