package ldapsource

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/go-ldap/ldap/v3"
	"go.uber.org/zap"

	"github.com/syncd/syncd/sources"
	"github.com/syncd/syncd/sources/ldifsource"
)

// Active Directory change notifications (LDAP_SERVER_NOTIFICATION_OID), the
// watch of AD servers that offer them (watch_method auto or notify).
//
// A notification search is an asynchronous search with the control
// 1.2.840.113556.1.4.528 that never ends: the server sends the entry of
// every object that changes in its scope, until the connection closes.
// The server accepts only the filter (objectClass=*) and few such
// searches per connection (MaxNotificationPerConn, 5 by default), and
// Windows 2000 DCs refuse a subtree scope anywhere but at a naming
// context's root (MS-ADTS 3.1.1.3.4.1.9; Windows Server 2003 and later,
// and Samba, accept it). So:
//
//   - syncd opens one notification search per base DN with the job's
//     scope, each on a connection of its own (AD's limit is never reached;
//     and Samba re-runs a connection's notification searches one per 5 s
//     in turn, so a search per connection keeps its delay at 5 s);
//   - if the server refuses a subtree search below a naming context's
//     root with unwillingToPerform (Windows 2000 did), one subtree search
//     of the domain's root replaces the subtree base DNs: every change in
//     the domain then reaches syncd, which drops those outside the base DNs;
//   - deletions: a deleted object moves to CN=Deleted Objects, out of the
//     base DNs' scope, and Samba (4.17) tells of it only to a search with
//     the show-deleted control whose scope covers the tombstone. So with
//     anchor objectGUID a one-level search of CN=Deleted Objects (show
//     deleted) watches the tombstones; its lastKnownParent tells whether
//     the object was in a base DN's scope. The domain root search carries
//     show-deleted too and covers them.
//
// syncd applies the job's base DNs and filter to what arrives. It asks for
// objectClass and objectCategory only, and with these alone cannot know
// whether a change took an entry out of the filter (a user disabled under
// a filter that excludes disabled users, a department changed): so an
// entry wakes a run unless its classes alone rule it out (a group or a
// computer under the default filter), by the three-valued evaluation of
// ldifsource.Filter.MayMatch. When in doubt, it wakes: a run that finds
// nothing costs one LDAP delta read and no PingOne call.
//
// What the notification is not: the changes themselves. A wake-up runs
// the ordinary delta read from the job's cursor (uSNChanged or DirSync),
// so whatever a notification misses, the next run still finds. Right
// after the searches are registered, syncd probes the cursor once (as a
// poll would): changes made while it was not listening (before a start,
// during a reconnect) wake a run at once.
//
// Limits: an entry moved out of the base DNs is reported, if at all, at
// its new place, outside them: as for delta reads, only full reads act on
// it. A base DN outside the defaultNamingContext gets no tombstone watch.
// A server that refuses the control (unavailableCriticalExtension,
// insufficientAccessRights, unwillingToPerform, adminLimitExceeded) makes
// the watch poll every watch_interval instead (logged once), unless
// watch_method is notify.

// oidNotification is LDAP_SERVER_NOTIFICATION_OID.
const oidNotification = "1.2.840.113556.1.4.528"

// notifyAttrs are what a notification asks of a changed object: what
// tells whether it may be one of the job's users.
var notifyAttrs = []string{"objectClass", "objectCategory", "isDeleted", "lastKnownParent"}

// watchState is what a watch keeps across its reconnects.
type watchState struct {
	// refused says why the server refused change notifications; the watch
	// then polls.
	refused string
	// widen: the server refused a subtree notification search below a
	// naming context's root; the root is watched instead.
	widen bool
	// filter is the job's filter compiled for offline matching; nil when
	// it cannot be evaluated offline (filterErr says why): then every
	// change in the base DNs wakes a run.
	filter    *ldifsource.Filter
	filterErr error
}

func newWatchState(filter string) *watchState {
	st := &watchState{}
	st.filter, st.filterErr = ldifsource.CompileFilter(filter)
	return st
}

// notifySpec is one notification search.
type notifySpec struct {
	base    string
	scope   int
	deleted bool // CN=Deleted Objects, for tombstones
	root    bool // a naming context's root (carries show-deleted too)
}

func (sp notifySpec) scopeName() string {
	switch sp.scope {
	case ldap.ScopeBaseObject:
		return "base"
	case ldap.ScopeSingleLevel:
		return "one"
	}
	return "sub"
}

// notifyRefusedError says the server refused a notification search.
type notifyRefusedError struct {
	spec notifySpec
	err  error
}

func (e *notifyRefusedError) Error() string {
	return fmt.Sprintf("notification search of %q (scope %s) refused: %v", e.spec.base, e.spec.scopeName(), e.err)
}

func (e *notifyRefusedError) Unwrap() error { return e.err }

// refusal reports whether a search result says the server will not run
// the notification search (for this account, request or connection).
func refusal(err error) bool {
	for _, code := range []uint16{ldap.LDAPResultUnavailableCriticalExtension, ldap.LDAPResultInsufficientAccessRights,
		ldap.LDAPResultUnwillingToPerform, ldap.LDAPResultAdminLimitExceeded} {
		if ldap.IsErrorWithCode(err, code) {
			return true
		}
	}
	return false
}

// notifyUsable says whether the watch uses change notifications on this
// server, or why not.
func (s *Source) notifyUsable(dse rootDSE, st *watchState) (bool, string) {
	switch {
	case s.cfg.WatchMethod == WatchPoll:
		return false, "watch_method is poll"
	case st.refused != "" && s.cfg.WatchMethod != WatchNotify:
		return false, st.refused
	case !dse.ad:
		return false, "the server is not Active Directory"
	case !dse.controls[oidNotification]:
		return false, "the server does not advertise the change notification control (" + oidNotification + ")"
	}
	return true, ""
}

// notify watches with change notifications until the connection fails,
// a search is refused (a *notifyRefusedError) or ctx ends. conn is the
// watch's connection: it probes the cursor.
func (s *Source) notify(ctx context.Context, conn *ldap.Conn, dse rootDSE, method string, opts WatchOptions,
	n sources.Notify, log *zap.Logger, st *watchState) error {
	if st.filterErr != nil {
		log.Info("ldap watch cannot evaluate the job's filter offline: every change in the base DNs wakes a run",
			zap.Error(st.filterErr))
		st.filterErr = nil // said once
	}
	for {
		err := s.notifyOnce(ctx, conn, dse, method, opts, n, log, st)
		var re *notifyRefusedError
		if !st.widen && errors.As(err, &re) && ldap.IsErrorWithCode(re.err, ldap.LDAPResultUnwillingToPerform) &&
			re.spec.scope == ldap.ScopeWholeSubtree && !re.spec.root && !re.spec.deleted && dse.defaultNC != "" {
			st.widen = true
			log.Info("ldap server watches no subtree below a naming context's root (as Windows 2000 DCs): watching the domain's root, "+
				"and dropping the changes outside the base DNs", zap.String("root", dse.defaultNC), zap.Error(re.err))
			continue
		}
		return err
	}
}

// notifySpecs lists the notification searches for the job's base DNs.
func (s *Source) notifySpecs(dse rootDSE, widen bool) []notifySpec {
	nc, _ := ldap.ParseDN(dse.defaultNC)
	var specs []notifySpec
	haveRoot := false
	for _, b := range s.cfg.BaseDN {
		d, err := ldap.ParseDN(b)
		inNC := err == nil && nc != nil && len(nc.RDNs) > 0 && (nc.EqualFold(d) || nc.AncestorOfFold(d))
		isRoot := inNC && nc.EqualFold(d)
		if inNC && s.scope == ldap.ScopeWholeSubtree && (widen || isRoot) {
			if !haveRoot {
				haveRoot = true
				specs = append(specs, notifySpec{base: dse.defaultNC, scope: ldap.ScopeWholeSubtree, root: true})
			}
			continue
		}
		specs = append(specs, notifySpec{base: b, scope: s.scope})
	}
	if !haveRoot && dse.defaultNC != "" && strings.EqualFold(s.cfg.Anchor, "objectGUID") {
		// Deletions matter only where a delta read reports them (by objectGUID).
		specs = append(specs, notifySpec{base: "CN=Deleted Objects," + dse.defaultNC, scope: ldap.ScopeSingleLevel, deleted: true})
	}
	return specs
}

func (s *Source) notifyOnce(ctx context.Context, conn *ldap.Conn, dse rootDSE, method string, opts WatchOptions,
	n sources.Notify, log *zap.Logger, st *watchState) error {
	specs := s.notifySpecs(dse, st.widen)
	bases := make([]*ldap.DN, len(s.cfg.BaseDN))
	for i, b := range s.cfg.BaseDN {
		bases[i], _ = ldap.ParseDN(b) // valid: Validate checked
	}
	pctx, cancel := context.WithCancel(ctx)
	places := &formerPlaces{s: s, ctx: pctx}
	var (
		wg    sync.WaitGroup
		conns []*ldap.Conn
	)
	defer func() {
		cancel()
		for _, c := range conns {
			_ = c.Close()
		}
		wg.Wait()
		places.close()
	}()
	errc := make(chan error, len(specs))
	for _, sp := range specs {
		// One search per connection: never over MaxNotificationPerConn.
		c, _, err := s.connectRetrying(pctx)
		if err != nil {
			return err
		}
		// A notification search never ends: no request timeout on its
		// connection (set before the search is sent).
		c.SetTimeout(0)
		conns = append(conns, c)
		wg.Go(func() { errc <- s.notifySearch(pctx, c, sp, bases, n, st, places) })
	}
	// The searches are sent; now what changed since the job's cursor (a
	// change made meanwhile is reported twice, not missed).
	changed, err := s.probe(ctx, conn, dse, method, opts, &prober{seen: map[string]bool{}})
	if err != nil {
		return err
	}
	if changed {
		n.Changed(time.Now())
	}
	watched := make([]string, len(specs))
	for i, sp := range specs {
		watched[i] = sp.base + " (" + sp.scopeName() + ")"
	}
	up := false
	left := len(specs)
	for {
		if !up {
			select {
			case err := <-errc:
				if err = s.notifyEnded(ctx, err, log); err != nil {
					return err
				}
				left--
				continue
			default:
			}
			up = true
			n.Connected(true, nil)
			log.Info("ldap watch listening (Active Directory change notifications)", zap.Strings("searches", watched),
				zap.Int("connections", len(specs)))
		}
		select {
		case <-ctx.Done():
			return nil
		case err := <-errc:
			if err = s.notifyEnded(ctx, err, log); err != nil {
				return err
			}
			if left--; left == 0 {
				return errors.New("no notification search left")
			}
		}
	}
}

// notifyEnded handles the end of a notification search: nil when the
// watch goes on without it (ctx ended, or tombstones the account may not
// watch), else the error that ends the watch's connection.
func (s *Source) notifyEnded(ctx context.Context, err error, log *zap.Logger) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var re *notifyRefusedError
	if errors.As(err, &re) && re.spec.deleted {
		log.Info("ldap watch: the server will not watch CN=Deleted Objects (may the account list tombstones?): "+
			"a deletion reaches syncd with the next run", zap.Error(err))
		return nil
	}
	return err
}

// notifySearch runs one notification search, waking a run for each entry
// that may concern the job, until the search or the connection ends.
func (s *Source) notifySearch(ctx context.Context, c *ldap.Conn, sp notifySpec, bases []*ldap.DN, n sources.Notify,
	st *watchState, places *formerPlaces) error {
	ctrls := []ldap.Control{ldap.NewControlString(oidNotification, true, "")}
	if sp.deleted || sp.root {
		ctrls = append(ctrls, ldap.NewControlString(oidShowDeleted, true, ""))
	}
	req := ldap.NewSearchRequest(sp.base, sp.scope, ldap.NeverDerefAliases, 0, 0, false, "(objectClass=*)", notifyAttrs, ctrls)
	resp := c.SearchAsync(ctx, req, 64)
	for resp.Next() {
		e := resp.Entry()
		if e == nil {
			continue // a referral or a control: nothing changed
		}
		wake := s.wakes(e, bases, st.filter, places)
		if s.notified != nil {
			s.notified(e, wake)
		}
		if wake {
			n.Changed(time.Now())
		}
	}
	err := resp.Err()
	switch {
	case ctx.Err() != nil:
		return nil
	case err == nil:
		// A notification search never ends by itself: this server does
		// not keep it (a refusal in effect; reconnecting would loop).
		return &notifyRefusedError{spec: sp, err: errors.New("the server ended the search at once")}
	case refusal(err), sp.deleted && !ldap.IsErrorWithCode(err, ldap.ErrorNetwork):
		// CN=Deleted Objects' search answered with any result (no such
		// object, ...): the watch goes on without it.
		return &notifyRefusedError{spec: sp, err: err}
	}
	return fmt.Errorf("notification search of %q: %w", sp.base, err)
}

// wakes reports whether a notified entry may concern the job: a live entry
// in a base DN's scope, or a tombstone whose last parent was, whose
// classes do not rule out the job's filter (f nil: any). places (nil: in
// doubt) finds where a deleted parent was.
func (s *Source) wakes(e *ldap.Entry, bases []*ldap.DN, f *ldifsource.Filter, places *formerPlaces) bool {
	attrs := make(map[string][]string, len(e.Attributes))
	for _, a := range e.Attributes {
		attrs[strings.ToLower(a.Name)] = a.Values
	}
	if strings.EqualFold(e.GetAttributeValue("isDeleted"), "TRUE") {
		// objectCategory is stripped from tombstones: only the classes are known.
		delete(attrs, "objectcategory")
		parent := e.GetAttributeValue("lastKnownParent")
		if isTombstoneDN(parent) && places != nil {
			// The parent was deleted too (an OU emptied, then deleted):
			// the server names the parent's tombstone. Where was it?
			if p, err := places.formerDN(parent, 0); err == nil {
				parent = p
			}
		}
		if parent != "" && !isTombstoneDN(parent) && !s.parentInScope(bases, parent) {
			return false
		}
		// No parent, or one whose place is unknown: in doubt.
	} else if !s.inScope(bases, e.DN) {
		return false
	}
	if f == nil {
		return true
	}
	return f.MayMatch(attrs, func(a string) bool {
		_, ok := attrs[a]
		return ok && (a == "objectclass" || a == "objectcategory")
	})
}

// parentInScope reports whether a child of parent lies within the scope
// of one of the base DNs.
func (s *Source) parentInScope(bases []*ldap.DN, parent string) bool {
	p, err := ldap.ParseDN(parent)
	if err != nil {
		return true // in doubt
	}
	for _, b := range bases {
		switch s.scope {
		case ldap.ScopeBaseObject:
			if len(b.RDNs) > 0 && (&ldap.DN{RDNs: b.RDNs[1:]}).EqualFold(p) {
				return true
			}
		case ldap.ScopeSingleLevel:
			if b.EqualFold(p) {
				return true
			}
		default:
			if b.EqualFold(p) || b.AncestorOfFold(p) {
				return true
			}
		}
	}
	return false
}

// isTombstoneDN reports whether dn names a deleted object: its RDN
// value carries "\nDEL:<objectGUID>" (written \0A in a DN string).
func isTombstoneDN(dn string) bool {
	return strings.Contains(strings.ToUpper(dn), `\0ADEL:`) || strings.Contains(dn, "\nDEL:")
}

// formerPlaces finds where deleted containers were: AD names a deleted
// parent in a tombstone's lastKnownParent by the parent's own tombstone,
// whose lastKnownParent (and RDN) tell its former DN. It reads them on a
// connection of its own, opened when first needed, and remembers them.
type formerPlaces struct {
	s   *Source
	ctx context.Context

	mu    sync.Mutex
	conn  *ldap.Conn
	stop  func() bool
	cache map[string]string // lower-case tombstone DN -> former DN
}

// maxFormerPlaces bounds the cache (then it starts afresh).
const maxFormerPlaces = 10_000

func (f *formerPlaces) close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.conn != nil {
		f.stop()
		_ = f.conn.Close()
		f.conn = nil
	}
}

// formerDN returns the DN the tombstone tomb had before its deletion.
func (f *formerPlaces) formerDN(tomb string, depth int) (string, error) {
	key := strings.ToLower(tomb)
	f.mu.Lock()
	if v, ok := f.cache[key]; ok {
		f.mu.Unlock()
		return v, nil
	}
	f.mu.Unlock()
	if depth > 16 {
		return "", errors.New("deleted parents nested too deep")
	}
	d, err := ldap.ParseDN(tomb)
	if err != nil || len(d.RDNs) == 0 || len(d.RDNs[0].Attributes) == 0 {
		return "", fmt.Errorf("tombstone DN %q: %v", tomb, err)
	}
	rdn := d.RDNs[0].Attributes[0]
	name, _, _ := strings.Cut(rdn.Value, "\n")
	parent, err := f.lastKnownParent(tomb)
	if err != nil {
		return "", err
	}
	if isTombstoneDN(parent) {
		if parent, err = f.formerDN(parent, depth+1); err != nil {
			return "", err
		}
	}
	former := rdn.Type + "=" + ldap.EscapeDN(name) + "," + parent
	f.mu.Lock()
	if f.cache == nil || len(f.cache) >= maxFormerPlaces {
		f.cache = map[string]string{}
	}
	f.cache[key] = former
	f.mu.Unlock()
	return former, nil
}

// lastKnownParent reads a tombstone's lastKnownParent, reconnecting once
// if the connection was lost.
func (f *formerPlaces) lastKnownParent(tomb string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	req := ldap.NewSearchRequest(tomb, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false, "(objectClass=*)",
		[]string{"lastKnownParent"}, []ldap.Control{ldap.NewControlString(oidShowDeleted, true, "")})
	for attempt := 0; ; attempt++ {
		if f.conn == nil {
			c, _, err := f.s.connectRetrying(f.ctx)
			if err != nil {
				return "", err
			}
			c.SetTimeout(min(f.s.cfg.Timeout, 30*time.Second))
			f.conn, f.stop = c, context.AfterFunc(f.ctx, func() { _ = c.Close() })
		}
		res, err := f.conn.Search(req)
		if ldap.IsErrorWithCode(err, ldap.ErrorNetwork) && attempt == 0 && f.ctx.Err() == nil {
			f.stop()
			_ = f.conn.Close()
			f.conn = nil
			continue
		}
		if err != nil {
			return "", fmt.Errorf("read lastKnownParent of %q: %w", tomb, err)
		}
		if len(res.Entries) != 1 || res.Entries[0].GetAttributeValue("lastKnownParent") == "" {
			return "", fmt.Errorf("no lastKnownParent for %q", tomb)
		}
		return res.Entries[0].GetAttributeValue("lastKnownParent"), nil
	}
}
