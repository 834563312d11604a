package ldifsource

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// These decoders mirror sources/ldapsource's (DecodeGUID, DecodeSID,
// decodeValue) so an LDIF export of a directory yields the Records a live
// read would. They are kept unexported here rather than imported so that
// reading a fixture does not pull in the LDAP client.

// decodeGUID turns a 16-byte Microsoft GUID into its canonical lower-case
// string: the first three fields are stored little-endian, the last two as
// bytes in order.
//
//	e07ed869 58ab 0649 966f 63985b4fa64b  ->  69d87ee0-ab58-4906-966f-63985b4fa64b
func decodeGUID(b []byte) (string, error) {
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

// isGUIDString reports whether s is a GUID in its 8-4-4-4-12 hex text form.
func isGUIDString(s string) bool {
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

// decodeSID turns a binary security identifier (objectSid, MS-DTYP 2.4.2)
// into its string form, e.g. S-1-5-21-3623811015-3361044348-30300820-1013.
func decodeSID(b []byte) (string, error) {
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

// Attribute kinds that are binary on the wire and decoded on purpose.
const (
	kindText = iota
	kindGUID
	kindSID
	kindBinary
)

// attrKind says how values of the attribute named name (lower case,
// options stripped) are decoded; the list matches sources/ldapsource.
func attrKind(name string) int {
	switch name {
	case "objectguid", "ms-ds-consistencyguid", "msexchmailboxguid":
		return kindGUID
	case "objectsid", "sidhistory", "securityidentifier":
		return kindSID
	case "jpegphoto", "thumbnailphoto", "usercertificate", "usersmimecertificate",
		"cacertificate", "userpkcs12", "logonhours", "msexchmailboxsecuritydescriptor",
		"ntsecuritydescriptor":
		return kindBinary
	}
	return kindText
}

// decodeRaw turns a value given in base64 (raw bytes) into text.
func decodeRaw(kind int, raw []byte) (string, error) {
	switch kind {
	case kindGUID:
		return decodeGUID(raw)
	case kindSID:
		return decodeSID(raw)
	case kindBinary:
		return base64.StdEncoding.EncodeToString(raw), nil
	}
	if utf8.Valid(raw) {
		return string(raw), nil
	}
	return "base64:" + base64.StdEncoding.EncodeToString(raw), nil
}

// decodeText checks a value given as text. Hand-written fixtures may give a
// GUID or SID in its text form; it is accepted (a GUID lower-cased).
func decodeText(kind int, s string) (string, error) {
	switch kind {
	case kindGUID:
		if !isGUIDString(s) {
			return "", fmt.Errorf("guid %q: neither base64 of 16 bytes (use \"::\") nor a GUID string", s)
		}
		return strings.ToLower(s), nil
	case kindSID:
		if !strings.HasPrefix(s, "S-1-") {
			return "", fmt.Errorf("sid %q: neither base64 (use \"::\") nor an S-1-... string", s)
		}
	case kindBinary:
		return base64.StdEncoding.EncodeToString([]byte(s)), nil
	}
	if !utf8.ValidString(s) {
		return "base64:" + base64.StdEncoding.EncodeToString([]byte(s)), nil
	}
	return s, nil
}
