package dirattr

import (
	"encoding/hex"
	"testing"
)

func TestDecodeSIDAndGUID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		kind    Kind
		hex     string
		want    string
		wantErr string
	}{
		{GUID, "e07ed86958ab0649966f63985b4fa64b", "69d87ee0-ab58-4906-966f-63985b4fa64b", ""},
		{GUID, "e07e", "", "guid: 2 bytes, want 16"},
		{SID, "010100000000000512000000", "S-1-5-18", ""},
		{SID, "01010000000000051200", "", "sid: 10 bytes for 1 sub-authorities, want 12"},
		{SID, "020100000000000512000000", "", "sid: revision 2, want 1"},
		{SID, "0100ffffffffffff", "S-1-0xFFFFFFFFFFFF", ""},
	}
	for _, tt := range tests {
		t.Run(tt.hex, func(t *testing.T) {
			b, _ := hex.DecodeString(tt.hex)
			got, err := Decode(tt.kind, b)
			if got != tt.want || (err == nil) != (tt.wantErr == "") || (err != nil && err.Error() != tt.wantErr) {
				t.Errorf("Decode(%d, %s) = %q, %v; want %q, %q", tt.kind, tt.hex, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestKindsAndText(t *testing.T) {
	if KindOf("objectguid") != GUID || KindOf("objectsid") != SID || KindOf("jpegphoto") != Binary || KindOf("mail") != Text {
		t.Error("KindOf")
	}
	if got, _ := Decode(Text, []byte{0xff, 'a'}); got != "base64:/2E=" {
		t.Errorf("invalid UTF-8 text = %q", got)
	}
	if got, _ := Decode(Binary, []byte("hi")); got != "aGk=" {
		t.Errorf("binary = %q", got)
	}
	if !IsGUIDString("69D87EE0-ab58-4906-966f-63985b4fa64b") || IsGUIDString("69d87ee0ab584906966f63985b4fa64b") {
		t.Error("IsGUIDString")
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(0, []byte("text"))
	f.Add(1, []byte("0123456789abcdef"))
	f.Add(2, []byte{1, 1, 0, 0, 0, 0, 0, 5, 18, 0, 0, 0})
	f.Fuzz(func(t *testing.T, k int, b []byte) {
		kind := Kind(((k % 4) + 4) % 4)
		s, err := Decode(kind, b)
		if err == nil && kind == GUID && !IsGUIDString(s) {
			t.Fatalf("GUID decoded to %q", s)
		}
	})
}
