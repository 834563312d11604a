// Package csvsource reads identities from a CSV file (RFC 4180), one record
// per row, for jobs configured with a `source.csv` block.
//
// The header row names the attributes (folded to lower case); the configured
// key column gives each record its anchor. Rows the source cannot turn into
// a usable record (wrong field count, empty key, invalid UTF-8, a malformed
// quoted field, a key seen on an earlier line) become records with Reject
// set and the read goes on: per-row problems are data, not errors. Problems
// that make the whole file untrustworthy (missing or unreadable file, no
// header, key column absent from the header, an I/O error or a quoted field
// still open at end of file) are errors: the read is never reported as a
// shorter complete read (DESIGN invariant 1).
//
// The file is streamed: memory stays flat apart from the duplicate-key index
// (a 128-bit hash of each key and its line: about 50 MB of live heap at 1M
// rows, see BenchmarkRead1M), which a caller that finds keys read twice
// itself skips with ReadRequest.AnchorsChecked (the sync engine does). After a
// complete read, Cursor returns a fingerprint of the file (size, mtime,
// SHA-256); a later Open with that cursor and ReadRequest.Full unset returns
// an empty Delta read when the file is byte-for-byte unchanged.
package csvsource
