package ldifsource

import (
	"encoding/base64"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/syncd/syncd/sources/internal/dirattr"
)

// Binary attributes are decoded exactly as sources/ldapsource decodes them
// (sources/internal/dirattr), so an LDIF export of a directory yields the
// Records a live read would.

// attrKind says how values of the attribute named name (lower case,
// options stripped) are decoded.
func attrKind(name string) dirattr.Kind { return dirattr.KindOf(name) }

// decodeRaw turns a value given in base64 (raw bytes) into text.
func decodeRaw(kind dirattr.Kind, raw []byte) (string, error) { return dirattr.Decode(kind, raw) }

// decodeText checks a value given as text. Hand-written fixtures may give a
// GUID or SID in its text form; it is accepted (a GUID lower-cased).
func decodeText(kind dirattr.Kind, s string) (string, error) {
	switch kind {
	case dirattr.GUID:
		if !dirattr.IsGUIDString(s) {
			return "", fmt.Errorf("guid %q: neither base64 of 16 bytes (use \"::\") nor a GUID string", s)
		}
		return strings.ToLower(s), nil
	case dirattr.SID:
		if !strings.HasPrefix(s, "S-1-") {
			return "", fmt.Errorf("sid %q: neither base64 (use \"::\") nor an S-1-... string", s)
		}
	case dirattr.Binary:
		return base64.StdEncoding.EncodeToString([]byte(s)), nil
	}
	if !utf8.ValidString(s) {
		return "base64:" + base64.StdEncoding.EncodeToString([]byte(s)), nil
	}
	return s, nil
}
