package ldapsource

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"
	"go.uber.org/zap"

	"github.com/syncd/syncd/sources"
)

// Watching (`syncd run` with jobs[].watch). The watch never applies what
// it sees: it tells the caller that something changed, and the caller runs
// an ordinary delta read from the job's cursor, which finds out what. So
// a watched change takes the very path of a scheduled delta run, and
// nothing the watch misses can be lost: the next delta finds it.
//
//   - syncrepl servers (OpenLDAP syncprov): one RFC 4533 refreshAndPersist
//     search per base DN, resumed from the job's cookie, asking for no
//     attributes ("1.1"). Its refresh phase lists what changed while syncd
//     was not listening (a change: a run); then the server pushes each
//     add, modify and delete as it happens. An idle watch is one quiet
//     TCP connection.
//   - Active Directory offering change notifications (watch_method auto
//     or notify): notification searches that wake a run for each change
//     that may concern the job (notify.go); refused, the watch polls.
//   - other servers: a probe every WatchOptions.Interval for entries whose
//     uSNChanged (Active Directory, tombstones included) or
//     modifyTimestamp lies after the job's cursor, or a DirSync round from
//     the job's cookie. A probe that finds an entry it has not reported
//     before is a change. Deletions on a timestamp server are not visible
//     (only full reads find them), as for timestamp delta reads. Tombstones
//     and DirSync cover the whole domain: a deletion (or, for DirSync, a
//     change) outside the job's base DNs costs a delta run that finds
//     nothing to do.
//
// A dropped connection or a server restart ends the watch's connection;
// Watch reconnects with a capped, jittered backoff and resumes from the
// job's cursor as it is then.

// WatchOptions configures Watch.
type WatchOptions struct {
	// Interval is the probe period of servers without syncrepl. Default 10s.
	Interval time.Duration
	// Cursor returns the job's cursor (the source's part of it).
	Cursor sources.CursorFunc
	// MaxBackoff caps the wait between reconnects. Default 30s.
	MaxBackoff time.Duration

	// For tests: probeLimit replaces the const of that name when > 0;
	// probed is called after each probe of a polling watch.
	probeLimit int
	probed     func()
}

func (o WatchOptions) limit() int {
	if o.probeLimit > 0 {
		return o.probeLimit
	}
	return probeLimit
}

// Watch reports changes of the source to n until ctx ends, reconnecting
// after failures; it returns nil when ctx ends.
func (s *Source) Watch(ctx context.Context, opts WatchOptions, n sources.Notify) error {
	if opts.Interval <= 0 {
		opts.Interval = 10 * time.Second
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 30 * time.Second
	}
	if opts.Cursor == nil {
		opts.Cursor = func(context.Context) ([]byte, error) { return nil, nil }
	}
	wait := time.Second
	st := newWatchState(s.cfg.Filter)
	for {
		start := time.Now()
		err := s.watchOnce(ctx, opts, n, st)
		if ctx.Err() != nil {
			return nil
		}
		if err == nil {
			err = errors.New("watch ended")
		}
		if time.Since(start) > 2*opts.MaxBackoff {
			wait = time.Second // it ran for a while: start the backoff afresh
		}
		n.Connected(false, err)
		d := wait/2 + rand.N(wait/2+1)
		s.logger.Warn("ldap watch disconnected: reconnecting", zap.String("url", s.cfg.URL),
			zap.Duration("wait", d), zap.Error(err))
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		wait = min(wait*2, opts.MaxBackoff)
	}
}

// watchOnce connects, picks the method and watches until the connection
// fails or ctx ends.
func (s *Source) watchOnce(ctx context.Context, opts WatchOptions, n sources.Notify, st *watchState) error {
	conn, _, err := s.connectRetrying(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()
	conn.SetTimeout(min(s.cfg.Timeout, 30*time.Second))
	dse, err := s.readRootDSE(conn)
	if err != nil {
		return err
	}
	method := s.method(dse)
	log := s.logger.With(zap.String("delta", method))
	if method == DeltaSyncrepl {
		return s.persist(ctx, conn, opts, n, log)
	}
	use, why := s.notifyUsable(dse, st)
	switch {
	case use:
		err := s.notify(ctx, conn, dse, method, opts, n, log, st)
		var re *notifyRefusedError
		if !errors.As(err, &re) || s.cfg.WatchMethod == WatchNotify {
			return err
		}
		st.refused = re.Error()
		log.Warn("ldap server refuses change notifications: polling every watch_interval instead",
			zap.Duration("interval", opts.Interval), zap.Error(err))
	case s.cfg.WatchMethod == WatchNotify:
		return fmt.Errorf("watch_method notify: %s", why)
	case dse.ad && st.refused == "":
		log.Info("ldap watch does not use change notifications", zap.String("reason", why))
	}
	return s.poll(ctx, conn, dse, method, opts, n, log)
}

// watchCursor returns the job's cursor when it can start method over the
// configured base DNs, else nil.
func (s *Source) watchCursor(ctx context.Context, opts WatchOptions, method string) (*cursor, error) {
	b, err := opts.Cursor(ctx)
	if err != nil {
		return nil, fmt.Errorf("read the job's cursor: %w", err)
	}
	if len(b) == 0 {
		return nil, nil
	}
	c, err := decodeCursor(b)
	if err != nil || c.usableFor(method, normBases(s.cfg.BaseDN)) != "" {
		return nil, nil
	}
	return &c, nil
}

// --- syncrepl refreshAndPersist ---

func (s *Source) persist(ctx context.Context, conn *ldap.Conn, opts WatchOptions, n sources.Notify, log *zap.Logger) error {
	cur, err := s.watchCursor(ctx, opts, DeltaSyncrepl)
	if err != nil {
		return err
	}
	if cur == nil {
		// No cookie to resume from: the job's next run reads completely
		// anyway; ask for one now so that nothing waits for the schedule.
		log.Info("ldap watch: the job has no syncrepl cookie yet: a run reads the source completely")
		n.Changed(time.Now())
	}
	// A persistent search never ends: no request timeout on it.
	conn.SetTimeout(0)
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type ended struct {
		base string
		err  error
	}
	endc := make(chan ended, len(s.cfg.BaseDN))
	refreshed := make(chan struct{}, len(s.cfg.BaseDN))
	for i, base := range s.cfg.BaseDN {
		var cookie []byte
		if cur != nil {
			cookie = cur.Cookies[i]
		}
		go func() {
			endc <- ended{base, s.persistBase(pctx, conn, base, cookie, n, refreshed)}
		}()
	}
	up, left := false, len(s.cfg.BaseDN)
	for {
		select {
		case <-refreshed:
			left--
			if left == 0 && !up {
				up = true
				n.Connected(true, nil)
				log.Info("ldap watch listening (syncrepl refreshAndPersist)", zap.Strings("base_dn", s.cfg.BaseDN))
			}
		case e := <-endc:
			cancel()
			_ = conn.Close()
			if ctx.Err() != nil {
				return nil
			}
			if e.err == nil {
				e.err = errors.New("the server ended the persistent search")
			}
			return fmt.Errorf("syncrepl persist of %q: %w", e.base, e.err)
		}
	}
}

// persistBase runs one refreshAndPersist search and reports every entry
// and deletion it receives as a change. It says on refreshed when the
// refresh phase is over.
func (s *Source) persistBase(ctx context.Context, conn *ldap.Conn, base string, cookie []byte, n sources.Notify, refreshed chan<- struct{}) error {
	req := ldap.NewSearchRequest(base, s.scope, ldap.NeverDerefAliases, 0, 0, false, s.cfg.Filter, []string{"1.1"}, nil)
	resp := conn.Syncrepl(ctx, req, 64, ldap.SyncRequestModeRefreshAndPersist, cookie, false)
	done := false
	markDone := func() {
		if !done {
			done = true
			refreshed <- struct{}{}
		}
	}
	for resp.Next() {
		if resp.Entry() != nil {
			st, _ := ldap.FindControl(resp.Controls(), ldap.ControlTypeSyncState).(*ldap.ControlSyncState)
			if st != nil && st.State == ldap.SyncStatePresent {
				continue // unchanged (present phase): a delta read decides
			}
			n.Changed(time.Now())
			continue
		}
		for _, c := range resp.Controls() {
			switch c := c.(type) {
			case *ldap.ControlSyncInfo:
				switch {
				case c.SyncIdSet != nil && len(c.SyncIdSet.SyncUUIDs) > 0:
					n.Changed(time.Now())
				case c.RefreshDelete != nil && c.RefreshDelete.RefreshDone,
					c.RefreshPresent != nil && c.RefreshPresent.RefreshDone:
					if c.RefreshPresent != nil {
						// A present phase: deletions are known only to a
						// run that compares (a full read).
						n.Changed(time.Now())
					}
					markDone()
				}
			case *ldap.ControlSyncDone:
				// The search ended (it should not, in persist mode).
				return errors.New("the server ended the persistent search (syncDone)")
			}
		}
	}
	err := resp.Err()
	if ldap.IsErrorWithCode(err, resultSyncRefreshRequired) {
		// The cookie is refused: a run reads completely and saves a new one.
		n.Changed(time.Now())
		return fmt.Errorf("the server refused the cookie (e-syncRefreshRequired): %w", err)
	}
	return err
}

// --- polling ---

// prober remembers what the last probe found, so an entry is reported
// once, however often the probe sees it before a run moves the cursor.
//
// A timestamp probe also keeps a watermark of its own. The job's cursor
// (the newest modifyTimestamp a read saw, less the read's duration and a
// second) stays behind a bulk load for as long as nothing changes after
// it, so probing from the cursor would read the load at every interval
// and, past probeLimit entries, take it for a change at every interval: a
// delta run each time, re-reading it. But every entry a probe sees shows
// that the server's clock had reached its modifyTimestamp, and from then
// on that clock advances at least as the client's monotonic clock does
// (less clockRateMargin): a change made after a probe starts carries a
// timestamp no earlier than that bound, truncated to the second. So each
// probe searches from the bound at the previous probe's start (or the
// cursor, whichever is later), and a quiet directory costs an empty search
// per interval. Only one server's clock is involved (a prober lives as long
// as its connection) and the client's elapsed time, never a comparison of
// the two clocks.
type prober struct {
	seen      map[string]bool
	triggered bool // a probe without a cursor has asked for a run

	low   time.Time // a lower bound of the server's clock at lowAt (zero: none yet)
	lowAt time.Time // when, on the client's monotonic clock
	next  time.Time // the next timestamp probe's watermark (zero: the cursor's)
}

// clockRateMargin is how much slower than the client's the server's clock
// may run (NTP slews by at most 0.05 %).
const clockRateMargin = 100

// serverClock returns a lower bound of the server's clock at client time t.
func (p *prober) serverClock(t time.Time) (time.Time, bool) {
	if p.low.IsZero() {
		return time.Time{}, false
	}
	el := t.Sub(p.lowAt)
	return p.low.Add(el - el/clockRateMargin), true
}

// observe raises the lower bound with the newest modifyTimestamp a probe
// that ended at end has seen.
func (p *prober) observe(end time.Time, newest time.Time) {
	low, ok := p.serverClock(end)
	if !ok || newest.After(low) {
		low = newest
	}
	if !low.IsZero() {
		p.low, p.lowAt = low, end
	}
}

func (s *Source) poll(ctx context.Context, conn *ldap.Conn, dse rootDSE, method string, opts WatchOptions, n sources.Notify, log *zap.Logger) error {
	p := &prober{seen: map[string]bool{}}
	up := false
	t := time.NewTicker(opts.Interval)
	defer t.Stop()
	for {
		changed, err := s.probe(ctx, conn, dse, method, opts, p)
		if err != nil {
			return err
		}
		if opts.probed != nil {
			opts.probed()
		}
		if !up {
			up = true
			n.Connected(true, nil)
			log.Info("ldap watch polling", zap.Duration("interval", opts.Interval))
		}
		if changed {
			n.Changed(time.Now())
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// probeLimit bounds the entries one probe search returns: more than that
// is a change whatever they are.
const probeLimit = 1000

// probe reports whether the source holds a change the watch has not
// reported yet.
func (s *Source) probe(ctx context.Context, conn *ldap.Conn, dse rootDSE, method string, opts WatchOptions, p *prober) (bool, error) {
	cur, err := s.watchCursor(ctx, opts, method)
	if err != nil {
		return false, err
	}
	if cur == nil {
		// No cursor yet: one run (a full read) makes one.
		first := !p.triggered
		p.triggered = true
		return first, nil
	}
	p.triggered = false
	var searches []*ldap.SearchRequest
	limit := opts.limit()
	start := time.Now()
	switch method {
	case DeltaUSN:
		since := "(uSNChanged>=" + strconv.FormatInt(cur.USN+1, 10) + ")"
		for _, b := range s.cfg.BaseDN {
			searches = append(searches, ldap.NewSearchRequest(b, s.scope, ldap.NeverDerefAliases, limit, 0, false,
				"(&"+s.cfg.Filter+since+")", []string{"uSNChanged"}, nil))
		}
		if strings.EqualFold(s.cfg.Anchor, "objectGUID") && dse.defaultNC != "" {
			searches = append(searches, ldap.NewSearchRequest("CN=Deleted Objects,"+dse.defaultNC, ldap.ScopeSingleLevel,
				ldap.NeverDerefAliases, limit, 0, false, "(&(isDeleted=TRUE)"+since+")", []string{"uSNChanged"},
				[]ldap.Control{ldap.NewControlString(oidShowDeleted, true, "")}))
		}
	case DeltaTimestamp:
		// modifyTimestamp has whole seconds: two changes of an entry in
		// one second differ only in their values, so those are compared
		// too (the entries changed since the watermark are few).
		since := cur.Since
		if c, err := parseGenTime(cur.Since); err == nil && p.next.After(c) {
			since = formatGenTime(p.next)
		}
		// The next probe's: what changes from now on carries a timestamp
		// no earlier than the server's clock now.
		if b, ok := p.serverClock(start); ok {
			p.next = b.Truncate(time.Second).Add(-time.Second)
		}
		for _, b := range s.cfg.BaseDN {
			searches = append(searches, ldap.NewSearchRequest(b, s.scope, ldap.NeverDerefAliases, limit, 0, false,
				"(&"+s.cfg.Filter+"(modifyTimestamp>="+since+"))", []string{"*", "modifyTimestamp"}, nil))
		}
	case DeltaDirSync:
		return s.probeDirSync(conn, dse, cur, p)
	default:
		return false, fmt.Errorf("no way to watch with delta method %q", method)
	}
	found := map[string]bool{}
	changed := false
	var newest time.Time
	for i, req := range searches {
		res, err := conn.Search(req)
		switch {
		case ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded):
			changed = true
		case err != nil && i == len(searches)-1 && method == DeltaUSN && len(searches) > len(s.cfg.BaseDN) &&
			!ldap.IsErrorWithCode(err, ldap.ErrorNetwork):
			// Tombstones unreadable (the account's rights): the delta
			// read says so; the probe sees the other changes.
			continue
		case err != nil:
			return false, fmt.Errorf("probe %q: %w", req.BaseDN, err)
		}
		if res == nil {
			continue
		}
		for _, e := range res.Entries {
			k := entryKey(e)
			found[k] = true
			if !p.seen[k] {
				changed = true
			}
			if method == DeltaTimestamp {
				if t, err := parseGenTime(e.GetEqualFoldAttributeValue("modifyTimestamp")); err == nil && t.After(newest) {
					newest = t
				}
			}
		}
	}
	p.seen = found
	if method == DeltaTimestamp {
		p.observe(time.Now(), newest)
	}
	return changed, nil
}

// probeDirSync runs one DirSync round from the job's cookie.
func (s *Source) probeDirSync(conn *ldap.Conn, dse rootDSE, cur *cursor, p *prober) (bool, error) {
	if dse.defaultNC == "" {
		return false, errors.New("dirsync probe: the server names no defaultNamingContext")
	}
	// DirSync returns, of a changed object, only the requested attributes
	// that changed: ask for the job's (every user attribute when it names
	// none; the mapping's are not known here).
	attrs := appendAttr(appendAttr(s.attributes(nil), "objectGUID"), "isDeleted")
	req := ldap.NewSearchRequest(dse.defaultNC, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
		"(|"+s.cfg.Filter+"(isDeleted=TRUE))", attrs, nil)
	res, err := conn.DirSync(req, 0, 0, cur.Cookie)
	if err != nil {
		return false, fmt.Errorf("dirsync probe: %w", err)
	}
	found := map[string]bool{}
	changed := false
	for _, e := range res.Entries {
		k := entryKey(e)
		found[k] = true
		if !p.seen[k] {
			changed = true
		}
	}
	p.seen = found
	return changed, nil
}

// entryKey identifies an entry in one state: its DN and its values.
func entryKey(e *ldap.Entry) string {
	var b strings.Builder
	b.WriteString(strings.ToLower(e.DN))
	attrs := make([]string, 0, len(e.Attributes))
	for _, a := range e.Attributes {
		attrs = append(attrs, strings.ToLower(a.Name)+"="+strings.Join(a.Values, "\x00"))
	}
	sort.Strings(attrs)
	for _, a := range attrs {
		b.WriteByte(0)
		b.WriteString(a)
	}
	return b.String()
}
