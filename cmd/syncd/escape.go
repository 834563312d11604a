package main

import (
	"io"
	"strconv"
	"unicode/utf8"
)

// Values from the source (anchors, names, a CSV cell) and from PingOne reach
// the terminal of whoever reads a plan: raw, an ESC[2J clears the
// reviewer's screen, an OSC sequence retitles the terminal, and a bidi
// override makes "disable alice" read as something else. Every text
// syncd prints goes through escapeText (stderr's messages) or a
// textEscaper (stdout, whole), which write C0 controls but line feed and
// tab, DEL, C1 controls and the bidi embedding, override and isolate
// characters as \u00XX escapes. The same escape is valid inside a JSON
// string, so the escaper can sit under --output json too, where it changes
// nothing encoding/json has not already escaped but DEL, C1 and bidi
// characters, which it writes in their equivalent \u form.

// mustEscape reports whether r is printed as an escape.
func mustEscape(r rune) bool {
	switch {
	case r == '\n' || r == '\t':
		return false
	case r < 0x20, r == 0x7f, r >= 0x80 && r <= 0x9f:
		return true
	case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true
	}
	return false
}

// appendEscape appends r as \u00XX (or \uXXXX).
func appendEscape(b []byte, r rune) []byte {
	h := strconv.FormatInt(int64(r), 16)
	b = append(b, `\u`...)
	for i := len(h); i < 4; i++ {
		b = append(b, '0')
	}
	return append(b, h...)
}

// escapeText returns s with every character mustEscape names escaped.
func escapeText(s string) string {
	clean := true
	for _, r := range s {
		if r != utf8.RuneError && mustEscape(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	b := make([]byte, 0, len(s)+16)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r != utf8.RuneError && mustEscape(r) {
			b = appendEscape(b, r)
		} else {
			b = append(b, s[i:i+size]...) // invalid bytes pass as they are
		}
		i += size
	}
	return string(b)
}

// textEscaper is an io.Writer that escapes what mustEscape names on its
// way to w. A multi-byte character split across two writes is held back
// until it is whole (or proves invalid).
type textEscaper struct {
	w    io.Writer
	pend []byte
	buf  []byte
}

func newTextEscaper(w io.Writer) *textEscaper { return &textEscaper{w: w} }

// interesting reports whether byte c may start something to escape: a
// control, DEL, or the lead byte of a C1 (0xC2) or bidi (0xE2) character.
func interesting(c byte) bool {
	return (c < 0x20 && c != '\n' && c != '\t') || c == 0x7f || c == 0xc2 || c == 0xe2
}

// Write escapes p. It reports len(p) on success: the caller's bytes were
// all taken, however many were written.
func (e *textEscaper) Write(p []byte) (int, error) {
	in := p
	if len(e.pend) > 0 {
		in = append(e.pend, p...)
		e.pend = nil
	}
	i := 0
	for i < len(in) && !interesting(in[i]) {
		i++
	}
	if i == len(in) {
		_, err := e.w.Write(in)
		return len(p), err
	}
	out := append(e.buf[:0], in[:i]...)
	for i < len(in) {
		c := in[i]
		if !interesting(c) {
			out = append(out, c)
			i++
			continue
		}
		if c >= 0x80 && !utf8.FullRune(in[i:]) {
			e.pend = append([]byte(nil), in[i:]...)
			break
		}
		r, size := utf8.DecodeRune(in[i:])
		if r != utf8.RuneError && mustEscape(r) {
			out = appendEscape(out, r)
		} else {
			out = append(out, in[i:i+size]...)
		}
		i += size
	}
	e.buf = out[:0]
	_, err := e.w.Write(out)
	return len(p), err
}

// Flush writes a held-back incomplete character as it is (it never
// completed: it is not a control).
func (e *textEscaper) Flush() error {
	if len(e.pend) == 0 {
		return nil
	}
	_, err := e.w.Write(e.pend)
	e.pend = nil
	return err
}
