package reconcile

import (
	"encoding/base64"
	"fmt"

	"github.com/syncd/syncd/mapper"
)

// records holds one run's mapped records between the read and the apply,
// packed so that a million of them fit in a few hundred MiB: each record's
// anchor, position and attribute values are copied into large shared
// chunks (one allocation per chunk, not a map and a dozen strings per
// record), attribute names and populations are interned, and the hash is
// kept as raw bytes. A record is expanded back into a mapper.Desired only
// when an operation needs all of its values (create, update, adopt).
type records struct {
	// list holds the records in read order until sortByAnchor.
	list blocks[record]

	keys    []string // attribute paths, by index
	keyIdx  map[string]int
	userKey int // index of "username" in keys, -1 until seen
	extKey  int // index of "externalId" in keys, -1 until seen
	pops    []string
	popIdx  map[string]uint32

	arena   arena
	scratch []byte
}

func newRecords() *records {
	return &records{keyIdx: map[string]int{}, popIdx: map[string]uint32{}, userKey: -1, extKey: -1}
}

// record is one packed mapped record. data holds the anchor, the position,
// then each attribute as (key index, value), every field uvarint
// length-prefixed. An externalId equal to the anchor (the default mapping)
// is not stored twice: extIsAnchor says so.
type record struct {
	set         *records
	data        string
	hash        [32]byte
	pop         uint32
	enabled     bool
	extIsAnchor bool
}

// add packs d. The mapper's hash is SHA-256 as unpadded base64url; anything
// else is a bug in the mapper, not bad input.
func (s *records) add(d *mapper.Desired) {
	var r record
	var ok bool
	if r.hash, ok = decodeHash(d.Hash); !ok {
		panic(fmt.Sprintf("reconcile: mapper hash %q is not a base64url SHA-256", d.Hash))
	}
	buf := appendField(s.scratch[:0], d.Anchor)
	buf = appendField(buf, d.Pos)
	for k, v := range d.Attributes {
		if k == "externalId" && v == d.Anchor {
			r.extIsAnchor = true
			s.key(k)
			continue
		}
		buf = appendUvarint(buf, uint64(s.key(k)))
		buf = appendField(buf, v)
	}
	s.scratch = buf
	r.set, r.data, r.enabled, r.pop = s, s.arena.bytes(buf), d.Enabled, s.population(d.Population)
	s.list.add(r)
}

// len returns the number of records.
func (s *records) len() int { return s.list.len() }

// at returns record i. Its address is stable until filter or sortByAnchor.
func (s *records) at(i int) *record { return s.list.at(i) }

func (s *records) key(k string) int {
	i, ok := s.keyIdx[k]
	if !ok {
		i = len(s.keys)
		s.keys = append(s.keys, k)
		s.keyIdx[k] = i
		switch k {
		case "username":
			s.userKey = i
		case "externalId":
			s.extKey = i
		}
	}
	return i
}

func (s *records) population(p string) uint32 {
	i, ok := s.popIdx[p]
	if !ok {
		i = uint32(len(s.pops))
		s.pops = append(s.pops, p)
		s.popIdx[p] = i
	}
	return i
}

// sortByAnchor sorts the records by anchor, the order of the plan.
func (s *records) sortByAnchor() {
	s.list.sortBy(func(a, b *record) bool { return a.anchor() < b.anchor() })
}

// find returns the record with this anchor (records sorted), or nil.
func (s *records) find(anchor string) *record {
	i := s.list.search(func(r *record) bool { return r.anchor() >= anchor })
	if i < s.len() && s.at(i).anchor() == anchor {
		return s.at(i)
	}
	return nil
}

// filter keeps the records for which keep is true, in order.
func (s *records) filter(keep func(*record) bool) { s.list.filter(keep) }

// anchor returns the record's anchor.
func (r *record) anchor() string {
	a, _ := readField(r.data)
	return a
}

// pos returns where the record came from ("line 12", a DN).
func (r *record) pos() string {
	_, rest := readField(r.data)
	p, _ := readField(rest)
	return p
}

// each calls fn for every attribute of the record, in no particular order.
func (r *record) each(fn func(key int, value string) bool) {
	if r.extIsAnchor && !fn(r.set.extKey, r.anchor()) {
		return
	}
	_, rest := readField(r.data)
	_, rest = readField(rest)
	for rest != "" {
		var k uint64
		var v string
		k, rest = readUvarint(rest)
		v, rest = readField(rest)
		if !fn(int(k), v) {
			return
		}
	}
}

// get returns the value of attribute path k, or "".
func (r *record) get(k string) string {
	i, ok := r.set.keyIdx[k]
	if !ok {
		return ""
	}
	return r.getIdx(i)
}

func (r *record) getIdx(i int) string {
	var out string
	r.each(func(k int, v string) bool {
		if k == i {
			out = v
			return false
		}
		return true
	})
	return out
}

func (r *record) username() string {
	if r.set.userKey < 0 {
		return ""
	}
	return r.getIdx(r.set.userKey)
}

func (r *record) population() string { return r.set.pops[r.pop] }

// attributes returns a new map of the record's attribute values.
func (r *record) attributes() map[string]string {
	m := make(map[string]string, 8)
	r.each(func(k int, v string) bool {
		m[r.set.keys[k]] = v
		return true
	})
	return m
}

// hashEncoding is how the mapper writes a hash: 32 bytes as unpadded
// base64url, 43 characters.
var hashEncoding = base64.RawURLEncoding.Strict()

// decodeHash decodes a hash the mapper wrote; false for anything else (an
// empty or older hash in a checkpoint).
func decodeHash(s string) (h [32]byte, ok bool) {
	var src [43]byte // copied, so the decoding allocates nothing
	if len(s) != len(src) {
		return h, false
	}
	copy(src[:], s)
	n, err := hashEncoding.Decode(h[:], src[:])
	return h, err == nil && n == len(h)
}

// hashString returns the mapper's hash as it wrote it.
func (r *record) hashString() string { return hashEncoding.EncodeToString(r.hash[:]) }

// appendHash appends the mapper's hash as it wrote it.
func (r *record) appendHash(b []byte) []byte { return hashEncoding.AppendEncode(b, r.hash[:]) }

// hashIs reports whether s is the record's hash, without allocating.
func (r *record) hashIs(s string) bool {
	var buf [43]byte
	if len(s) != len(buf) {
		return false
	}
	hashEncoding.Encode(buf[:], r.hash[:])
	return string(buf[:]) == s
}

// matchKey is what the match rules compare.
type matchKey struct{ anchor, externalID, username, email string }

func (r *record) matchKey() matchKey {
	k := matchKey{anchor: r.anchor()}
	r.each(func(i int, v string) bool {
		switch r.set.keys[i] {
		case "externalId":
			k.externalID = v
		case "username":
			k.username = v
		case "email":
			k.email = v
		}
		return true
	})
	return k
}

// desired expands the record into the mapper's form.
func (r *record) desired() *mapper.Desired {
	return &mapper.Desired{
		Anchor: r.anchor(), Pos: r.pos(), Attributes: r.attributes(),
		Population: r.population(), Enabled: r.enabled, Hash: r.hashString(),
	}
}

func appendUvarint(b []byte, v uint64) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

func appendField(b []byte, s string) []byte {
	return append(appendUvarint(b, uint64(len(s))), s...)
}

// readUvarint and readField read what appendUvarint and appendField wrote;
// the bytes are the engine's own, so there is no malformed case to report.
func readUvarint(s string) (uint64, string) {
	var v uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		v |= uint64(c&0x7f) << (7 * i)
		if c < 0x80 {
			return v, s[i+1:]
		}
	}
	return v, ""
}

func readField(s string) (string, string) {
	n, rest := readUvarint(s)
	return rest[:n], rest[n:]
}
