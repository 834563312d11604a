package ldapsource

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"
	"go.uber.org/zap"

	"github.com/syncd/syncd/sources"
)

var _ sources.Source = (*Source)(nil)

// dialAttempts is how many times Open tries to connect when the failure
// looks transient (refused, reset, timeout); bind and TLS failures are
// never retried, and nothing is retried once a read has started.
const dialAttempts = 3

// Source reads users from an LDAP directory or Active Directory. It is safe
// for concurrent use; every Open makes its own connection.
type Source struct {
	cfg     Config
	logger  *zap.Logger
	scope   int
	addr    string // host:port
	ldaps   bool
	tlsConf *tls.Config // nil for plaintext
	backoff time.Duration
	// maxDelta is maxDeltaBuffer; tests lower it.
	maxDelta int
	// notified, when set (tests), sees every entry a change notification
	// delivers and whether it woke a run.
	notified func(e *ldap.Entry, wake bool)
}

// New checks cfg and prepares a Source; it reads the CA and client
// certificate files but does not connect.
func New(cfg Config, logger *zap.Logger) (*Source, error) {
	cfg.SetDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("ldap source config: %w", err)
	}
	if logger == nil {
		logger = zap.NewNop()
	}
	u, err := url.Parse(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("ldap source url: %w", err)
	}
	s := &Source{cfg: cfg, logger: logger, ldaps: u.Scheme == "ldaps", backoff: 250 * time.Millisecond, maxDelta: maxDeltaBuffer}
	s.scope, _ = scopeOf(cfg.Scope)
	port := u.Port()
	if port == "" {
		port = "389"
		if s.ldaps {
			port = "636"
		}
	}
	s.addr = net.JoinHostPort(u.Hostname(), port)
	if s.ldaps || cfg.StartTLS {
		tc := &tls.Config{
			ServerName:         cfg.TLS.ServerName,
			InsecureSkipVerify: cfg.TLS.InsecureSkipVerify, //nolint:gosec // explicit, warned at every read
			MinVersion:         tls.VersionTLS12,
		}
		if tc.ServerName == "" {
			tc.ServerName = u.Hostname()
		}
		if cfg.TLS.CAFile != "" {
			pem, err := os.ReadFile(cfg.TLS.CAFile)
			if err != nil {
				return nil, fmt.Errorf("ldap source tls.ca_file: %w", err)
			}
			tc.RootCAs = x509.NewCertPool()
			if !tc.RootCAs.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("ldap source tls.ca_file %s: no PEM certificate in it", cfg.TLS.CAFile)
			}
		}
		if cfg.TLS.CertFile != "" {
			cert, err := tls.LoadX509KeyPair(cfg.TLS.CertFile, cfg.TLS.KeyFile)
			if err != nil {
				return nil, fmt.Errorf("ldap source tls client certificate: %w", err)
			}
			tc.Certificates = []tls.Certificate{cert}
		}
		s.tlsConf = tc
	}
	return s, nil
}

// Open connects, binds and starts a full read of every base DN in turn.
// The read itself happens page by page as Next is called. A bind failure
// is a *BindError, a certificate or handshake failure a *TLSError; a
// refused or timed-out connection is retried a couple of times first.
func (s *Source) Open(ctx context.Context, req sources.ReadRequest) (sources.Reader, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("ldap open %s: %w", s.cfg.URL, err)
	}
	if !s.ldaps && !s.cfg.StartTLS {
		s.logger.Warn("ldap connection is not encrypted (allow_plaintext): the bind password and user data cross the network in clear text",
			zap.String("url", s.cfg.URL))
	}
	if s.tlsConf != nil && s.cfg.TLS.InsecureSkipVerify {
		s.logger.Warn("ldap server certificate is not verified (tls.insecure_skip_verify): anyone on the path can impersonate the server",
			zap.String("url", s.cfg.URL))
	}
	rctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	conn, dc, err := s.connectRetrying(rctx)
	if err != nil {
		cancel()
		if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
			err = fmt.Errorf("%w (%w)", cerr, err)
		}
		return nil, err
	}
	r := &reader{
		src:    s,
		ctx:    rctx,
		cancel: cancel,
		conn:   conn,
		dc:     dc,
		attrs:  s.attributes(req.Attributes),
		anchor: strings.ToLower(s.cfg.Anchor),
		names:  make(map[string]attrName, 32),
	}
	// Cancelling the read's context closes the connection, which ends a
	// search blocked on the network at once.
	r.stop = context.AfterFunc(rctx, func() { _ = conn.Close() })
	for _, base := range s.cfg.BaseDN {
		r.plan = append(r.plan, search{base: base, scope: s.scope, filter: s.cfg.Filter, attrs: r.attrs})
	}
	if s.cfg.Delta != DeltaNone {
		if err := s.prepareDelta(r, req); err != nil {
			_ = r.Close()
			if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
				err = fmt.Errorf("%w (%w)", cerr, err)
			}
			return nil, fmt.Errorf("ldap open %s: %w", s.cfg.URL, err)
		}
	}
	return r, nil
}

// reconnect replaces the reader's connection with a new one (after an
// abandoned syncrepl refresh).
func (r *reader) reconnect() error {
	r.stop()
	_ = r.conn.Close()
	conn, dc, err := r.src.connectRetrying(r.ctx)
	if err != nil {
		return err
	}
	r.conn, r.dc = conn, dc
	r.stop = context.AfterFunc(r.ctx, func() { _ = conn.Close() })
	return nil
}

// attributes lists what to request: the caller's and the configured
// attributes plus the anchor, or every user attribute ("*") plus the
// anchor (entryUUID is operational) when neither names any.
func (s *Source) attributes(requested []string) []string {
	var out []string
	seen := map[string]bool{}
	add := func(a string) {
		if k := strings.ToLower(a); !seen[k] {
			seen[k] = true
			out = append(out, a)
		}
	}
	for _, a := range requested {
		add(a)
	}
	for _, a := range s.cfg.Attributes {
		add(a)
	}
	if len(out) == 0 {
		add("*")
	} else if strings.EqualFold(s.cfg.Anchor, "objectGUID") {
		add("userAccountControl") // AD's enabled flag (bit 2 = disabled)
	}
	add(s.cfg.Anchor)
	return out
}

func (s *Source) connectRetrying(ctx context.Context) (*ldap.Conn, *demuxConn, error) {
	wait := s.backoff
	for attempt := 1; ; attempt++ {
		conn, dc, err := s.connect(ctx)
		if err == nil {
			return conn, dc, nil
		}
		if attempt >= dialAttempts || !transient(err) || ctx.Err() != nil {
			return nil, nil, err
		}
		s.logger.Info("ldap connect failed, retrying", zap.String("url", s.cfg.URL),
			zap.Int("attempt", attempt), zap.Duration("wait", wait), zap.Error(err))
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, nil, fmt.Errorf("%w (after: %w)", ctx.Err(), err)
		case <-t.C:
		}
		wait *= 4
	}
}

// connect dials, does TLS (ldaps:// or StartTLS) and binds. StartTLS is
// done here rather than by go-ldap so that the demuxConn sits inside TLS.
func (s *Source) connect(ctx context.Context) (*ldap.Conn, *demuxConn, error) {
	opTimeout := min(s.cfg.Timeout, 30*time.Second)
	d := net.Dialer{Timeout: opTimeout}
	raw, err := d.DialContext(ctx, "tcp", s.addr)
	if err != nil {
		return nil, nil, fmt.Errorf("ldap connect %s: %w", s.cfg.URL, err)
	}
	ctxErr := func(err error) error {
		_ = raw.Close()
		if ctx.Err() != nil {
			return fmt.Errorf("ldap connect %s: %w", s.cfg.URL, ctx.Err())
		}
		return err
	}
	if s.cfg.StartTLS {
		if err := startTLS(ctx, raw, opTimeout); err != nil {
			return nil, nil, ctxErr(fmt.Errorf("ldap starttls %s: %w", s.cfg.URL, err))
		}
	}
	if s.tlsConf != nil {
		tc := tls.Client(raw, s.tlsConf)
		hctx, cancel := context.WithTimeout(ctx, opTimeout)
		err := tc.HandshakeContext(hctx)
		cancel()
		if err != nil {
			return nil, nil, ctxErr(&TLSError{URL: s.cfg.URL, Err: err})
		}
		raw = tc
	}
	dc := newDemuxConn(raw)
	conn := ldap.NewConn(dc, s.tlsConf != nil)
	conn.Start()
	conn.SetTimeout(s.cfg.Timeout)
	if s.cfg.BindDN != "" {
		// Until Open returns, a cancelled ctx also closes the connection
		// so a hung bind gives up.
		stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
		err := conn.Bind(s.cfg.BindDN, s.cfg.BindPassword.Reveal())
		stop()
		if err != nil {
			_ = conn.Close()
			switch {
			case ctx.Err() != nil:
				return nil, nil, fmt.Errorf("ldap bind to %s: %w", s.cfg.URL, ctx.Err())
			case ldap.IsErrorWithCode(err, ldap.ErrorNetwork):
				return nil, nil, fmt.Errorf("ldap bind to %s: %w", s.cfg.URL, err)
			}
			return nil, nil, &BindError{URL: s.cfg.URL, DN: s.cfg.BindDN, Err: err}
		}
	}
	return conn, dc, nil
}

// startTLSRequest is the StartTLS extended request (RFC 4511 4.14), message
// ID 1: SEQUENCE { 1, [APPLICATION 23] { [0] "1.3.6.1.4.1.1466.20037" } }.
var startTLSRequest = append([]byte{0x30, 0x1d, 0x02, 0x01, 0x01, 0x77, 0x18, 0x80, 0x16},
	"1.3.6.1.4.1.1466.20037"...)

// startTLS asks the server to start TLS on c and checks its answer; the
// caller does the handshake.
func startTLS(ctx context.Context, c net.Conn, timeout time.Duration) error {
	stop := context.AfterFunc(ctx, func() { _ = c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if err := c.SetDeadline(time.Now().Add(timeout)); err != nil {
		return err
	}
	defer func() { _ = c.SetDeadline(time.Time{}) }()
	if _, err := c.Write(startTLSRequest); err != nil {
		return err
	}
	// The server sends nothing after its response until our ClientHello,
	// so this reader cannot swallow TLS bytes.
	var buf []byte
	msg, err := readMessage(bufio.NewReaderSize(c, 512), &buf)
	if err != nil {
		return fmt.Errorf("read response: %w", err)
	}
	code, diag, err := extendedResult(msg)
	if err != nil {
		return err
	}
	if code != 0 {
		return &ldap.Error{ResultCode: code, Err: fmt.Errorf("server refused StartTLS: %s", diag)}
	}
	return nil
}

// extendedResult decodes the LDAPResult of an ExtendedResponse message.
func extendedResult(msg []byte) (code uint16, diag string, err error) {
	bad := errors.New("malformed StartTLS response")
	d := berString(msg)
	tag, body, ok := d.next()
	if !ok || tag != tagSequence {
		return 0, "", bad
	}
	d = berString(body)
	if tag, _, ok = d.next(); !ok || tag != tagInteger {
		return 0, "", bad
	}
	if tag, body, ok = d.next(); !ok || tag != tagExtendedResponse {
		return 0, "", bad
	}
	d = berString(body)
	tag, rc, ok := d.next()
	if !ok || tag != tagEnumerated || len(rc) == 0 || len(rc) > 2 {
		return 0, "", bad
	}
	for _, b := range rc {
		code = code<<8 | uint16(b)
	}
	if _, _, ok = d.next(); !ok { // matchedDN
		return 0, "", bad
	}
	if _, m, ok := d.next(); ok {
		diag = string(m)
	}
	return code, diag, nil
}
