package dirattr

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// DecodeGUID turns a 16-byte Microsoft GUID (objectGUID and friends) into
// its canonical lower-case string, exactly as samba-tool and PowerShell
// print it: the first three fields are stored little-endian, the last two
// as bytes in order.
//
//	e07ed869 58ab 0649 966f 63985b4fa64b  ->  69d87ee0-ab58-4906-966f-63985b4fa64b
func DecodeGUID(b []byte) (string, error) {
	if len(b) != 16 {
		return "", fmt.Errorf("guid: %d bytes, want 16", len(b))
	}
	var u [16]byte
	binary.BigEndian.PutUint32(u[0:4], binary.LittleEndian.Uint32(b[0:4]))
	binary.BigEndian.PutUint16(u[4:6], binary.LittleEndian.Uint16(b[4:6]))
	binary.BigEndian.PutUint16(u[6:8], binary.LittleEndian.Uint16(b[6:8]))
	copy(u[8:], b[8:])
	var out [36]byte
	hex.Encode(out[0:8], u[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], u[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], u[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], u[8:10])
	out[23] = '-'
	hex.Encode(out[24:36], u[10:16])
	return string(out[:]), nil
}

// DecodeSID turns a binary security identifier (objectSid, MS-DTYP 2.4.2)
// into its string form, e.g. S-1-5-21-3623811015-3361044348-30300820-1013.
// An identifier authority of 2^32 or more is printed in hex (0x...), as
// MS-DTYP 2.4.2.1 prescribes.
func DecodeSID(b []byte) (string, error) {
	if len(b) < 8 {
		return "", fmt.Errorf("sid: %d bytes, want at least 8", len(b))
	}
	rev, n := b[0], int(b[1])
	if rev != 1 {
		return "", fmt.Errorf("sid: revision %d, want 1", rev)
	}
	if n > 15 {
		return "", fmt.Errorf("sid: %d sub-authorities, at most 15 allowed", n)
	}
	if len(b) != 8+4*n {
		return "", fmt.Errorf("sid: %d bytes for %d sub-authorities, want %d", len(b), n, 8+4*n)
	}
	var auth uint64
	for _, c := range b[2:8] {
		auth = auth<<8 | uint64(c)
	}
	var sb strings.Builder
	sb.Grow(8 + 11*n)
	sb.WriteString("S-1-")
	if auth >= 1<<32 {
		fmt.Fprintf(&sb, "0x%012X", auth)
	} else {
		sb.WriteString(strconv.FormatUint(auth, 10))
	}
	for i := range n {
		sb.WriteByte('-')
		sb.WriteString(strconv.FormatUint(uint64(binary.LittleEndian.Uint32(b[8+4*i:])), 10))
	}
	return sb.String(), nil
}

// Kind says how an attribute's values are decoded.
type Kind int

// Kinds of attribute value.
const (
	Text   Kind = iota // UTF-8 text; invalid UTF-8 becomes "base64:..."
	GUID               // 16 bytes -> canonical GUID string
	SID                // binary SID -> S-1-...
	Binary             // any bytes -> standard base64
)

var kinds = map[string]Kind{
	"objectguid":                      GUID,
	"ms-ds-consistencyguid":           GUID,
	"msexchmailboxguid":               GUID,
	"objectsid":                       SID,
	"sidhistory":                      SID,
	"securityidentifier":              SID,
	"jpegphoto":                       Binary,
	"thumbnailphoto":                  Binary,
	"usercertificate":                 Binary,
	"usersmimecertificate":            Binary,
	"cacertificate":                   Binary,
	"userpkcs12":                      Binary,
	"logonhours":                      Binary,
	"msexchmailboxsecuritydescriptor": Binary,
	"ntsecuritydescriptor":            Binary,
}

// KindOf says how values of the attribute named name (lower case, options
// stripped) are decoded.
func KindOf(name string) Kind { return kinds[name] }

// Decode turns one raw value into text: GUIDs and SIDs into their canonical
// strings, other binary attributes into standard base64. A text attribute
// whose value is not valid UTF-8 is base64-encoded too, prefixed with
// "base64:", so that bytes never reach the mapper as broken text.
func Decode(kind Kind, raw []byte) (string, error) {
	switch kind {
	case GUID:
		return DecodeGUID(raw)
	case SID:
		return DecodeSID(raw)
	case Binary:
		return base64.StdEncoding.EncodeToString(raw), nil
	}
	if utf8.Valid(raw) {
		return string(raw), nil
	}
	return "base64:" + base64.StdEncoding.EncodeToString(raw), nil
}

// IsGUIDString reports whether s is a GUID in its 8-4-4-4-12 hex text form.
func IsGUIDString(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := range len(s) {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}

// Key is how every directory source (live LDAP, LDIF) names an attribute
// in a Record: the attribute description lower-cased, with its options
// kept (givenName;lang-de is not givenName: a tagged value is another
// value), and base, the name without options, which decides how values
// decode (KindOf). A live read removes AD's range option before calling it.
func Key(desc string) (key, base string) {
	key = strings.ToLower(desc)
	base, _, _ = strings.Cut(key, ";")
	return key, base
}
