package ldapsource

import (
	"bufio"
	"bytes"
	"strings"
	"testing"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/go-ldap/ldap/v3"
)

// encodeEntry builds a SearchResultEntry message the way a server does.
func encodeEntry(id int64, dn string, attrs [][2]any) []byte {
	p := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "LDAPMessage")
	p.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, id, "id"))
	op := ber.Encode(ber.ClassApplication, ber.TypeConstructed, ldap.ApplicationSearchResultEntry, nil, "entry")
	op.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, dn, "dn"))
	list := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "attrs")
	for _, a := range attrs {
		pa := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "attr")
		pa.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, a[0].(string), "type"))
		set := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSet, nil, "vals")
		for _, v := range a[1].([]string) {
			set.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, v, "v"))
		}
		pa.AppendChild(set)
		list.AppendChild(pa)
	}
	op.AppendChild(list)
	p.AppendChild(op)
	return p.Bytes()
}

func TestDecodeEntry(t *testing.T) {
	big := strings.Repeat("x", 70_000) // long-form lengths on every level
	msg := encodeEntry(7, "uid=a,dc=test", [][2]any{
		{"mail", []string{"a@example.test", "b@example.test"}},
		{"jpegPhoto", []string{big}},
		{"empty", []string{}},
	})
	if op := messageOp(msg); op != tagSearchResultEntry {
		t.Fatalf("messageOp = %#x", op)
	}
	var buf []byte
	read, err := readMessage(bufio.NewReader(bytes.NewReader(append(msg, msg...))), &buf)
	if err != nil || !bytes.Equal(read, msg) {
		t.Fatalf("readMessage: %v (%d bytes, want %d)", err, len(read), len(msg))
	}
	e, err := decodeEntry(msg)
	if err != nil {
		t.Fatal(err)
	}
	if e.dn != "uid=a,dc=test" || len(e.attrs) != 3 || e.attrs[0].name != "mail" ||
		strings.Join(e.attrs[0].vals, ",") != "a@example.test,b@example.test" || e.attrs[1].vals[0] != big ||
		len(e.attrs[2].vals) != 0 {
		t.Errorf("decoded %+v", e)
	}
	for cut := range len(msg) - 1 {
		if _, err := decodeEntry(msg[:cut]); err == nil && cut < len(msg) {
			t.Fatalf("truncated at %d of %d: no error", cut, len(msg))
		}
	}
}

// FuzzDecodeEntry: whatever a server sends, decodeEntry returns an error
// or an entry, never panics, and agrees with go-ldap's decoder.
func FuzzDecodeEntry(f *testing.F) {
	f.Add(encodeEntry(1, "uid=a,dc=test", [][2]any{{"mail", []string{"a@b"}}}))
	f.Add(encodeEntry(300, "", nil))
	f.Add(encodeEntry(2, "cn=x", [][2]any{{"objectGUID", []string{"\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f"}}, {"m", []string{strings.Repeat("y", 300)}}}))
	f.Add([]byte{0x30, 0x84, 0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{0x30, 0x05, 0x02, 0x01, 0x01, 0x64, 0x00})
	f.Fuzz(func(t *testing.T, msg []byte) {
		e, err := decodeEntry(msg)
		_ = messageOp(msg)
		_, _, _ = extendedResult(msg)
		var buf []byte
		_, _ = readMessage(bufio.NewReader(bytes.NewReader(msg)), &buf)
		if err != nil {
			return
		}
		// Re-encode and decode again: same entry.
		attrs := make([][2]any, len(e.attrs))
		for i, a := range e.attrs {
			attrs[i] = [2]any{a.name, a.vals}
		}
		e2, err := decodeEntry(encodeEntry(1, e.dn, attrs))
		if err != nil {
			t.Fatalf("re-encoded entry does not decode: %v", err)
		}
		if e2.dn != e.dn || len(e2.attrs) != len(e.attrs) {
			t.Fatalf("round trip: %+v != %+v", e2, e)
		}
		for i := range e.attrs {
			if e2.attrs[i].name != e.attrs[i].name || strings.Join(e2.attrs[i].vals, "\x00") != strings.Join(e.attrs[i].vals, "\x00") {
				t.Fatalf("round trip attr %d: %+v != %+v", i, e2.attrs[i], e.attrs[i])
			}
		}
	})
}

func TestExtendedResult(t *testing.T) {
	// ExtendedResponse: SEQUENCE { 1, [APPLICATION 24] { ENUMERATED 2, "", "unsupported" } }
	msg := []byte{0x30, 0x17, 0x02, 0x01, 0x01, 0x78, 0x12, 0x0a, 0x01, 0x02, 0x04, 0x00, 0x04, 0x0b}
	msg = append(msg, "unsupported"...)
	code, diag, err := extendedResult(msg)
	if err != nil || code != 2 || diag != "unsupported" {
		t.Fatalf("extendedResult = %d, %q, %v", code, diag, err)
	}
	if _, _, err := extendedResult(msg[:8]); err == nil {
		t.Error("truncated response decoded without error")
	}
}
