package ldapsource

import (
	"encoding/hex"
	"regexp"
	"strings"
	"testing"
)

func TestDecodeGUID(t *testing.T) {
	tests := []struct{ hex, want, err string }{
		// objectGUID as stored by AD/Samba and as samba-tool prints it.
		{"e07ed86958ab0649966f63985b4fa64b", "69d87ee0-ab58-4906-966f-63985b4fa64b", ""},
		{"00000000000000000000000000000000", "00000000-0000-0000-0000-000000000000", ""},
		{"ffffffffffffffffffffffffffffffff", "ffffffff-ffff-ffff-ffff-ffffffffffff", ""},
		{"0102030405060708090a0b0c0d0e0f10", "04030201-0605-0807-090a-0b0c0d0e0f10", ""},
		{"0102", "", "2 bytes, want 16"},
		{"", "", "0 bytes"},
	}
	for _, tt := range tests {
		b, _ := hex.DecodeString(tt.hex)
		got, err := DecodeGUID(b)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("DecodeGUID(%s) err = %v, want %q", tt.hex, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("DecodeGUID(%s) = %q, %v; want %q", tt.hex, got, err, tt.want)
		}
	}
}

func TestDecodeSID(t *testing.T) {
	tests := []struct{ hex, want, err string }{
		// S-1-5-21-3623811015-3361044348-30300820-1013 (MS-DTYP example)
		{"010500000000000515000000c7f7fed77c7755c8945ace01f5030000", "S-1-5-21-3623811015-3361044348-30300820-1013", ""},
		{"010100000000000512000000", "S-1-5-18", ""}, // LocalSystem
		{"010000000000000100", "", "9 bytes for 0 sub-authorities"},
		{"010000000000000000", "", "9 bytes"},
		{"0100000000000001", "S-1-1", ""},    // no sub-authorities: S-1-1
		{"0101ffffffffffff00000000", "", ""}, // authority >= 2^32: printed in hex
		{"020100000000000512000000", "", "revision 2"},
		{"011000000000000512000000", "", "16 sub-authorities"},
		{"0105000000", "", "5 bytes"},
	}
	for _, tt := range tests {
		b, _ := hex.DecodeString(tt.hex)
		got, err := DecodeSID(b)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("DecodeSID(%s) err = %v, want %q", tt.hex, err, tt.err)
			}
			continue
		}
		if tt.want == "" {
			tt.want = "S-1-0xFFFFFFFFFFFF-0"
		}
		if err != nil || got != tt.want {
			t.Errorf("DecodeSID(%s) = %q, %v; want %q", tt.hex, got, err, tt.want)
		}
	}
}

var (
	guidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	sidRE  = regexp.MustCompile(`^S-1-(?:[0-9]+|0x[0-9A-F]{12})(?:-[0-9]+)*$`)
)

func FuzzDecodeGUID(f *testing.F) {
	for _, s := range []string{"e07ed86958ab0649966f63985b4fa64b", "00", "ffffffffffffffffffffffffffffffff", "0102030405060708090a0b0c0d0e0f1011"} {
		b, _ := hex.DecodeString(s)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := DecodeGUID(b)
		if (err == nil) != (len(b) == 16) {
			t.Fatalf("len %d: err = %v", len(b), err)
		}
		if err != nil {
			return
		}
		if !guidRE.MatchString(s) {
			t.Fatalf("DecodeGUID(%x) = %q: not a canonical GUID", b, s)
		}
		// Round trip: re-encode the string into AD byte order.
		h, _ := hex.DecodeString(strings.ReplaceAll(s, "-", ""))
		back := []byte{h[3], h[2], h[1], h[0], h[5], h[4], h[7], h[6]}
		back = append(back, h[8:]...)
		if string(back) != string(b) {
			t.Fatalf("round trip of %x gave %x", b, back)
		}
	})
}

func FuzzDecodeSID(f *testing.F) {
	for _, s := range []string{
		"010500000000000515000000c7f7fed77c7755c8945ace01f5030000",
		"010100000000000512000000", "0100000000000001", "0101ffffffffffff00000000", "01ff", "",
	} {
		b, _ := hex.DecodeString(s)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := DecodeSID(b)
		if err != nil {
			return
		}
		if !sidRE.MatchString(s) {
			t.Fatalf("DecodeSID(%x) = %q: not a SID string", b, s)
		}
		if n := strings.Count(s, "-") - 2; n != int(b[1]) {
			t.Fatalf("DecodeSID(%x) = %q: %d sub-authorities, header says %d", b, s, n, b[1])
		}
	})
}

func TestParseRange(t *testing.T) {
	tests := []struct {
		in     string
		lo, hi int
		ok     bool
	}{
		{"0-1499", 0, 1499, true},
		{"1500-*", 1500, -1, true},
		{"0-*;binary", 0, -1, true},
		{"5-3", 0, 0, false},
		{"x-3", 0, 0, false},
		{"3", 0, 0, false},
		{"-1-5", 0, 0, false},
	}
	for _, tt := range tests {
		lo, hi, ok := parseRange(tt.in)
		if lo != tt.lo || hi != tt.hi || ok != tt.ok {
			t.Errorf("parseRange(%q) = %d, %d, %v; want %d, %d, %v", tt.in, lo, hi, ok, tt.lo, tt.hi, tt.ok)
		}
	}
}
