// Package ldifsource reads directory entries from an LDIF file (RFC 2849
// content records), for `syncd map --input x.ldif` and for tests that want
// an LDAP-shaped source without a server.
//
// Supported: `dn:` records separated by blank lines, `attr: value`,
// `attr:: base64`, folded lines (a continuation line starts with one
// space), `#` comments and a leading `version: 1`. Attribute names are
// folded to lower case and options such as `;binary` are stripped. Binary
// attributes are decoded as sources/ldapsource decodes them, so a fixture
// exported from Active Directory yields the same Records a live read would:
// objectGUID (base64, 16 bytes) becomes the canonical GUID string, objectSid
// its S-1-... form, other known binary attributes standard base64, and any
// other value that is not valid UTF-8 "base64:" followed by its base64.
//
// Refused with an error, since fixtures are plain content: change records
// (`changetype:`), `control:` lines and values read from URLs (`attr:<`).
// A syntax error or an I/O error ends the read with Err set. An entry
// without the anchor attribute, or with one that cannot be decoded, becomes
// a record with Reject set and the read goes on.
package ldifsource
