package ldapsource

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"
	"go.yaml.in/yaml/v3"

	"github.com/syncd/syncd/internal/fielderr"
	"github.com/syncd/syncd/internal/secret"
)

// Defaults applied by SetDefaults (and by New on its own copy).
const (
	DefaultScope    = "sub"
	DefaultAnchor   = "entryUUID"
	DefaultPageSize = 500
	DefaultTimeout  = 5 * time.Minute
	// DefaultFilter is the filter for directories with inetOrgPerson users
	// (OpenLDAP, 389-ds).
	DefaultFilter = "(objectClass=inetOrgPerson)"
	// DefaultADFilter is the filter when the anchor is objectGUID (Active
	// Directory, Samba): user accounts, not computers or contacts.
	DefaultADFilter = "(&(objectCategory=person)(objectClass=user))"
	// PasswordEnv is the environment variable the config loader reads the
	// bind password from when bind_password_file is not set.
	PasswordEnv = "SYNCD_LDAP_BIND_PASSWORD"
)

// Config is the source.ldap block of a job.
type Config struct {
	// URL is ldaps://host[:636] or ldap://host[:389]; ldap:// needs
	// start_tls: true, or allow_plaintext: true to send the password in
	// clear text.
	URL string `yaml:"url"`
	// BindDN is the account syncd binds as: a DN, or for Active Directory
	// also user@domain or DOMAIN\user. Empty means an anonymous bind.
	BindDN string `yaml:"bind_dn"`
	// BindPasswordFile names a file holding the bind password (trailing
	// newline ignored). When empty, the password comes from the environment
	// variable SYNCD_LDAP_BIND_PASSWORD.
	BindPasswordFile string `yaml:"bind_password_file"`
	// BindPassword is the resolved password: the config loader (or
	// ResolveBindPassword) fills it from the file or the environment. It is
	// never read from YAML.
	BindPassword secret.Value `yaml:"-"`
	// BaseDN is one DN or a list of DNs, searched in turn.
	BaseDN DNList `yaml:"base_dn"`
	// Scope is sub (default), one or base.
	Scope string `yaml:"scope"`
	// Filter selects the users. Default: (objectClass=inetOrgPerson), or
	// (&(objectCategory=person)(objectClass=user)) when anchor is objectGUID.
	Filter string `yaml:"filter"`
	// Anchor names the attribute that identifies an entry for life:
	// entryUUID (default; OpenLDAP, 389-ds), objectGUID (Active Directory),
	// or any attribute whose value never changes.
	Anchor string `yaml:"anchor"`
	// Attributes are requested in addition to those the mapping uses (the
	// caller's ReadRequest.Attributes) and the anchor.
	Attributes []string `yaml:"attributes"`
	// PageSize is the paged-results page size (default 500; Active
	// Directory caps pages at 1000, which is handled).
	PageSize int `yaml:"page_size"`
	// Timeout bounds the whole read and every single operation (default 5m).
	Timeout time.Duration `yaml:"timeout"`
	// TLS configures certificate checks for ldaps:// and StartTLS.
	TLS TLSConfig `yaml:"tls"`
	// StartTLS upgrades an ldap:// connection before binding.
	StartTLS bool `yaml:"start_tls"`
	// AllowPlaintext permits ldap:// without StartTLS: the password and
	// the data cross the network unencrypted. A warning is logged at every
	// read.
	AllowPlaintext bool `yaml:"allow_plaintext"`
	// Delta chooses how a read asks only for what changed since the last
	// successful run (the engine still reads completely at the first run,
	// after a settings change, every full_every, and with --full):
	//
	//   - auto (default): syncrepl when the server advertises the RFC 4533
	//     sync request control (OpenLDAP with syncprov) and the anchor is
	//     entryUUID; usn when the RootDSE looks like Active Directory;
	//     timestamp otherwise.
	//   - syncrepl: RFC 4533 refreshOnly with the server's cookie. Reports
	//     deletions (by entryUUID, so it needs anchor: entryUUID) when the
	//     server answers with a delete phase; a present phase, a stale or
	//     refused cookie makes the read a full one (logged).
	//   - usn: Active Directory uSNChanged watermark of the domain
	//     controller read (dsServiceName + invocationId); a different DC
	//     means a full read. Deletions come from the tombstones in
	//     CN=Deleted Objects (show-deleted control) when the anchor is
	//     objectGUID; listing them takes Domain Admins by default, or List
	//     Contents and Read Property granted on CN=Deleted Objects. Without
	//     that right deletions are seen by full reads only (logged).
	//   - dirsync: Active Directory DirSync control with its cookie (never
	//     chosen by auto). The bind account needs the Replicating
	//     Directory Changes right on the domain; the cookie survives a
	//     change of DC. Changed entries are read again in full by
	//     objectGUID, deletions come as tombstones. Needs anchor:
	//     objectGUID.
	//   - timestamp: modifyTimestamp watermark, for any server. Deletions
	//     are not visible: only full reads disable users who vanished.
	//   - none: every read is full.
	//
	// Entries that leave the base DN or stop matching the filter are not
	// reported by usn or timestamp deltas either: the periodic full read
	// handles them.
	Delta string `yaml:"delta"`
	// WatchMethod chooses how a watched job (jobs[].watch) learns of changes
	// on Active Directory:
	//
	//   - auto (default): AD's change notifications
	//     (LDAP_SERVER_NOTIFICATION_OID) when the server advertises them,
	//     falling back to polling every watch_interval if the server refuses
	//     them (logged once);
	//   - notify: change notifications or nothing: a server that does not
	//     offer or refuses them makes the watch fail (and /readyz go stale);
	//   - poll: never notifications: uSNChanged (or DirSync) polled every
	//     watch_interval.
	//
	// It changes nothing on other servers (syncrepl servers persist, the
	// others poll modifyTimestamp) nor what a run reads. Empty means auto.
	WatchMethod string `yaml:"watch_method,omitempty"`
	// IgnoreReferrals lists DNs (or referral URLs, verbatim) whose
	// continuation references a read may skip. Any other reference a
	// search returns makes the read incomplete: the entries delegated to
	// another server were not read, and must not be disabled. References
	// into Active Directory's DomainDnsZones, ForestDnsZones and
	// Configuration partitions are always skipped (they hold no users).
	IgnoreReferrals []string `yaml:"ignore_referrals"`
}

// Delta methods (Config.Delta).
const (
	DeltaAuto      = "auto"
	DeltaSyncrepl  = "syncrepl"
	DeltaUSN       = "usn"
	DeltaDirSync   = "dirsync"
	DeltaTimestamp = "timestamp"
	DeltaNone      = "none"
)

// Watch methods (Config.WatchMethod).
const (
	WatchAuto   = "auto"
	WatchNotify = "notify"
	WatchPoll   = "poll"
)

// TLSConfig is the source.ldap.tls block. Certificates are verified against
// the system roots unless CAFile is given.
type TLSConfig struct {
	// CAFile is a PEM bundle of the CAs to trust instead of the system roots.
	CAFile string `yaml:"ca_file"`
	// ServerName overrides the name checked in the server certificate
	// (default: the host of the URL).
	ServerName string `yaml:"server_name"`
	// CertFile and KeyFile are a client certificate, for servers that ask.
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// InsecureSkipVerify turns off certificate checks. For tests only; a
	// warning is logged at every read.
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`
}

func (t TLSConfig) isZero() bool { return t == TLSConfig{} }

// DNList is one or more DNs; in YAML either a string or a list of strings.
type DNList []string

// UnmarshalYAML accepts `base_dn: dc=example,dc=com` as well as a list.
func (l *DNList) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		var s string
		if err := n.Decode(&s); err != nil {
			return err
		}
		*l = DNList{s}
		return nil
	case yaml.SequenceNode:
		var s []string
		if err := n.Decode(&s); err != nil {
			return err
		}
		if splitDN(n, s) {
			one := strings.Join(s, ",")
			return fmt.Errorf("line %d: base_dn [%s] is a YAML flow list of %d single RDNs (YAML splits a flow list at every comma), "+
				"not the DN %q: quote it, base_dn: %q, or write a block list with one DN per line", n.Line, one, len(s), one, one)
		}
		*l = s
		return nil
	}
	return fmt.Errorf("line %d: base_dn must be a DN or a list of DNs", n.Line)
}

// splitDN reports whether a base_dn sequence is really one DN that YAML's
// flow syntax cut at its commas: `[ou=people,dc=example,dc=com]` is three
// unquoted items, each a single RDN. A block list or quoted items are
// taken as written.
func splitDN(n *yaml.Node, items []string) bool {
	if n.Style&yaml.FlowStyle == 0 || len(items) < 2 {
		return false
	}
	for i, c := range n.Content {
		if c.Kind != yaml.ScalarNode || c.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 {
			return false
		}
		dn, err := ldap.ParseDN(items[i])
		if err != nil || len(dn.RDNs) != 1 {
			return false
		}
	}
	return true
}

// SetDefaults fills unset fields with their defaults.
func (c *Config) SetDefaults() {
	if c.Scope == "" {
		c.Scope = DefaultScope
	}
	if c.Anchor == "" {
		c.Anchor = DefaultAnchor
	}
	if c.Filter == "" {
		c.Filter = DefaultFilter
		if strings.EqualFold(c.Anchor, "objectGUID") {
			c.Filter = DefaultADFilter
		}
	}
	if c.PageSize == 0 {
		c.PageSize = DefaultPageSize
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Delta == "" {
		c.Delta = DeltaAuto
	}
}

// ResolveBindPassword fills BindPassword from BindPasswordFile, or from the
// environment variable SYNCD_LDAP_BIND_PASSWORD (looked up with lookupEnv)
// when no file is set. A password file others may read is refused
// (secret.ReadFile). It does nothing when BindPassword is already set.
func (c *Config) ResolveBindPassword(lookupEnv func(string) (string, bool)) error {
	if !c.BindPassword.IsZero() {
		return nil
	}
	if c.BindPasswordFile == "" {
		if v, ok := lookupEnv(PasswordEnv); ok {
			c.BindPassword = secret.New(v)
		}
		return nil
	}
	pw, err := secret.ReadFile(c.BindPasswordFile)
	if err != nil {
		return fielderr.New("bind_password_file", "%w", err)
	}
	c.BindPassword = pw
	return nil
}

// adBindName matches the other bind names Active Directory accepts: a UPN
// (svc-syncd@corp.example) or a down-level name (CORP\svc-syncd).
var adBindName = regexp.MustCompile(`^(?:[^@\s]+@[^@\s]+|[^\\\s]+\\[^\\\s]+)$`)

var attrNameRE = regexp.MustCompile(`^(?:[A-Za-z][A-Za-z0-9-]*|[0-9]+(?:\.[0-9]+)+)$`)

// Validate reports every problem in the block, with paths relative to it
// (url, tls.key_file, ...). Unset fields are taken at their defaults.
func (c Config) Validate() error {
	c.SetDefaults()
	var l fielderr.List
	u, err := url.Parse(c.URL)
	switch {
	case c.URL == "":
		l.Add("url", "required")
	case err != nil:
		l.Add("url", "%v", err)
	case u.Scheme != "ldap" && u.Scheme != "ldaps":
		l.Add("url", "scheme %q: want ldaps:// or ldap://", u.Scheme)
	case u.Hostname() == "":
		l.Add("url", "no host")
	case u.Scheme == "ldaps" && c.StartTLS:
		l.Add("start_tls", "not with ldaps:// (the connection is already TLS)")
	case u.Scheme == "ldap" && !c.StartTLS && !c.AllowPlaintext:
		l.Add("url", "ldap:// without start_tls sends the password in clear text: use ldaps://, set start_tls: true, or allow_plaintext: true")
	case u.Scheme == "ldap" && !c.StartTLS && !c.TLS.isZero():
		l.Add("tls", "has no effect on ldap:// without start_tls")
	}
	if c.BindDN != "" {
		if _, err := ldap.ParseDN(c.BindDN); err != nil && !adBindName.MatchString(c.BindDN) {
			l.Add("bind_dn", "%q is not a DN, user@domain or DOMAIN\\user: %v", c.BindDN, err)
		}
		if c.BindPassword.IsZero() && c.BindPasswordFile == "" {
			l.Add("bind_password_file", "required with bind_dn (or set %s)", PasswordEnv)
		}
	} else if c.BindPasswordFile != "" || !c.BindPassword.IsZero() {
		l.Add("bind_dn", "required with a bind password")
	}
	if len(c.BaseDN) == 0 {
		l.Add("base_dn", "required")
	}
	seen := map[string]bool{}
	for i, dn := range c.BaseDN {
		p := "base_dn"
		if len(c.BaseDN) > 1 {
			p = fmt.Sprintf("base_dn[%d]", i)
		}
		parsed, err := ldap.ParseDN(dn)
		switch {
		case strings.TrimSpace(dn) == "":
			l.Add(p, "empty DN")
		case err != nil:
			l.Add(p, "%v", err)
		case seen[strings.ToLower(parsed.String())]:
			l.Add(p, "%q listed twice", dn)
		default:
			seen[strings.ToLower(parsed.String())] = true
		}
	}
	if _, err := scopeOf(c.Scope); err != nil {
		l.Add("scope", "%v", err)
	}
	if _, err := ldap.CompileFilter(c.Filter); err != nil {
		l.Add("filter", "%v", err)
	}
	if !attrNameRE.MatchString(c.Anchor) {
		l.Add("anchor", "%q is not an attribute name", c.Anchor)
	}
	for i, a := range c.Attributes {
		if !attrNameRE.MatchString(a) {
			l.Add(fmt.Sprintf("attributes[%d]", i), "%q is not an attribute name", a)
		}
	}
	if c.PageSize < 0 {
		l.Add("page_size", "must be positive")
	}
	if c.Timeout < 0 {
		l.Add("timeout", "must be positive")
	}
	switch c.Delta {
	case DeltaAuto, DeltaUSN, DeltaTimestamp, DeltaNone:
	case DeltaSyncrepl:
		if !strings.EqualFold(c.Anchor, "entryUUID") {
			l.Add("delta", "syncrepl reports deletions by entryUUID: it needs anchor: entryUUID (use timestamp, or auto)")
		}
	case DeltaDirSync:
		if !strings.EqualFold(c.Anchor, "objectGUID") {
			l.Add("delta", "dirsync reports deletions by objectGUID: it needs anchor: objectGUID")
		}
	default:
		l.Add("delta", "%q: want auto, syncrepl, usn, timestamp or none", c.Delta)
	}
	switch c.WatchMethod {
	case "", WatchAuto, WatchNotify, WatchPoll:
	default:
		l.Add("watch_method", "%q: want auto, notify or poll", c.WatchMethod)
	}
	for i, ref := range c.IgnoreReferrals {
		if referralDN(ref) != "" {
			continue // a referral URL, listed verbatim
		}
		if _, err := ldap.ParseDN(ref); err != nil || strings.TrimSpace(ref) == "" {
			l.Add(fmt.Sprintf("ignore_referrals[%d]", i), "%q is neither a DN nor an ldap:// URL with a DN", ref)
		}
	}
	if (c.TLS.CertFile == "") != (c.TLS.KeyFile == "") {
		if c.TLS.CertFile == "" {
			l.Add("tls.cert_file", "required with tls.key_file")
		} else {
			l.Add("tls.key_file", "required with tls.cert_file")
		}
	}
	if c.TLS.InsecureSkipVerify && c.TLS.CAFile != "" {
		l.Add("tls.insecure_skip_verify", "contradicts tls.ca_file: drop one")
	}
	return l.Err()
}

func scopeOf(s string) (int, error) {
	switch s {
	case "sub":
		return ldap.ScopeWholeSubtree, nil
	case "one":
		return ldap.ScopeSingleLevel, nil
	case "base":
		return ldap.ScopeBaseObject, nil
	}
	return 0, errors.New("want sub, one or base")
}
