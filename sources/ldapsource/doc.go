// Package ldapsource reads users from an LDAP directory (OpenLDAP, 389-ds)
// or Active Directory (and Samba AD) as sources.Records.
//
// A read is a paged search (RFC 2696) over each configured base DN in turn,
// streamed one page at a time: memory holds one page, whatever the size of
// the directory. TLS verifies certificates by default (ldaps:// or
// StartTLS); plain ldap:// needs an explicit allow_plaintext.
//
// Completeness (DESIGN invariant 1): a dropped connection, a timeout, a
// size/time/admin limit, a missing paged-results control, a base DN that
// does not exist, a cancelled context: each ends the read with a
// *ReadError naming the base DN and page, never with a shorter read that
// looks complete. Referrals (continuation references) are not followed;
// they are logged at debug level.
//
// Identity is the anchor attribute: entryUUID by default, objectGUID for
// AD (decoded from its 16 mixed-endian bytes to the canonical string, see
// DecodeGUID), or any attribute named in the config. Binary attributes are
// decoded on purpose: GUIDs and SIDs (DecodeSID) to their text forms,
// photos and certificates to base64, other non-UTF-8 values to "base64:..."
// text. An entry without a usable anchor becomes a Record with Reject set.
//
// Decoding: go-ldap turns every message into a tree of go-asn1-ber packets,
// which made a 100k-user read ~5x slower than ldapsearch. The connection
// go-ldap uses is wrapped (demuxConn, inside TLS): while a paged search
// runs, SearchResultEntry messages are taken out of the stream and decoded
// directly, one allocation for all the strings of an entry. go-ldap still
// handles bind, result codes, controls and everything else. For the same
// reason StartTLS is done before go-ldap gets the connection.
//
// AD range retrieval ("member;range=0-1499") is followed to the end with
// base-scope searches, and a server that returns fewer entries per page
// than asked (AD's 1000 cap) is fine.
package ldapsource
