package ldapsource

import (
	"encoding/base64"
	"unicode/utf8"

	"github.com/syncd/syncd/sources/internal/dirattr"
)

// DecodeGUID turns a 16-byte Microsoft GUID (objectGUID and friends) into
// its canonical lower-case string, exactly as samba-tool and PowerShell
// print it.
func DecodeGUID(b []byte) (string, error) { return dirattr.DecodeGUID(b) }

// DecodeSID turns a binary security identifier (objectSid) into its string
// form, e.g. S-1-5-21-3623811015-3361044348-30300820-1013.
func DecodeSID(b []byte) (string, error) { return dirattr.DecodeSID(b) }

// Value kinds, as sources/internal/dirattr defines them.
const (
	kindText = dirattr.Text
	kindGUID = dirattr.GUID
)

// attrKind says how values of the attribute named name (lower case, options
// stripped) are decoded.
func attrKind(name string) dirattr.Kind { return dirattr.KindOf(name) }

// decodeValue turns one raw value into text (see dirattr.Decode).
func decodeValue(kind dirattr.Kind, raw []byte) (string, error) { return dirattr.Decode(kind, raw) }

func b64(raw []byte) string { return base64.StdEncoding.EncodeToString(raw) }

// isUTF8String is utf8.ValidString with an ASCII fast path.
func isUTF8String(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return utf8.ValidString(s)
		}
	}
	return true
}
