package ldapsource

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
)

// Why this file exists: go-ldap decodes every message into a tree of
// go-asn1-ber packets, copying each byte once per nesting level; on a 100k
// user read that is ~3.5 GB of garbage and 90 % of the client's CPU, about
// 5x the time ldapsearch takes. demuxConn sits between go-ldap and the
// network (inside TLS) and, while a paged search is running, takes the
// SearchResultEntry messages out of the stream and decodes them itself
// with one string allocation per entry. go-ldap still does everything else
// (bind, the SearchResultDone with its paging cookie, result codes, range
// retrieval searches): it simply sees a search that returned no entries.

// maxMessage bounds one LDAP message; larger is treated as a protocol error
// rather than an allocation a server can force on us.
const maxMessage = 64 << 20

// demuxConn is a net.Conn for go-ldap that diverts search entries.
type demuxConn struct {
	net.Conn
	br      *bufio.Reader
	buf     []byte // reusable message buffer
	pending []byte // rest of the message go-ldap is reading

	mu      sync.Mutex
	capture bool
	entries []wireEntry
	err     error
}

func newDemuxConn(c net.Conn) *demuxConn {
	return &demuxConn{Conn: c, br: bufio.NewReaderSize(c, 64<<10)}
}

// startCapture diverts SearchResultEntry messages until takeEntries.
func (c *demuxConn) startCapture() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.capture, c.entries, c.err = true, nil, nil
}

// takeEntries stops diverting and returns what was captured, or the first
// entry that could not be decoded.
func (c *demuxConn) takeEntries() ([]wireEntry, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, err := c.entries, c.err
	c.capture, c.entries, c.err = false, nil, nil
	return e, err
}

// Read hands go-ldap every message except captured entries. It is called
// only by go-ldap's reader goroutine.
func (c *demuxConn) Read(p []byte) (int, error) {
	for len(c.pending) == 0 {
		msg, err := readMessage(c.br, &c.buf)
		if err != nil {
			return 0, err
		}
		c.mu.Lock()
		capture := c.capture
		c.mu.Unlock()
		if capture && messageOp(msg) == tagSearchResultEntry {
			e, err := decodeEntry(msg)
			c.mu.Lock()
			if err != nil && c.err == nil {
				c.err = err
			} else if err == nil {
				c.entries = append(c.entries, e)
			}
			c.mu.Unlock()
			continue
		}
		c.pending = msg
	}
	n := copy(p, c.pending)
	c.pending = c.pending[n:]
	return n, nil
}

// BER tags used below.
const (
	tagInteger           = 0x02
	tagOctetString       = 0x04
	tagEnumerated        = 0x0a
	tagSequence          = 0x30
	tagSet               = 0x31
	tagSearchResultEntry = 0x64 // [APPLICATION 4] constructed
	tagExtendedResponse  = 0x78 // [APPLICATION 24] constructed
)

// readMessage reads one whole LDAPMessage into *buf (grown as needed) and
// returns it (valid until the next call).
func readMessage(r *bufio.Reader, buf *[]byte) ([]byte, error) {
	var hdr [6]byte
	b, err := r.ReadByte()
	if err != nil {
		return nil, err
	}
	if b != tagSequence {
		return nil, fmt.Errorf("ldap message: tag %#x, want SEQUENCE", b)
	}
	hdr[0] = b
	l, err := r.ReadByte()
	if err != nil {
		return nil, unexpectedEOF(err)
	}
	hdr[1] = l
	h, n := 2, int(l)
	if l&0x80 != 0 {
		k := int(l & 0x7f)
		if k == 0 || k > 4 {
			return nil, fmt.Errorf("ldap message: unsupported length form %#x", l)
		}
		n = 0
		for range k {
			c, err := r.ReadByte()
			if err != nil {
				return nil, unexpectedEOF(err)
			}
			hdr[h] = c
			h++
			n = n<<8 | int(c)
		}
	}
	if n > maxMessage {
		return nil, fmt.Errorf("ldap message of %d bytes exceeds the %d-byte limit", n, maxMessage)
	}
	if cap(*buf) < h+n {
		*buf = make([]byte, h+n, max(h+n, 2*cap(*buf)))
	}
	m := (*buf)[:h+n]
	copy(m, hdr[:h])
	if _, err := io.ReadFull(r, m[h:]); err != nil {
		return nil, unexpectedEOF(err)
	}
	return m, nil
}

func unexpectedEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// messageOp returns the protocolOp tag of a whole message, 0 if malformed.
func messageOp(msg []byte) byte {
	d := berString(msg)
	tag, body, ok := d.next()
	if !ok || tag != tagSequence {
		return 0
	}
	d = berString(body)
	if tag, _, ok = d.next(); !ok || tag != tagInteger {
		return 0
	}
	if len(d) == 0 {
		return 0
	}
	return d[0]
}

// berString walks BER elements of a byte string or string without copying.
type berString []byte

// next reads one element: tag (single byte), definite length, contents.
func (d *berString) next() (tag byte, content []byte, ok bool) {
	s := *d
	if len(s) < 2 || s[0]&0x1f == 0x1f {
		return 0, nil, false
	}
	tag, l := s[0], int(s[1])
	s = s[2:]
	if l&0x80 != 0 {
		k := l & 0x7f
		if k == 0 || k > 4 || len(s) < k {
			return 0, nil, false
		}
		l = 0
		for _, c := range s[:k] {
			l = l<<8 | int(c)
		}
		s = s[k:]
	}
	if l < 0 || l > len(s) {
		return 0, nil, false
	}
	*d = s[l:]
	return tag, s[:l], true
}

// wireEntry is a decoded SearchResultEntry. All strings share one backing
// allocation.
type wireEntry struct {
	dn    string
	attrs []wireAttr
}

type wireAttr struct {
	name string
	vals []string
}

// decodeEntry decodes a whole LDAPMessage holding a SearchResultEntry:
//
//	SEQUENCE { messageID INTEGER, [APPLICATION 4] SEQUENCE { objectName
//	OCTET STRING, attributes SEQUENCE OF SEQUENCE { type OCTET STRING,
//	vals SET OF OCTET STRING } }, controls [0] OPTIONAL }
func decodeEntry(msg []byte) (wireEntry, error) {
	var e wireEntry
	bad := func(what string) (wireEntry, error) {
		return wireEntry{}, fmt.Errorf("malformed search entry from server: %s", what)
	}
	d := berString(msg)
	tag, body, ok := d.next()
	if !ok || tag != tagSequence {
		return bad("message envelope")
	}
	// One copy of the whole message; every string below is a slice of it.
	// b is always a re-slice of body, so its offset is the difference in
	// capacity.
	whole := string(body)
	sub := func(b []byte) string {
		start := cap(body) - cap(b)
		return whole[start : start+len(b)]
	}
	d = berString(body)
	if tag, _, ok = d.next(); !ok || tag != tagInteger {
		return bad("messageID")
	}
	if tag, body2, ok := d.next(); !ok || tag != tagSearchResultEntry {
		return bad("protocolOp")
	} else {
		d = berString(body2)
	}
	tag, dn, ok := d.next()
	if !ok || tag != tagOctetString {
		return bad("objectName")
	}
	e.dn = sub(dn)
	tag, attrs, ok := d.next()
	if !ok || tag != tagSequence {
		return bad("attribute list")
	}
	ad := berString(attrs)
	n := countElements(attrs)
	e.attrs = make([]wireAttr, 0, n)
	for len(ad) > 0 {
		tag, pa, ok := ad.next()
		if !ok || tag != tagSequence {
			return bad("partial attribute")
		}
		pd := berString(pa)
		tag, name, ok := pd.next()
		if !ok || tag != tagOctetString || len(name) == 0 {
			return bad("attribute type")
		}
		tag, set, ok := pd.next()
		if !ok || tag != tagSet {
			return bad("attribute values of " + string(name))
		}
		a := wireAttr{name: sub(name), vals: make([]string, 0, countElements(set))}
		vd := berString(set)
		for len(vd) > 0 {
			tag, v, ok := vd.next()
			if !ok || tag != tagOctetString {
				return bad("attribute value of " + a.name)
			}
			a.vals = append(a.vals, sub(v))
		}
		e.attrs = append(e.attrs, a)
	}
	return e, nil
}

// countElements counts the BER elements in b (for preallocation), stopping
// at the first malformed one.
func countElements(b []byte) int {
	d := berString(b)
	n := 0
	for len(d) > 0 {
		if _, _, ok := d.next(); !ok {
			break
		}
		n++
	}
	return n
}
