package ldapsource

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"
	"go.uber.org/zap"

	"github.com/syncd/syncd/sources"
	"github.com/syncd/syncd/sources/internal/dirattr"
)

var _ sources.Reader = (*reader)(nil)

// reader is one paged read over a list of searches (normally one per
// configured base DN). It holds one page of entries at a time, so memory
// stays flat in the size of the directory. A syncrepl delta read has its
// (few) records in pre instead.
type reader struct {
	src    *Source
	ctx    context.Context
	cancel context.CancelFunc
	stop   func() bool
	conn   *ldap.Conn
	dc     *demuxConn
	attrs  []string
	anchor string // lower case

	mode   sources.Mode
	plan   []search         // the paged searches, in order
	pre    []sources.Record // records yielded before the searches (syncrepl delta)
	cur    *cursor          // the cursor to return at the end; nil: none
	ts     *tsWatermark     // timestamp method without server time: computed at the end
	cursor []byte           // the final cursor, once done

	base     int    // index into plan
	page     int    // pages read in the current base, 1-based once started
	cookie   []byte // paged-results cookie for the next page
	baseDone bool   // the current base has no more pages
	entries  []wireEntry
	pos      int

	rec    sources.Record
	names  map[string]attrName // server's attribute name -> how to store it
	err    error
	done   bool
	closed bool
	n      int // records yielded
}

// attrName is the cached interpretation of an attribute name as the server
// sent it.
type attrName struct {
	key   string       // lower case, range option removed
	kind  dirattr.Kind // kindText, kindGUID, ...
	lo    int          // range retrieval: first index, -1 when not ranged
	hi    int          // last index; -1 for "*" (the end)
	valid bool
}

// search is one paged search of a read.
type search struct {
	base     string
	scope    int
	filter   string
	attrs    []string
	controls []ldap.Control
	deleted  bool // AD tombstones: records are deletions
}

func (r *reader) Mode() sources.Mode { return r.mode }

func (r *reader) Record() sources.Record { return r.rec }

func (r *reader) Err() error { return r.err }

// Cursor is where the next delta read starts (see cursor), or nil when the
// read has none (delta: none, or nothing to take a watermark from).
func (r *reader) Cursor() []byte {
	if !r.done || r.err != nil {
		return nil
	}
	return r.cursor
}

func (r *reader) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	r.stop()
	r.cancel()
	r.entries = nil
	return r.conn.Close()
}

func (r *reader) Next() bool {
	if r.done || r.closed || r.err != nil {
		return false
	}
	if err := r.ctx.Err(); err != nil {
		r.fail(err)
		return false
	}
	if len(r.pre) > 0 {
		r.rec = r.pre[0]
		r.pre[0] = sources.Record{}
		r.pre = r.pre[1:]
		r.n++
		return true
	}
	for r.pos >= len(r.entries) {
		if !r.fetch() {
			return false
		}
	}
	e := r.entries[r.pos]
	r.entries[r.pos] = wireEntry{} // let the GC have it once the record moves on
	r.pos++
	rec, err := r.convert(e)
	if err != nil {
		r.fail(err)
		return false
	}
	if r.plan[r.base].deleted {
		rec = sources.Record{Anchor: rec.Anchor, DN: rec.DN, Pos: rec.DN, Deleted: true, Reject: rec.Reject}
		if rec.Reject != "" {
			// An undecodable tombstone cannot be matched to anyone.
			return r.Next()
		}
	} else if r.ts != nil {
		r.ts.see(rec)
	}
	r.rec = rec
	r.n++
	return true
}

// fail ends the read with err, naming the base DN and page; a cancelled or
// timed-out context wins over whatever the closed connection reported.
func (r *reader) fail(err error) {
	cerr := r.ctx.Err()
	if dl, ok := r.ctx.Deadline(); ok && cerr == nil && !time.Now().Before(dl) {
		// go-ldap's per-request timeout (the same length) can fire a
		// moment before the context's own timer does.
		cerr = context.DeadlineExceeded
	}
	if cerr != nil && !errors.Is(err, cerr) {
		err = fmt.Errorf("%w (%w)", cerr, err)
	}
	base := ""
	if r.base < len(r.plan) {
		base = r.plan[r.base].base
	}
	r.err = &ReadError{BaseDN: base, Page: r.page, Err: err}
	r.done = true
	r.entries = nil
	_ = r.conn.Close()
}

// fetch reads the next page, moving on to the next base DN when the
// current one is exhausted. It returns false at the end of the read (done,
// err nil) or on failure (err set).
func (r *reader) fetch() bool {
	cfg := &r.src.cfg
	for r.baseDone {
		r.base++
		r.page, r.cookie, r.baseDone = 0, nil, false
	}
	if r.base >= len(r.plan) {
		r.finish()
		return false
	}
	if err := r.ctx.Err(); err != nil {
		r.fail(err)
		return false
	}
	r.page++
	sr := r.plan[r.base]
	baseDN := sr.base
	paging := &ldap.ControlPaging{PagingSize: uint32(cfg.PageSize), Cookie: r.cookie}
	req := ldap.NewSearchRequest(baseDN, sr.scope, ldap.NeverDerefAliases, 0, 0, false,
		sr.filter, sr.attrs, append([]ldap.Control{paging}, sr.controls...))
	start := time.Now()
	r.dc.startCapture()
	res, err := r.conn.Search(req)
	entries, derr := r.dc.takeEntries()
	if err != nil && sr.deleted && r.recoverable(err) {
		// The tombstones are for admins by default (List Contents on
		// CN=Deleted Objects): without them the delta still holds every
		// change, and the next full read finds the deletions.
		r.src.logger.Warn("ldap deleted objects unreadable: this delta read reports no deletions (grant the account List Contents and Read Property on CN=Deleted Objects)",
			zap.String("base_dn", baseDN), zap.Error(err))
		r.baseDone, r.entries, r.pos = true, nil, 0
		return true
	}
	if err != nil {
		r.fail(fmt.Errorf("search: %w", err))
		return false
	}
	if derr != nil {
		r.fail(derr)
		return false
	}
	for _, e := range res.Entries { // none expected: the demuxConn took them
		entries = append(entries, fromLDAP(e))
	}
	for _, ref := range res.Referrals {
		// Not followed, by design (see referral.go): either ignored on
		// purpose, or the read is incomplete.
		if !r.src.cfg.ignoredReferral(ref) {
			r.fail(&ReferralError{Referral: ref})
			return false
		}
		r.src.logger.Debug("ldap referral ignored", zap.String("base_dn", baseDN), zap.String("referral", ref))
	}
	ctrl, _ := ldap.FindControl(res.Controls, ldap.ControlTypePaging).(*ldap.ControlPaging)
	switch {
	case ctrl == nil:
		r.fail(errors.New("server answered without a paged-results control (no RFC 2696 support, or the search ended abnormally)"))
		return false
	case len(ctrl.Cookie) == 0:
		r.baseDone = true
	case len(entries) == 0 && bytes.Equal(ctrl.Cookie, r.cookie):
		r.fail(errors.New("server returned the same page cookie with no entries: the read would never end"))
		return false
	}
	r.cookie = bytes.Clone(ctrl.Cookie)
	r.entries, r.pos = entries, 0
	r.src.logger.Debug("ldap page read", zap.String("base_dn", baseDN), zap.Int("page", r.page),
		zap.Int("entries", len(entries)), zap.Duration("elapsed", time.Since(start)))
	return true
}

// name interprets (and caches) an attribute name as the server sent it.
func (r *reader) name(server string) attrName {
	if n, ok := r.names[server]; ok {
		return n
	}
	key := strings.ToLower(server)
	n := attrName{key: key, lo: -1, hi: -1, valid: true}
	if i := strings.Index(key, ";range="); i >= 0 {
		lo, hi, ok := parseRange(key[i+len(";range="):])
		n.key = key[:i] + stripRangeOpt(key[i+len(";range="):])
		n.lo, n.hi, n.valid = lo, hi, ok
	}
	var base string // "usercertificate;binary" decodes like usercertificate
	n.key, base = dirattr.Key(n.key)
	n.kind = attrKind(base)
	if len(r.names) < 1024 {
		r.names[server] = n
	}
	return n
}

// parseRange parses the value of a range option: "0-1499" or "1500-*".
func parseRange(s string) (lo, hi int, ok bool) {
	if i := strings.IndexByte(s, ';'); i >= 0 {
		s = s[:i]
	}
	a, b, found := strings.Cut(s, "-")
	if !found {
		return 0, 0, false
	}
	lo, err := strconv.Atoi(a)
	if err != nil || lo < 0 {
		return 0, 0, false
	}
	if b == "*" {
		return lo, -1, true
	}
	hi, err = strconv.Atoi(b)
	if err != nil || hi < lo {
		return 0, 0, false
	}
	return lo, hi, true
}

// stripRangeOpt keeps any options after the range option ("0-9;binary"
// -> ";binary").
func stripRangeOpt(s string) string {
	if i := strings.IndexByte(s, ';'); i >= 0 {
		return s[i:]
	}
	return ""
}

// fromLDAP turns an entry go-ldap decoded into a wireEntry.
func fromLDAP(e *ldap.Entry) wireEntry {
	w := wireEntry{dn: e.DN, attrs: make([]wireAttr, len(e.Attributes))}
	for i, a := range e.Attributes {
		w.attrs[i] = wireAttr{name: a.Name, vals: a.Values}
	}
	return w
}

// decodeValues turns raw values into text for an attribute of the given
// kind; it returns vals itself when they are valid text already. ok is
// false when a GUID or SID does not decode (the value is then kept as
// "base64:...").
func decodeValues(kind dirattr.Kind, vals []string) (out []string, bad error) {
	if kind == kindText {
		valid := true
		for _, v := range vals {
			if !isUTF8String(v) {
				valid = false
				break
			}
		}
		if valid {
			return vals, nil
		}
	}
	out = make([]string, len(vals))
	for i, v := range vals {
		d, err := decodeValue(kind, []byte(v))
		if err != nil {
			bad = err
			d = "base64:" + b64([]byte(v))
		}
		out[i] = d
	}
	return out, bad
}

// convert turns an entry into a Record: lower-case names, decoded binary
// values, ranged attributes fetched to their end, the anchor checked.
func (r *reader) convert(e wireEntry) (sources.Record, error) {
	rec := sources.Record{DN: e.dn, Pos: e.dn, Attrs: make(map[string][]string, len(e.attrs))}
	for _, a := range e.attrs {
		n := r.name(a.name)
		if !n.valid {
			return rec, fmt.Errorf("entry %q: attribute %q: unparsable range option", e.dn, a.name)
		}
		vals, bad := decodeValues(n.kind, a.vals)
		if bad != nil && n.key == r.anchor {
			rec.Reject = fmt.Sprintf("anchor %s: %v", r.src.cfg.Anchor, bad)
		}
		if n.lo >= 0 {
			if n.lo != len(rec.Attrs[n.key]) {
				return rec, fmt.Errorf("entry %q: attribute %q starts at %d, want %d", e.dn, a.name, n.lo, len(rec.Attrs[n.key]))
			}
			if n.hi >= 0 {
				more, err := r.rangeRest(e.dn, n, a.name, n.hi+1)
				if err != nil {
					return rec, err
				}
				vals = append(vals[:len(vals):len(vals)], more...)
			}
		}
		if prev, ok := rec.Attrs[n.key]; ok {
			vals = append(prev[:len(prev):len(prev)], vals...)
		}
		rec.Attrs[n.key] = vals
	}
	if rec.Reject != "" {
		return rec, nil
	}
	switch v := rec.Attrs[r.anchor]; len(v) {
	case 0:
		rec.Reject = fmt.Sprintf("no %s attribute (anchor)", r.src.cfg.Anchor)
	case 1:
		rec.Anchor = v[0]
		if r.anchor == "entryuuid" {
			rec.Anchor = strings.ToLower(v[0])
		}
		if rec.Anchor == "" {
			rec.Reject = fmt.Sprintf("empty %s (anchor)", r.src.cfg.Anchor)
		}
	default:
		rec.Reject = fmt.Sprintf("%d values of %s (anchor): ambiguous identity", len(v), r.src.cfg.Anchor)
	}
	return rec, nil
}

// rangeRest follows AD range retrieval: the server returned only the
// values up to some index ("member;range=0-1499"); ask for the rest with
// base-scope searches until a range ends in "*".
func (r *reader) rangeRest(dn string, first attrName, serverName string, from int) ([]string, error) {
	attr := serverName[:strings.Index(strings.ToLower(serverName), ";range=")]
	var out []string
	for round := 0; ; round++ {
		if err := r.ctx.Err(); err != nil {
			return nil, err
		}
		if round > 100_000 {
			return nil, fmt.Errorf("entry %q: %s: range retrieval does not end", dn, attr)
		}
		want := fmt.Sprintf("%s;range=%d-*", attr, from)
		res, err := r.conn.Search(ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases,
			0, 0, false, "(objectClass=*)", []string{want}, nil))
		if err != nil {
			return nil, fmt.Errorf("entry %q: range retrieval of %s from %d: %w", dn, attr, from, err)
		}
		if len(res.Entries) != 1 {
			return nil, fmt.Errorf("entry %q: range retrieval of %s from %d: %d entries returned", dn, attr, from, len(res.Entries))
		}
		var got *ldap.EntryAttribute
		var n attrName
		for _, a := range res.Entries[0].Attributes {
			if c := r.name(a.Name); c.key == first.key && c.lo >= 0 {
				got, n = a, c
				break
			}
		}
		if got == nil || !n.valid || n.lo != from {
			return nil, fmt.Errorf("entry %q: range retrieval of %s from %d: server sent no matching range", dn, attr, from)
		}
		vals, _ := decodeValues(n.kind, got.Values)
		out = append(out, vals...)
		if n.hi < 0 {
			return out, nil
		}
		if n.hi < from {
			return nil, fmt.Errorf("entry %q: range retrieval of %s: range %d-%d goes backwards", dn, attr, n.lo, n.hi)
		}
		from = n.hi + 1
	}
}
