package ldapsource

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"
	"go.uber.org/zap"

	"github.com/syncd/syncd/sources"
)

// Protocol identifiers used by delta reads.
const (
	// oidSyncRequest is the RFC 4533 sync request control, advertised in
	// supportedControl by OpenLDAP with the syncprov overlay.
	oidSyncRequest = "1.3.6.1.4.1.4203.1.9.1.1"
	// oidADCapability is LDAP_CAP_ACTIVE_DIRECTORY_OID in
	// supportedCapabilities (AD and Samba AD).
	oidADCapability = "1.2.840.113556.1.4.800"
	// oidShowDeleted is LDAP_SERVER_SHOW_DELETED_OID: tombstones become
	// visible to a search.
	oidShowDeleted = "1.2.840.113556.1.4.417"
	// resultSyncRefreshRequired is e-syncRefreshRequired (RFC 4533 2.4):
	// the server will not resume from the cookie.
	resultSyncRefreshRequired = 4096
)

// maxDeltaBuffer bounds the records a syncrepl delta read holds in memory:
// the read's mode (delta, or a full read after a present phase) is only
// known at the end of the refresh, so its records are buffered. A delta
// larger than this is read as a full paged read instead (logged); at that
// size a full read costs about the same.
const maxDeltaBuffer = 20_000

var genTimeRE = regexp.MustCompile(`^[0-9]{14}Z$`)

// rootDSE holds what delta reads need from the server's RootDSE.
type rootDSE struct {
	controls       map[string]bool
	ad             bool
	highestUSN     int64 // -1 when absent
	dsServiceName  string
	defaultNC      string
	currentTime    time.Time // zero when absent
	currentTimeRaw string
}

func (s *Source) readRootDSE(conn *ldap.Conn) (rootDSE, error) {
	res, err := conn.Search(ldap.NewSearchRequest("", ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=*)", []string{"supportedControl", "supportedCapabilities", "highestCommittedUSN",
			"isGlobalCatalogReady", "dsServiceName", "defaultNamingContext", "currentTime"}, nil))
	if err != nil {
		return rootDSE{}, fmt.Errorf("read RootDSE of %s: %w", s.cfg.URL, err)
	}
	d := rootDSE{controls: map[string]bool{}, highestUSN: -1}
	if len(res.Entries) != 1 {
		return d, fmt.Errorf("read RootDSE of %s: %d entries", s.cfg.URL, len(res.Entries))
	}
	e := res.Entries[0]
	for _, c := range e.GetAttributeValues("supportedControl") {
		d.controls[c] = true
	}
	for _, c := range e.GetAttributeValues("supportedCapabilities") {
		if c == oidADCapability {
			d.ad = true
		}
	}
	if v := e.GetAttributeValue("highestCommittedUSN"); v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 {
			d.highestUSN = n
		}
		d.ad = true
	}
	if e.GetAttributeValue("isGlobalCatalogReady") != "" {
		d.ad = true
	}
	d.dsServiceName = e.GetAttributeValue("dsServiceName")
	d.defaultNC = e.GetAttributeValue("defaultNamingContext")
	if v := e.GetAttributeValue("currentTime"); v != "" {
		if t, err := parseGenTime(v); err == nil {
			d.currentTime, d.currentTimeRaw = t, v
		}
	}
	return d, nil
}

// method picks the delta method for this server.
func (s *Source) method(d rootDSE) string {
	if s.cfg.Delta != DeltaAuto {
		return s.cfg.Delta
	}
	switch {
	case d.controls[oidSyncRequest] && strings.EqualFold(s.cfg.Anchor, "entryUUID"):
		return DeltaSyncrepl
	case d.ad:
		return DeltaUSN
	}
	return DeltaTimestamp
}

// errFallback says a delta read cannot be done from the cursor; the read
// becomes a full one.
type errFallback struct{ reason string }

func (e *errFallback) Error() string { return e.reason }

// prepareDelta decides how r reads: it reads the RootDSE, picks the
// method, checks the previous cursor and sets r's plan, mode and cursor.
// Anything short of a broken connection or a cancelled context makes the
// read a full one (logged), never a failed one.
func (s *Source) prepareDelta(r *reader, req sources.ReadRequest) error {
	dse, err := s.readRootDSE(r.conn)
	if err != nil {
		if !r.recoverable(err) {
			return err
		}
		s.logger.Warn("ldap delta reads unavailable: full read without a cursor", zap.Error(err))
		return nil
	}
	method := s.method(dse)
	bases := normBases(s.cfg.BaseDN)
	var prev *cursor
	switch {
	case req.Full:
	case len(req.Cursor) == 0:
	default:
		c, err := decodeCursor(req.Cursor)
		if err != nil {
			s.logger.Warn("ldap cursor unusable (corrupt state?): full read", zap.Error(err))
			break
		}
		if why := c.usableFor(method, bases); why != "" {
			s.logger.Info("ldap cursor not usable: full read", zap.String("reason", why))
			break
		}
		prev = &c
	}
	log := s.logger.With(zap.String("delta", method))
	switch method {
	case DeltaSyncrepl:
		return s.prepareSyncrepl(r, prev, bases, log)
	case DeltaUSN:
		return s.prepareUSN(r, dse, prev, bases, log)
	case DeltaDirSync:
		return s.prepareDirSync(r, dse, prev, bases, log)
	case DeltaTimestamp:
		s.prepareTimestamp(r, dse, prev, bases, log)
	}
	return nil
}

// recoverable reports whether err is the server's answer (a result code)
// rather than a broken connection or the end of the read's time.
func (r *reader) recoverable(err error) bool {
	return r.ctx.Err() == nil && !ldap.IsErrorWithCode(err, ldap.ErrorNetwork)
}

// --- syncrepl (RFC 4533) ---
//
// Why the cookie of a full read is taken the way it is: the full read
// itself stays a paged search (a syncrepl refresh cannot be paged, so it
// would hit the size limit of any account that has one, and go-ldap's
// decoding of it is several times slower than the demuxConn's). Before
// that paged read, a refreshOnly request without a cookie, with base
// scope on each base DN, the job's filter and attributes "1.1" (so at
// most the base entry itself comes back), returns the server's current
// cookie. Taking it before the read means the cookie is never ahead of
// what was read: changes made during the read are replayed by the next
// delta (an upsert seen twice is harmless). Measured on slapd 2.5 with
// syncprov: such a cookie ("rid=000,csn=...") used for a subtree refresh
// of the same base returns exactly the entries changed since and the
// deleted entryUUIDs (syncIdSet, refreshDeletes=TRUE) while the change is
// within the session log; slapd's cookie carries no search parameters.
// (slapd also replays deletions from outside the base: see doc.go.)

func (s *Source) prepareSyncrepl(r *reader, prev *cursor, bases []string, log *zap.Logger) error {
	if prev != nil {
		recs, cookies, err := s.syncreplDelta(r, prev.Cookies)
		var fb *errFallback
		switch {
		case err == nil:
			r.mode, r.plan, r.pre = sources.Delta, nil, recs
			r.cur = &cursor{Kind: DeltaSyncrepl, Bases: bases, Cookies: cookies}
			log.Debug("ldap syncrepl delta read", zap.Int("records", len(recs)))
			return nil
		case errors.As(err, &fb):
			log.Info("ldap syncrepl delta not possible: full read", zap.String("reason", fb.reason))
			// The refresh may have been cut short: start afresh.
			if err := r.reconnect(); err != nil {
				return err
			}
		default:
			return fmt.Errorf("ldap syncrepl delta read: %w", err)
		}
	}
	cookies := make([][]byte, len(s.cfg.BaseDN))
	for i, base := range s.cfg.BaseDN {
		c, err := s.currentCookie(r, base)
		if err != nil {
			if !r.recoverable(err) {
				return err
			}
			log.Warn("ldap syncrepl cookie unavailable: full read without a cursor", zap.String("base_dn", base), zap.Error(err))
			return nil
		}
		if len(c) == 0 {
			log.Warn("ldap server returned no syncrepl cookie: full read without a cursor", zap.String("base_dn", base))
			return nil
		}
		cookies[i] = c
	}
	r.cur = &cursor{Kind: DeltaSyncrepl, Bases: bases, Cookies: cookies}
	return nil
}

// currentCookie asks for the server's current sync cookie for base (see
// the comment above prepareSyncrepl).
func (s *Source) currentCookie(r *reader, base string) ([]byte, error) {
	ctx, cancel := context.WithCancel(r.ctx)
	defer cancel()
	// The job's own base and filter: servers whose cookies name the
	// search (389-ds: base and filter) then accept it for the delta.
	req := ldap.NewSearchRequest(base, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false,
		s.cfg.Filter, []string{"1.1"}, nil)
	resp := r.conn.Syncrepl(ctx, req, 4, ldap.SyncRequestModeRefreshOnly, nil, false)
	var cookie []byte
	for resp.Next() {
		for _, c := range resp.Controls() {
			if k := syncCookie(c); len(k) > 0 {
				cookie = k
			}
		}
	}
	if err := resp.Err(); err != nil {
		return nil, fmt.Errorf("syncrepl cookie for %q: %w", base, err)
	}
	return cookie, nil
}

// syncCookie returns the cookie a sync control carries, if any.
func syncCookie(c ldap.Control) []byte {
	switch c := c.(type) {
	case *ldap.ControlSyncDone:
		return c.Cookie
	case *ldap.ControlSyncState:
		return c.Cookie
	case *ldap.ControlSyncInfo:
		switch {
		case c.NewCookie != nil:
			return c.NewCookie.Cookie
		case c.RefreshDelete != nil:
			return c.RefreshDelete.Cookie
		case c.RefreshPresent != nil:
			return c.RefreshPresent.Cookie
		case c.SyncIdSet != nil:
			return c.SyncIdSet.Cookie
		}
	}
	return nil
}

// syncreplDelta runs a refreshOnly search with the cookie of each base DN
// and returns the changed entries (upserts) and deleted entryUUIDs
// (Deleted records), with the new cookies. A present phase (the server
// lists unchanged entries instead of deleted ones), a full reload (stale
// cookie: syncDone with refreshDeletes=FALSE), e-syncRefreshRequired or a
// delta over maxDeltaBuffer records is an *errFallback.
func (s *Source) syncreplDelta(r *reader, cookies [][]byte) ([]sources.Record, [][]byte, error) {
	var recs []sources.Record
	out := make([][]byte, len(cookies))
	for i, base := range s.cfg.BaseDN {
		c, err := s.syncreplBase(r, base, cookies[i], &recs)
		if err != nil {
			return nil, nil, err
		}
		out[i] = c
	}
	return recs, out, nil
}

func (s *Source) syncreplBase(r *reader, base string, cookie []byte, recs *[]sources.Record) ([]byte, error) {
	ctx, cancel := context.WithCancel(r.ctx)
	defer cancel()
	req := ldap.NewSearchRequest(base, s.scope, ldap.NeverDerefAliases, 0, 0, false,
		s.cfg.Filter, r.attrs, nil)
	resp := r.conn.Syncrepl(ctx, req, 64, ldap.SyncRequestModeRefreshOnly, cookie, false)
	next := cookie
	done := false
	deleted := func(id string) {
		*recs = append(*recs, sources.Record{Anchor: id, Deleted: true, Pos: "entryUUID " + id + " (deleted)"})
	}
	for resp.Next() {
		if len(*recs) > s.maxDelta {
			return nil, &errFallback{fmt.Sprintf("more than %d changes", s.maxDelta)}
		}
		ctrls := resp.Controls()
		for _, c := range ctrls {
			if k := syncCookie(c); len(k) > 0 {
				next = k
			}
		}
		if e := resp.Entry(); e != nil {
			st, _ := ldap.FindControl(ctrls, ldap.ControlTypeSyncState).(*ldap.ControlSyncState)
			if st == nil {
				return nil, fmt.Errorf("base %q: entry %q without a sync state control", base, e.DN)
			}
			switch st.State {
			case ldap.SyncStatePresent:
				return nil, &errFallback{"the server answered with a present phase (unchanged entries listed, deletions not)"}
			case ldap.SyncStateDelete:
				deleted(st.EntryUUID.String())
			default: // add, modify
				rec, err := r.convert(fromLDAP(e))
				if err != nil {
					return nil, fmt.Errorf("base %q: %w", base, err)
				}
				*recs = append(*recs, rec)
			}
			continue
		}
		for _, c := range ctrls {
			switch c := c.(type) {
			case *ldap.ControlSyncInfo:
				switch {
				case c.RefreshPresent != nil:
					return nil, &errFallback{"the server answered with a present phase"}
				case c.SyncIdSet != nil && !c.SyncIdSet.RefreshDeletes:
					return nil, &errFallback{"the server answered with a present phase (syncIdSet of present entries)"}
				case c.SyncIdSet != nil:
					for _, id := range c.SyncIdSet.SyncUUIDs {
						deleted(id.String())
					}
				}
			case *ldap.ControlSyncDone:
				if c.Cookie != nil && len(c.Cookie) == 0 {
					// slapd's answer to a cookie it cannot parse: an
					// initial refresh (everything, no deletions) ending in
					// an empty cookie. Not a delta.
					return nil, &errFallback{"the server did not recognise the cookie (empty cookie in syncDone)"}
				}
				if !c.RefreshDeletes {
					return nil, &errFallback{"the server did not resume from the cookie (full reload or present phase: stale cookie?)"}
				}
				done = true
			}
		}
	}
	if err := resp.Err(); err != nil {
		if ldap.IsErrorWithCode(err, resultSyncRefreshRequired) {
			return nil, &errFallback{"the server refused the cookie (e-syncRefreshRequired)"}
		}
		if r.recoverable(err) {
			// A cookie the server cannot parse, a search it refuses:
			// worth a full read, not a failed run.
			return nil, &errFallback{fmt.Sprintf("syncrepl refresh of %q failed: %v", base, err)}
		}
		return nil, fmt.Errorf("base %q: %w", base, err)
	}
	if !done {
		return nil, fmt.Errorf("base %q: refresh ended without a syncDone control", base)
	}
	return next, nil
}

// --- Active Directory uSNChanged ---

func (s *Source) prepareUSN(r *reader, dse rootDSE, prev *cursor, bases []string, log *zap.Logger) error {
	if dse.highestUSN < 0 || dse.dsServiceName == "" {
		log.Warn("ldap server has no highestCommittedUSN/dsServiceName in its RootDSE: full read without a cursor")
		return nil
	}
	inv, err := s.invocationID(r.conn, dse.dsServiceName)
	if err != nil {
		if !r.recoverable(err) {
			return err
		}
		log.Warn("ldap invocationId unreadable: full read without a cursor", zap.Error(err))
		return nil
	}
	// The watermark is taken before the read: a change made during the
	// read is read again next time, never missed.
	r.cur = &cursor{Kind: DeltaUSN, Bases: bases, DC: dse.dsServiceName, InvocationID: inv, USN: dse.highestUSN}
	if prev == nil {
		if strings.EqualFold(s.cfg.Anchor, "objectGUID") && dse.defaultNC != "" && !s.tombstonesVisible(r.conn, dse.defaultNC) {
			log.Info("ldap sees no tombstones in CN=Deleted Objects: either there are none, or the account may not list them " +
				"(Domain Admins, or List Contents and Read Property on CN=Deleted Objects); then deletions reach syncd through full reads only")
		}
		return nil
	}
	if !strings.EqualFold(prev.DC, dse.dsServiceName) || prev.InvocationID != inv {
		log.Info("ldap cursor is from another domain controller or database (dsServiceName/invocationId changed): full read",
			zap.String("was_dc", prev.DC), zap.String("was_invocation_id", prev.InvocationID),
			zap.String("dc", dse.dsServiceName), zap.String("invocation_id", inv))
		return nil
	}
	if prev.USN > dse.highestUSN {
		log.Info("ldap cursor USN is ahead of the server's (restored DC?): full read",
			zap.Int64("cursor_usn", prev.USN), zap.Int64("highest_committed_usn", dse.highestUSN))
		return nil
	}
	since := "(uSNChanged>=" + strconv.FormatInt(prev.USN+1, 10) + ")"
	r.mode = sources.Delta
	for i := range r.plan {
		r.plan[i].filter = "(&" + r.plan[i].filter + since + ")"
	}
	if strings.EqualFold(s.cfg.Anchor, "objectGUID") && dse.defaultNC != "" {
		r.plan = append(r.plan, search{
			base: "CN=Deleted Objects," + dse.defaultNC, scope: ldap.ScopeSingleLevel,
			filter:   "(&(isDeleted=TRUE)" + since + ")",
			attrs:    []string{"objectGUID", "lastKnownParent"},
			controls: []ldap.Control{ldap.NewControlString(oidShowDeleted, true, "")},
			deleted:  true,
		})
	} else {
		log.Info("ldap usn delta cannot report deletions (anchor is not objectGUID): only full reads disable")
	}
	return nil
}

// tombstonesVisible reports whether the account sees at least one
// tombstone. AD (and Samba) answer an account without the right to list
// CN=Deleted Objects with an empty result, not an error.
func (s *Source) tombstonesVisible(conn *ldap.Conn, defaultNC string) bool {
	res, err := conn.Search(ldap.NewSearchRequest("CN=Deleted Objects,"+defaultNC, ldap.ScopeSingleLevel,
		ldap.NeverDerefAliases, 1, 0, false, "(isDeleted=TRUE)", []string{"1.1"},
		[]ldap.Control{ldap.NewControlString(oidShowDeleted, true, "")}))
	if ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded) {
		return true
	}
	return err == nil && len(res.Entries) > 0
}

// invocationID reads the invocationId of the DC's NTDS Settings object: it
// changes when the DC's database is restored, which makes old USNs
// meaningless.
func (s *Source) invocationID(conn *ldap.Conn, dsServiceName string) (string, error) {
	res, err := conn.Search(ldap.NewSearchRequest(dsServiceName, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=*)", []string{"invocationId"}, nil))
	if err != nil {
		return "", fmt.Errorf("read invocationId of %q: %w", dsServiceName, err)
	}
	if len(res.Entries) != 1 {
		return "", fmt.Errorf("read invocationId of %q: %d entries", dsServiceName, len(res.Entries))
	}
	raw := res.Entries[0].GetRawAttributeValue("invocationId")
	id, err := DecodeGUID(raw)
	if err != nil {
		return "", fmt.Errorf("invocationId of %q: %w", dsServiceName, err)
	}
	return id, nil
}

// --- Active Directory DirSync ---
//
// DirSync works on a whole naming context and returns, for a changed
// object, only the requested attributes that changed. So a delta asks for
// the job's attributes (a change elsewhere is no change to syncd), then
// reads each changed object in full by objectGUID, keeping it only when it
// still matches the filter and lies in a base DN's scope. The cookie of a
// full read comes from a DirSync pass whose filter matches nothing, taken
// before the paged read (measured on Samba 4.17: such a cookie used with
// the job's filter returns exactly the changes made since, deletions
// included).

// dirSyncNothing is a filter no object matches.
const dirSyncNothing = "(&(objectClass=top)(!(objectClass=top)))"

func (s *Source) prepareDirSync(r *reader, dse rootDSE, prev *cursor, bases []string, log *zap.Logger) error {
	nc := dse.defaultNC
	if nc == "" {
		log.Warn("ldap server names no defaultNamingContext (not Active Directory?): full read without a cursor")
		return nil
	}
	if prev != nil {
		recs, cookie, err := s.dirSyncDelta(r, nc, prev.Cookie)
		var fb *errFallback
		switch {
		case err == nil:
			r.mode, r.plan, r.pre = sources.Delta, nil, recs
			r.cur = &cursor{Kind: DeltaDirSync, Bases: bases, Cookie: cookie}
			log.Debug("ldap dirsync delta read", zap.Int("records", len(recs)))
			return nil
		case errors.As(err, &fb):
			log.Info("ldap dirsync delta not possible: full read", zap.String("reason", fb.reason))
		default:
			return fmt.Errorf("ldap dirsync delta read: %w", err)
		}
	}
	_, cookie, err := s.dirSync(r, nc, dirSyncNothing, []string{"objectGUID"}, nil, func(*ldap.Entry) error { return nil })
	if err != nil {
		if !r.recoverable(err) {
			return err
		}
		log.Warn("ldap dirsync cookie unavailable (the account needs Replicating Directory Changes): full read without a cursor", zap.Error(err))
		return nil
	}
	r.cur = &cursor{Kind: DeltaDirSync, Bases: bases, Cookie: cookie}
	return nil
}

// dirSync runs DirSync rounds over the naming context nc from cookie
// until the server has no more, calling fn for each entry, and returns
// the number of rounds and the final cookie.
func (s *Source) dirSync(r *reader, nc, filter string, attrs []string, cookie []byte, fn func(*ldap.Entry) error) (int, []byte, error) {
	for round := 1; ; round++ {
		if err := r.ctx.Err(); err != nil {
			return round, nil, err
		}
		if round > 100_000 {
			return round, nil, errors.New("dirsync does not end")
		}
		req := ldap.NewSearchRequest(nc, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false, filter, attrs, nil)
		res, err := r.conn.DirSync(req, 0, 0, cookie)
		if err != nil {
			return round, nil, fmt.Errorf("dirsync %q: %w", nc, err)
		}
		ctrl, _ := ldap.FindControl(res.Controls, ldap.ControlTypeDirSync).(*ldap.ControlDirSync)
		if ctrl == nil || len(ctrl.Cookie) == 0 {
			return round, nil, fmt.Errorf("dirsync %q: the server answered without a DirSync cookie", nc)
		}
		for _, e := range res.Entries {
			if err := fn(e); err != nil {
				return round, nil, err
			}
		}
		cookie = ctrl.Cookie
		if ctrl.Flags == 0 {
			return round, cookie, nil
		}
	}
}

// dirSyncDelta reads the changes since cookie: tombstones as deletions,
// changed objects read again in full. A cookie the server refuses, or
// more than maxDelta changes, is an *errFallback.
func (s *Source) dirSyncDelta(r *reader, nc string, cookie []byte) ([]sources.Record, []byte, error) {
	var (
		recs    []sources.Record
		changed []string
		seen    = map[string]bool{}
	)
	attrs := appendAttr(appendAttr(r.attrs, "objectGUID"), "isDeleted")
	_, next, err := s.dirSync(r, nc, "(|"+s.cfg.Filter+"(isDeleted=TRUE))", attrs, cookie, func(e *ldap.Entry) error {
		guid, err := DecodeGUID(e.GetRawAttributeValue("objectGUID"))
		if err != nil || seen[guid] {
			return nil // not an object syncd can name, or already listed
		}
		seen[guid] = true
		if strings.EqualFold(e.GetAttributeValue("isDeleted"), "TRUE") {
			recs = append(recs, sources.Record{Anchor: guid, DN: e.DN, Pos: e.DN, Deleted: true})
		} else {
			changed = append(changed, guid)
		}
		if len(recs)+len(changed) > s.maxDelta {
			return &errFallback{fmt.Sprintf("more than %d changes", s.maxDelta)}
		}
		return nil
	})
	var fb *errFallback
	switch {
	case errors.As(err, &fb):
		return nil, nil, err
	case err != nil && r.recoverable(err):
		return nil, nil, &errFallback{fmt.Sprintf("the server refused the DirSync cookie: %v", err)}
	case err != nil:
		return nil, nil, err
	}
	bases := make([]*ldap.DN, len(s.cfg.BaseDN))
	for i, b := range s.cfg.BaseDN {
		bases[i], _ = ldap.ParseDN(b) // valid: Validate checked
	}
	for _, guid := range changed {
		res, err := r.conn.Search(ldap.NewSearchRequest("<GUID="+guid+">", ldap.ScopeBaseObject, ldap.NeverDerefAliases,
			0, 0, false, s.cfg.Filter, r.attrs, nil))
		if ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
			continue // deleted since: its tombstone comes next time
		}
		if err != nil {
			return nil, nil, fmt.Errorf("read changed object %s: %w", guid, err)
		}
		if len(res.Entries) != 1 || !s.inScope(bases, res.Entries[0].DN) {
			continue // out of the filter or the base DNs: only full reads act on that
		}
		rec, err := r.convert(fromLDAP(res.Entries[0]))
		if err != nil {
			return nil, nil, err
		}
		recs = append(recs, rec)
	}
	return recs, next, nil
}

// inScope reports whether dn lies within the configured scope of one of
// the base DNs.
func (s *Source) inScope(bases []*ldap.DN, dn string) bool {
	d, err := ldap.ParseDN(dn)
	if err != nil {
		return false
	}
	for _, b := range bases {
		switch s.scope {
		case ldap.ScopeBaseObject:
			if b.EqualFold(d) {
				return true
			}
		case ldap.ScopeSingleLevel:
			if len(d.RDNs) == len(b.RDNs)+1 && b.AncestorOfFold(d) {
				return true
			}
		default:
			if b.EqualFold(d) || b.AncestorOfFold(d) {
				return true
			}
		}
	}
	return false
}

// --- modifyTimestamp ---

// tsWatermark computes the timestamp cursor of a read on a server that
// does not tell its time: from the latest modifyTimestamp seen.
type tsWatermark struct {
	start time.Time // client clock, read start: only durations are used
	max   time.Time
	seen  bool
	prev  string // the previous cursor's since, kept when nothing is seen
}

func (w *tsWatermark) see(rec sources.Record) {
	v := rec.Get("modifytimestamp")
	if v == "" {
		return
	}
	t, err := parseGenTime(v)
	if err != nil {
		return
	}
	if !w.seen || t.After(w.max) {
		w.max, w.seen = t, true
	}
}

// since returns the watermark for the next read: the latest
// modifyTimestamp seen minus the read's duration and a second. An entry
// changed after the read started has a timestamp >= the server's time at
// the start, which is >= (latest seen) - (read duration): no server/client
// clock comparison is involved. "" when there is nothing to go by.
func (w *tsWatermark) since(now time.Time) string {
	if !w.seen {
		return w.prev
	}
	return formatGenTime(w.max.Add(-now.Sub(w.start) - time.Second))
}

func (s *Source) prepareTimestamp(r *reader, dse rootDSE, prev *cursor, bases []string, log *zap.Logger) {
	r.cur = &cursor{Kind: DeltaTimestamp, Bases: bases}
	if !dse.currentTime.IsZero() {
		// The server's own clock at the read's start (AD): exact.
		r.cur.Since = formatGenTime(dse.currentTime)
	} else {
		r.ts = &tsWatermark{start: time.Now()}
		if prev != nil {
			r.ts.prev = prev.Since
		}
		for i := range r.plan {
			r.plan[i].attrs = appendAttr(r.plan[i].attrs, "modifyTimestamp")
		}
	}
	if prev == nil {
		return
	}
	r.mode = sources.Delta
	for i := range r.plan {
		r.plan[i].filter = "(&" + r.plan[i].filter + "(modifyTimestamp>=" + prev.Since + "))"
	}
	log.Debug("ldap timestamp delta read", zap.String("since", prev.Since))
}

func appendAttr(attrs []string, a string) []string {
	for _, x := range attrs {
		if strings.EqualFold(x, a) || x == "*" && !isOperational(a) {
			return attrs
		}
	}
	return append(attrs[:len(attrs):len(attrs)], a)
}

func isOperational(a string) bool { return strings.EqualFold(a, "modifyTimestamp") }

// finish ends a read that reached its end and computes its cursor.
func (r *reader) finish() {
	r.done = true
	r.entries = nil
	_ = r.conn.Close()
	if r.cur == nil {
		return
	}
	if r.ts != nil {
		r.cur.Since = r.ts.since(time.Now())
	}
	if r.cur.Kind == DeltaTimestamp && r.cur.Since == "" {
		return // an empty read of a server without currentTime: no watermark
	}
	r.cursor = r.cur.encode()
}
