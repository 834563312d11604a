package pingone

import (
	"fmt"
	"net"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/syncd/syncd/internal/fielderr"
	"github.com/syncd/syncd/internal/secret"
)

// Defaults applied by SetDefaults.
const (
	DefaultRegion      = "NA"
	DefaultAuthMethod  = AuthClientSecretBasic
	DefaultRateLimit   = 30.0
	DefaultConcurrency = 8
	DefaultTimeout     = 30 * time.Second
	DefaultMaxRetries  = 8
)

// Token endpoint client authentication methods (the worker app's
// tokenEndpointAuthMethod).
const (
	AuthClientSecretBasic = "client_secret_basic"
	AuthClientSecretPost  = "client_secret_post"
)

// regionTLD maps a PingOne region code to its top-level domain
// (API-NOTES §1).
var regionTLD = map[string]string{
	"NA": "com",
	"CA": "ca",
	"EU": "eu",
	"AU": "com.au",
	"SG": "sg",
	"AP": "asia",
}

// Config is the pingone block of a job: which environment to manage and
// with which worker-app credentials, and how hard the client may push.
type Config struct {
	// Region is the PingOne region code: NA, CA, EU, AU, SG or AP. It picks
	// the API and auth hosts (api.pingone.<tld>, auth.pingone.<tld>).
	// Default NA. Ignored for a host that APIURL/AuthURL set.
	Region string `yaml:"region"`
	// APIURL is the API base including /v1, e.g. https://api.pingone.eu/v1.
	// Overrides Region. Plain http is accepted only for a loopback host.
	APIURL string `yaml:"api_url"`
	// AuthURL is the auth base without the environment, e.g.
	// https://auth.pingone.eu; the token URL is
	// <auth_url>/<environment_id>/as/token. Overrides Region.
	AuthURL string `yaml:"auth_url"`
	// EnvironmentID is the UUID of the environment to manage (and of the
	// environment holding the worker app). Required.
	EnvironmentID string `yaml:"environment_id"`
	// ClientID is the worker app's client ID. Required.
	ClientID string `yaml:"client_id"`
	// ClientSecret is the worker app's secret. Never inline in a config
	// file: the config loader fills it from ClientSecretFile or the
	// SYNCD_PINGONE_CLIENT_SECRET environment variable.
	ClientSecret secret.Value `yaml:"client_secret"`
	// ClientSecretFile names a file holding ClientSecret.
	ClientSecretFile string `yaml:"client_secret_file"`
	// AuthMethod is client_secret_basic (default) or client_secret_post and
	// must match the worker app's token endpoint auth method.
	AuthMethod string `yaml:"auth_method"`
	// RateLimit is the request budget for this environment in requests per
	// second. Default 30: PingOne documents ~100 rps per licence with a
	// 35 % default share per client IP.
	RateLimit float64 `yaml:"rate_limit"`
	// Concurrency is the maximum number of requests in flight. Default 8.
	Concurrency int `yaml:"concurrency"`
	// Timeout bounds each HTTP request (one attempt). Default 30s.
	Timeout time.Duration `yaml:"timeout"`
	// MaxRetries is how many times one call is retried after a retryable
	// failure (429, 408, 5xx, transport errors). Default 8.
	MaxRetries int `yaml:"max_retries"`
}

// SetDefaults fills the zero-valued tunables with their defaults.
func (c *Config) SetDefaults() {
	if c.Region == "" && (c.APIURL == "" || c.AuthURL == "") {
		c.Region = DefaultRegion
	}
	// PingOne's own enum spells it CLIENT_SECRET_BASIC: accept either case.
	c.AuthMethod = strings.ToLower(c.AuthMethod)
	if c.AuthMethod == "" {
		c.AuthMethod = DefaultAuthMethod
	}
	if c.RateLimit == 0 {
		c.RateLimit = DefaultRateLimit
	}
	if c.Concurrency == 0 {
		c.Concurrency = DefaultConcurrency
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.MaxRetries == 0 {
		c.MaxRetries = DefaultMaxRetries
	}
}

// Validate reports every problem with the block at once, each as a
// fielderr.FieldError whose path is relative to the block
// ("environment_id: must be a UUID"). Zero tunables are valid: they mean
// "default".
func (c *Config) Validate() error {
	var errs fielderr.List
	if c.Region != "" {
		if _, ok := regionTLD[strings.ToUpper(c.Region)]; !ok {
			errs.Add("region", "unknown region %q (want one of %s)", c.Region, strings.Join(regionCodes(), ", "))
		}
	}
	if c.APIURL != "" {
		if err := checkBaseURL(c.APIURL); err != nil {
			errs.Add("api_url", "%v", err)
		}
	}
	if c.AuthURL != "" {
		if err := checkBaseURL(c.AuthURL); err != nil {
			errs.Add("auth_url", "%v", err)
		}
	}
	if c.EnvironmentID == "" {
		errs.Add("environment_id", "required")
	} else if _, err := uuid.Parse(c.EnvironmentID); err != nil || len(c.EnvironmentID) != 36 {
		errs.Add("environment_id", "must be a UUID")
	}
	if c.ClientID == "" {
		errs.Add("client_id", "required")
	}
	if c.ClientSecret.IsZero() && c.ClientSecretFile == "" {
		errs.Add("client_secret", "required (set client_secret_file or SYNCD_PINGONE_CLIENT_SECRET)")
	}
	switch c.AuthMethod {
	case "", AuthClientSecretBasic, AuthClientSecretPost:
	default:
		errs.Add("auth_method", "must be %s or %s, not %q", AuthClientSecretBasic, AuthClientSecretPost, c.AuthMethod)
	}
	if c.RateLimit < 0 {
		errs.Add("rate_limit", "must be positive (requests per second)")
	}
	if c.Concurrency < 0 || c.Concurrency > 256 {
		errs.Add("concurrency", "must be between 1 and 256")
	}
	if c.Timeout < 0 {
		errs.Add("timeout", "must be positive")
	}
	if c.MaxRetries < 0 {
		errs.Add("max_retries", "must not be negative")
	}
	return errs.Err()
}

// apiBase returns the API base URL without a trailing slash.
func (c *Config) apiBase() string {
	if c.APIURL != "" {
		return strings.TrimRight(c.APIURL, "/")
	}
	return "https://api.pingone." + regionTLD[strings.ToUpper(c.Region)] + "/v1"
}

// tokenURL returns <auth base>/<environment>/as/token.
func (c *Config) tokenURL() string {
	base := strings.TrimRight(c.AuthURL, "/")
	if base == "" {
		base = "https://auth.pingone." + regionTLD[strings.ToUpper(c.Region)]
	}
	return base + "/" + url.PathEscape(c.EnvironmentID) + "/as/token"
}

func regionCodes() []string {
	codes := make([]string, 0, len(regionTLD))
	for k := range regionTLD {
		codes = append(codes, k)
	}
	sort.Strings(codes)
	return codes
}

// checkBaseURL accepts an absolute https URL, or http for a loopback host
// (the emulator): a bearer token never travels in clear over a network.
func checkBaseURL(raw string) error {
	// Checked before parsing, and never quoted: a URL with user info may
	// carry a password, which must not reach an error message.
	if strings.Contains(raw, "@") {
		return fmt.Errorf("must not carry a user name or password ('user:pass@host'): the worker app authenticates with client_id and client_secret_file")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("not a valid URL")
	}
	if u.Host == "" {
		return fmt.Errorf("must be an absolute URL, got %q", raw)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("must not carry a query or fragment")
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !isLoopback(u.Hostname()) {
			return fmt.Errorf("plain http is allowed only for a loopback host, use https")
		}
	default:
		return fmt.Errorf("scheme must be https, got %q", u.Scheme)
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
