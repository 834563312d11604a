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
// looks complete. Referrals (continuation references) are not followed:
// one returned by a search ends the read with a *ReferralError (the
// delegated entries were not read), unless ignore_referrals names it or
// it points into an Active Directory DNS or configuration partition.
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
// Delta reads (source.ldap.delta, see Config.Delta): a read given the
// cursor of the last successful run asks only for what changed since, and
// its Reader's Mode is Delta: yielded records are upserts with every
// requested attribute, and records with Deleted set are deletions. The
// cursor is a small versioned JSON object naming the method and base DNs;
// one that does not decode (a corrupt state database), belongs to another
// method or other base DNs, or that the server will not resume from makes
// the read a full one, logged, never a failed one. The methods:
//
//   - syncrepl (OpenLDAP syncprov, RFC 4533 refreshOnly): the cookie is
//     the cursor. With a delete phase (slapd serves it from its session
//     log) deletions arrive as entryUUIDs. A present phase (session log
//     lost, e.g. after a restart without olcSpSessionlogSource), a full
//     reload (stale cookie), e-syncRefreshRequired or an unparsable cookie
//     make the read a paged full read on a fresh connection. A delta's
//     records are buffered (at most 20,000; beyond, a full read) because
//     the mode is only known at the end of the refresh. slapd 2.5 replays
//     deletions from its session log without checking the search base, so
//     a delta may report entryUUIDs of entries that were never in scope;
//     the engine ignores anchors it does not manage. Full reads stay
//     paged; their cookie is taken just before them (base-scope refresh,
//     no entries), so changes made during a full read are read again by
//     the next delta rather than missed.
//   - usn (Active Directory): uSNChanged above the highestCommittedUSN of
//     the last read, on the same DC (dsServiceName) and database
//     (invocationId), else a full read. Deletions are the tombstones in
//     CN=Deleted Objects (show-deleted control) changed since, mapped by
//     objectGUID; they are domain-wide, and anchors the job does not
//     manage are ignored by the engine. A disabled user is a modified one.
//   - dirsync (Active Directory, explicit only): the DirSync cookie of the
//     domain naming context; needs Replicating Directory Changes. Changed
//     objects are read again in full by objectGUID and kept when they
//     still match the filter within a base DN; tombstones are deletions.
//     The cookie of a full read comes from a DirSync pass whose filter
//     matches nothing, taken just before the paged read.
//   - timestamp (any server): modifyTimestamp at or after a watermark: the
//     server's currentTime at the read's start (AD), else the latest
//     modifyTimestamp read minus the read's duration (no clock
//     comparison between client and server). Deletions are not visible.
//
// usn and timestamp deltas do not see an entry that left the base DN or
// stopped matching the filter; only full reads (full_every, default 24h)
// disable users who vanished that way.
//
// AD range retrieval ("member;range=0-1499") is followed to the end with
// base-scope searches, and a server that returns fewer entries per page
// than asked (AD's 1000 cap) is fine.
package ldapsource
