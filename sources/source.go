package sources

import "context"

// Mode says what kind of read a Reader performs.
type Mode int

const (
	// Full is a complete snapshot: every in-scope entry is yielded, and an
	// anchor that is absent from a successful full read has left the source.
	Full Mode = iota
	// Delta yields only what changed since the cursor given to Open, with
	// explicit deletions (Record.Deleted) where the protocol reports them.
	Delta
)

func (m Mode) String() string {
	if m == Delta {
		return "delta"
	}
	return "full"
}

// Record is one entry read from a source.
//
// Attribute names in Attrs are folded to lower case by the source, so the
// mapper can look them up case-insensitively without allocating. Values keep
// the order the server (or the CSV row) gave them: the first value of a
// multi-valued attribute is Attrs[name][0]. Binary attributes (objectGUID,
// objectSid) are decoded to their canonical text form by the source.
type Record struct {
	// Anchor is the stable identity of the entry: entryUUID, objectGUID
	// (canonical GUID string), or the configured key column / attribute.
	Anchor string
	// DN is the entry's distinguished name; empty for CSV.
	DN string
	// Attrs holds the raw attribute values, keyed by lower-case name.
	Attrs map[string][]string
	// Pos says where the record came from, for messages a person reads:
	// "line 12" for CSV, the DN for LDAP.
	Pos string
	// Deleted is set by delta reads for an entry the source reports deleted.
	// Only Anchor (and DN where known) are meaningful then.
	Deleted bool
	// Reject, when non-empty, says why the source could not turn this entry
	// into a usable record (wrong field count, empty key, invalid UTF-8,
	// duplicate key, undecodable anchor). Such records are reported, never
	// synced; Anchor may be empty.
	Reject string
}

// Get returns the first value of the named attribute (name in lower case),
// or "" when the attribute is absent.
func (r Record) Get(name string) string {
	if v := r.Attrs[name]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// ReadRequest is what a caller asks of a source for one read.
type ReadRequest struct {
	// Cursor is the opaque position returned by the last successful read of
	// this job (nil when there is none). Sources that cannot read deltas
	// ignore it.
	Cursor []byte
	// Full forces a complete read even when a usable cursor is given.
	Full bool
	// Attributes lists the attributes the mapping uses (lower case); a
	// source that can, requests only these plus its anchor.
	Attributes []string
	// AnchorsChecked says the caller finds anchors read twice itself (the
	// engine does, on its sorted records, at no memory cost): a source
	// that indexes anchors to reject duplicates may skip that index.
	AnchorsChecked bool
}

// Source opens reads of one configured directory or file.
type Source interface {
	// Open starts a read. The context is bound to the returned Reader: when
	// it is cancelled, Next returns false and Err reports the cancellation.
	Open(ctx context.Context, req ReadRequest) (Reader, error)
}

// Reader iterates over the records of one read, one at a time, streaming:
// memory stays flat whatever the size of the source.
//
//	r, err := src.Open(ctx, req)
//	if err != nil { ... }
//	defer r.Close()
//	for r.Next() {
//		rec := r.Record()
//	}
//	if err := r.Err(); err != nil { ... } // the read is incomplete: no disables
type Reader interface {
	// Mode says whether this read is a full snapshot or a delta. It is
	// known when Open returns.
	Mode() Mode
	// Next advances to the next record. It returns false at the end of the
	// read or on error; Err tells which.
	Next() bool
	// Record returns the current record. It is valid until the next call to
	// Next; callers that keep it must not modify it.
	Record() Record
	// Err returns the error that ended the read early, or nil when every
	// record was read.
	Err() error
	// Cursor returns the position to pass to the next read, after Next has
	// returned false with Err() == nil. Nil when the source has no cursor.
	Cursor() []byte
	// Close releases the read's resources. It is safe to call more than once
	// and before the end of the read.
	Close() error
}
