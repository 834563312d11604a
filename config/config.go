package config

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
	"github.com/sethvargo/go-envconfig"
	"go.yaml.in/yaml/v3"

	"github.com/syncd/syncd/internal/fielderr"
	"github.com/syncd/syncd/internal/notify"
	"github.com/syncd/syncd/internal/secret"
	"github.com/syncd/syncd/mapper"
	"github.com/syncd/syncd/reconcile"
	"github.com/syncd/syncd/sink/pingone"
	"github.com/syncd/syncd/sources/csvsource"
	"github.com/syncd/syncd/sources/ldapsource"
)

// DefaultPath is where syncd looks for its config when neither --config nor
// SYNCD_CONFIG says otherwise.
const DefaultPath = "/etc/syncd/syncd.yaml"

// Config is the whole configuration file.
type Config struct {
	State   State          `yaml:"state"`
	PingOne pingone.Config `yaml:"pingone"`
	Log     Log            `yaml:"log"`
	Daemon  Daemon         `yaml:"daemon"`
	HTTP    HTTP           `yaml:"http"`
	Jobs    []Job          `yaml:"jobs"`
	// Notify lists webhooks told about runs (internal/notify): url or
	// url_file, on [gate, failed, rejects, summary], format json, slack or
	// teams. Default none.
	Notify []notify.Hook `yaml:"notify"`

	// Environments names further PingOne environments (environments.go);
	// a job writes to one with `pingone: NAME`, else to PingOne.
	Environments map[string]pingone.Config `yaml:"pingone_environments"`

	// Path is the file the config was read from; Dir its directory, which
	// relative paths in the file are resolved against.
	Path string `yaml:"-"`
	Dir  string `yaml:"-"`
	// Notices are warnings found while loading (an environment variable
	// ignored because the file says otherwise), for the caller to log.
	Notices []string `yaml:"-"`
}

// State configures the state store.
type State struct {
	// URL is postgres://… or sqlite://PATH (relative to the config file's
	// directory unless absolute: sqlite:///var/lib/syncd/state.db).
	// Default sqlite://syncd.db.
	URL string `yaml:"url"`
	// AutoMigrate applies pending schema migrations at start. Default true;
	// set false to migrate only with `syncd migrate`.
	AutoMigrate *bool `yaml:"auto_migrate"`
	// JournalRetention is how long the journal of writes and the run
	// records are kept; `syncd run` prunes older ones. Default 400d; a
	// revert needs the journal of the run it reverts.
	JournalRetention *Period `yaml:"journal_retention"`
}

// Retention is how long the journal and the run records are kept.
func (s State) Retention() time.Duration {
	if s.JournalRetention == nil {
		return DefaultJournalRetention.Duration()
	}
	return s.JournalRetention.Duration()
}

// Migrate reports whether migrations run at start.
func (s State) Migrate() bool { return s.AutoMigrate == nil || *s.AutoMigrate }

// Log configures logging.
type Log struct {
	// Level is debug, info (default), warn or error. Personal data is
	// logged only at debug.
	Level string `yaml:"level"`
	// Format is json (default when not on a terminal) or console.
	Format string `yaml:"format"`
}

// Daemon configures `syncd run`.
type Daemon struct {
	// Timezone for cron schedules and for the date a mapping's today(),
	// daysUntil and daysSince read (IANA name). Default UTC.
	Timezone string `yaml:"timezone"`
	// ShutdownTimeout bounds the graceful stop. Default 30s.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
}

// HTTP configures the health and metrics endpoints of `syncd run`.
type HTTP struct {
	// Listen is the address of /healthz, /readyz and /metrics. Default
	// 127.0.0.1:9464; "off" disables it.
	Listen string `yaml:"listen"`
}

// Job is one configured sync.
type Job struct {
	// Name identifies the job in state, logs, metrics and --job. Required;
	// letters, digits, '-', '_' and '.'.
	Name string `yaml:"name"`
	// Schedule is a five-field cron spec or a descriptor (@every 15m,
	// @hourly) for `syncd run`. Required by `syncd run` only.
	Schedule string `yaml:"schedule"`
	// RunAtStart runs the job once when `syncd run` starts.
	RunAtStart bool `yaml:"run_at_start"`
	// Jitter delays each scheduled run by a random duration up to it.
	Jitter time.Duration `yaml:"jitter"`
	// FullEvery forces a complete read of the source when the last one is
	// older (delta-capable sources only). Default 24h.
	FullEvery time.Duration `yaml:"full_every"`
	// PingOne names the environment the job writes to, a key of
	// pingone_environments. Default: the top-level pingone block.
	PingOne string `yaml:"pingone"`
	// Source says where identities come from: exactly one of csv, ldap.
	Source Source `yaml:"source"`
	// Mapping, custom_attributes, scope, population and enabled.
	mapper.Config `yaml:",inline"`
	// Match lists the rules that may adopt pre-existing PingOne users, in
	// order. Default [externalId, username]; add email explicitly.
	Match []string `yaml:"match"`
	// CreateDisabled creates new records disabled in the source (the
	// enabled expression false) as disabled users: pre-hires, people on
	// leave. Default false: they are not created, and each run counts
	// them as "not created (disabled in the source)".
	CreateDisabled bool `yaml:"create_disabled"`
	// Verify reads the managed users back from PingOne on every run and
	// compares them with what syncd wants (drift). Default false; `sync
	// --verify` does it for one run.
	Verify bool `yaml:"verify"`
	// Drift says what verify does about drift: repair (default: one minimal
	// call per drifted user) or report.
	Drift string `yaml:"drift"`
	// BatchSize is how many operations are checkpointed together. Default 200.
	BatchSize int `yaml:"batch_size"`
	// Deprovision says what becomes of the users syncd disabled:
	// delete_after (default never) deletes them once disabled that long.
	Deprovision Deprovision `yaml:"deprovision"`
	// Safety thresholds: max_disables (500), max_disable_percent (10),
	// max_disable_percent_floor (10), max_failures (count or "N%", default
	// "5%"), max_failures_floor (3), max_adoptions (100), max_deletes (50),
	// max_delete_percent (5). A key set to 0 means 0; only an unset key
	// takes its default.
	Safety reconcile.Safety `yaml:"safety"`
	// Groups syncs the directory's groups and memberships (groups.go).
	Groups *Groups `yaml:"groups"`

	// Watch makes `syncd run` react to changes as they happen (watch.go):
	// syncrepl refreshAndPersist on OpenLDAP, a poll every WatchInterval
	// on other LDAP servers, file notifications for CSV. Default false.
	Watch bool `yaml:"watch"`
	// WatchDebounce is how long changes are gathered before they are
	// applied as one small run. Default 1s.
	WatchDebounce *time.Duration `yaml:"watch_debounce"`
	// WatchInterval is how often a source that can only be polled is
	// asked for changes. Default 10s.
	WatchInterval *time.Duration `yaml:"watch_interval"`
	// WatchStaleAfter is how long the watch may stay disconnected before
	// /readyz fails. Default 5m.
	WatchStaleAfter *time.Duration `yaml:"watch_stale_after"`
	// WatchGateWindow is the sliding window over which the safety gate of
	// watch runs counts disables. Default 1h.
	WatchGateWindow *time.Duration `yaml:"watch_gate_window"`

	// Mapper is the compiled mapping, set by Load.
	Mapper *mapper.Mapper `yaml:"-"`
}

// Source is a job's source block.
type Source struct {
	CSV  *csvsource.Config  `yaml:"csv"`
	LDAP *ldapsource.Config `yaml:"ldap"`
}

// Kind names the configured source ("csv" or "ldap").
func (s Source) Kind() string {
	switch {
	case s.CSV != nil:
		return "csv"
	case s.LDAP != nil:
		return "ldap"
	}
	return ""
}

// env holds the environment overrides (go-envconfig).
type env struct {
	StateURL                *string  `env:"SYNCD_STATE_URL, noinit"`
	PingOneRegion           *string  `env:"SYNCD_PINGONE_REGION, noinit"`
	PingOneAPIURL           *string  `env:"SYNCD_PINGONE_API_URL, noinit"`
	PingOneAuthURL          *string  `env:"SYNCD_PINGONE_AUTH_URL, noinit"`
	PingOneEnvironmentID    *string  `env:"SYNCD_PINGONE_ENVIRONMENT_ID, noinit"`
	PingOneClientID         *string  `env:"SYNCD_PINGONE_CLIENT_ID, noinit"`
	PingOneClientSecret     *string  `env:"SYNCD_PINGONE_CLIENT_SECRET, noinit"`
	PingOneClientSecretFile *string  `env:"SYNCD_PINGONE_CLIENT_SECRET_FILE, noinit"`
	PingOneAuthMethod       *string  `env:"SYNCD_PINGONE_AUTH_METHOD, noinit"`
	PingOneRateLimit        *float64 `env:"SYNCD_PINGONE_RATE_LIMIT, noinit"`
	PingOneConcurrency      *int     `env:"SYNCD_PINGONE_CONCURRENCY, noinit"`
	LDAPBindPassword        *string  `env:"SYNCD_LDAP_BIND_PASSWORD, noinit"`
	LDAPBindPasswordFile    *string  `env:"SYNCD_LDAP_BIND_PASSWORD_FILE, noinit"`
	LogLevel                *string  `env:"SYNCD_LOG_LEVEL, noinit"`
	LogFormat               *string  `env:"SYNCD_LOG_FORMAT, noinit"`
	HTTPListen              *string  `env:"SYNCD_HTTP_LISTEN, noinit"`
	Timezone                *string  `env:"SYNCD_DAEMON_TIMEZONE, noinit"`
}

// Load reads, overrides, validates and compiles the config at path.
// lookup reads environment variables (nil: the process environment).
func Load(ctx context.Context, path string, lookup envconfig.Lookuper) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	defer f.Close()
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return Parse(ctx, f, filepath.Dir(abs), abs, lookup)
}

// Parse is Load from a reader; dir resolves relative paths.
func Parse(ctx context.Context, r io.Reader, dir, name string, lookup envconfig.Lookuper) (*Config, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxConfigBytes+1))
	if err != nil {
		return nil, fmt.Errorf("config %s: read: %w", name, err)
	}
	if len(data) > maxConfigBytes {
		return nil, fmt.Errorf("config %s: larger than %d MiB: not a syncd config", name, maxConfigBytes>>20)
	}
	c := &Config{Path: name, Dir: dir}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("config %s: %w", name, cleanYAMLError(err))
	}
	if err := refuseMoreDocuments(dec); err != nil {
		return nil, fmt.Errorf("config %s: %w", name, err)
	}
	if err := refuseInlineSecrets(c); err != nil {
		return nil, fmt.Errorf("config %s:\n%w", name, err)
	}
	if lookup == nil {
		lookup = envconfig.OsLookuper()
	}
	if err := c.applyEnv(ctx, lookup); err != nil {
		return nil, fmt.Errorf("config %s: environment: %w", name, err)
	}
	c.applyEnvironmentsEnv(lookup)
	c.setDefaults()
	if err := c.resolve(); err != nil {
		return nil, fmt.Errorf("config %s:\n%w", name, err)
	}
	if err := c.validate(); err != nil {
		return nil, fmt.Errorf("config %s:\n%w", name, err)
	}
	return c, nil
}

func cleanYAMLError(err error) error {
	// yaml.v3 says "field x not found in type config.Job": say it plainly.
	msg := err.Error()
	msg = regexp.MustCompile(`field (\S+) not found in type [\w.]+`).ReplaceAllString(msg, "unknown key $1")
	return errors.New(msg)
}

func (c *Config) applyEnv(ctx context.Context, lookup envconfig.Lookuper) error {
	var e env
	if err := envconfig.ProcessWith(ctx, &envconfig.Config{Target: &e, Lookuper: lookup}); err != nil {
		return err
	}
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	set(&c.State.URL, e.StateURL)
	set(&c.PingOne.Region, e.PingOneRegion)
	set(&c.PingOne.APIURL, e.PingOneAPIURL)
	set(&c.PingOne.AuthURL, e.PingOneAuthURL)
	set(&c.PingOne.EnvironmentID, e.PingOneEnvironmentID)
	set(&c.PingOne.ClientID, e.PingOneClientID)
	set(&c.PingOne.AuthMethod, e.PingOneAuthMethod)
	set(&c.Log.Level, e.LogLevel)
	set(&c.Log.Format, e.LogFormat)
	set(&c.HTTP.Listen, e.HTTPListen)
	set(&c.Daemon.Timezone, e.Timezone)
	if e.PingOneRateLimit != nil {
		c.PingOne.RateLimit = *e.PingOneRateLimit
	}
	if e.PingOneConcurrency != nil {
		c.PingOne.Concurrency = *e.PingOneConcurrency
	}
	return c.applySecretEnv(e)
}

func (c *Config) setDefaults() {
	if c.State.URL == "" {
		c.State.URL = "sqlite://syncd.db"
	}
	if c.State.JournalRetention == nil {
		r := DefaultJournalRetention
		c.State.JournalRetention = &r
	}
	if c.Log.Level == "" {
		c.Log.Level = "info"
	}
	if c.Daemon.Timezone == "" {
		c.Daemon.Timezone = "UTC"
	}
	if c.Daemon.ShutdownTimeout == 0 {
		c.Daemon.ShutdownTimeout = 30 * time.Second
	}
	if c.HTTP.Listen == "" {
		c.HTTP.Listen = "127.0.0.1:9464"
	}
	c.PingOne.SetDefaults()
	for i := range c.Notify {
		c.Notify[i].SetDefaults()
	}
	c.environmentDefaults()
	for i := range c.Jobs {
		j := &c.Jobs[i]
		if j.FullEvery == 0 {
			j.FullEvery = 24 * time.Hour
		}
		if j.BatchSize == 0 {
			j.BatchSize = 200
		}
		if j.Match == nil {
			j.Match = []string{reconcile.MatchExternalID, reconcile.MatchUsername}
		}
		j.Safety.SetDefaults() // keys set to 0 stay 0
		setGroupDefaults(j)
		setWatchDefaults(j)
	}
}

// resolve makes relative paths absolute (against the config's directory)
// and reads secrets from their files.
func (c *Config) resolve() error {
	var errs fielderr.List
	if rest, ok := strings.CutPrefix(c.State.URL, "sqlite://"); ok && rest != "" && !filepath.IsAbs(rest) {
		c.State.URL = "sqlite://" + c.abs(rest)
	}
	if f := c.PingOne.ClientSecretFile; f != "" {
		s, err := secret.ReadFile(c.abs(os.ExpandEnv(f)))
		if err != nil {
			errs.AddErr("pingone.client_secret_file", err)
		} else {
			c.PingOne.ClientSecret = s
		}
	}
	for i := range c.Notify {
		if err := c.Notify[i].Resolve(func(p string) string { return c.abs(os.ExpandEnv(p)) }); err != nil {
			errs.AddErr(fmt.Sprintf("notify[%d].url_file", i), err)
		}
	}
	c.resolveEnvironments(&errs)
	for i := range c.Jobs {
		j := &c.Jobs[i]
		p := jobPath(i, j.Name) + ".source"
		if j.Source.CSV != nil && j.Source.CSV.Path != "" {
			j.Source.CSV.Path = c.abs(j.Source.CSV.Path)
		}
		if l := j.Source.LDAP; l != nil {
			if l.BindPasswordFile != "" {
				s, err := secret.ReadFile(c.abs(os.ExpandEnv(l.BindPasswordFile)))
				if err != nil {
					errs.AddErr(p+".ldap.bind_password_file", err)
				} else {
					l.BindPassword = s
				}
			}
			for _, f := range []*string{&l.TLS.CAFile, &l.TLS.CertFile, &l.TLS.KeyFile} {
				if *f != "" {
					*f = c.abs(*f)
				}
			}
		}
	}
	return errs.Err()
}

func (c *Config) abs(p string) string {
	if filepath.IsAbs(p) || c.Dir == "" {
		return p
	}
	return filepath.Join(c.Dir, p)
}

var jobNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)

func jobPath(i int, name string) string {
	if name != "" && jobNameRE.MatchString(name) {
		return "jobs[" + name + "]"
	}
	return fmt.Sprintf("jobs[%d]", i)
}

func (c *Config) validate() error {
	var errs fielderr.List
	switch {
	case strings.HasPrefix(c.State.URL, "postgres://"), strings.HasPrefix(c.State.URL, "postgresql://"):
	case strings.HasPrefix(c.State.URL, "sqlite://") && len(c.State.URL) > len("sqlite://"):
	default:
		errs.Add("state.url", "want postgres://… or sqlite://PATH")
	}
	errs.AddErr("state.url", validateStateURL(c.State.URL))
	if r := c.State.JournalRetention; r != nil && *r <= 0 {
		errs.Add("state.journal_retention", "must be longer than 0: the journal and the run records are what `syncd journal` and `syncd revert` read")
	}
	for i := range c.Notify {
		errs.AddErr(fmt.Sprintf("notify[%d]", i), c.Notify[i].Validate())
	}
	c.validateEnvironments(&errs)
	switch strings.ToLower(c.Log.Level) {
	case "debug", "info", "warn", "error":
	default:
		errs.Add("log.level", "want debug, info, warn or error, not %q", c.Log.Level)
	}
	switch c.Log.Format {
	case "", "json", "console":
	default:
		errs.Add("log.format", "want json or console, not %q", c.Log.Format)
	}
	tz, err := time.LoadLocation(c.Daemon.Timezone)
	if err != nil {
		errs.Add("daemon.timezone", "%v", err)
		tz = time.UTC
	}
	// A mapping's today() and the day's complete read of a dated mapping
	// follow daemon.timezone, as the schedules do: not the system's zone.
	clock := mapper.WithClock(func() time.Time { return time.Now().In(tz) })
	if len(c.Jobs) == 0 {
		errs.Add("jobs", "at least one job is required")
	}
	seen := map[string]bool{}
	parser := cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)
	for i := range c.Jobs {
		j := &c.Jobs[i]
		p := jobPath(i, j.Name)
		switch {
		case j.Name == "":
			errs.Add(p+".name", "required")
		case !jobNameRE.MatchString(j.Name):
			errs.Add(p+".name", "%q: use letters, digits, '.', '_' and '-' (at most 63)", j.Name)
		case seen[j.Name]:
			errs.Add(p+".name", "%q used by two jobs", j.Name)
		}
		seen[j.Name] = true
		if j.Schedule != "" {
			if err := parseSchedule(parser, j.Schedule); err != nil {
				errs.Add(p+".schedule", "%q: %v", j.Schedule, err)
			}
		}
		switch {
		case j.Source.CSV != nil && j.Source.LDAP != nil:
			errs.Add(p+".source", "set exactly one of csv and ldap, not both")
		case j.Source.CSV != nil:
			errs.AddErr(p+".source.csv", j.Source.CSV.Validate())
		case j.Source.LDAP != nil:
			errs.AddErr(p+".source.ldap", j.Source.LDAP.Validate())
		default:
			errs.Add(p+".source", "required: a csv or an ldap block")
		}
		errs.AddErr(p, reconcile.ValidateMatch(j.Match))
		switch j.Drift {
		case "", reconcile.DriftRepair, reconcile.DriftReport:
		default:
			errs.Add(p+".drift", "want repair or report, not %q", j.Drift)
		}
		if j.BatchSize < 1 || j.BatchSize > 10000 {
			errs.Add(p+".batch_size", "want 1..10000, not %d", j.BatchSize)
		}
		errs.AddErr(p+".safety", j.Safety.Validate())
		errs.AddErr(p, validateGroups(j))
		validateWatch(p, j, &errs)
		if d := j.Deprovision.DeleteAfter; d != nil && *d <= 0 {
			errs.Add(p+".deprovision.delete_after", "must be longer than 0 (leave it out to never delete)")
		}
		m, err := mapper.Compile(j.Config, clock)
		if err != nil {
			errs.AddErr(p, err)
		} else {
			j.Mapper = m
		}
	}
	return errs.Err()
}

// parseSchedule checks a cron spec; robfig/cron panics on some inputs
// (such as "TZ="), which must be a config error, not a crash.
func parseSchedule(p cron.Parser, spec string) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("not a valid schedule: %v", r)
		}
	}()
	_, err = p.Parse(spec)
	return err
}

// Job returns the named job, or nil.
func (c *Config) Job(name string) *Job {
	for i := range c.Jobs {
		if c.Jobs[i].Name == name {
			return &c.Jobs[i]
		}
	}
	return nil
}

// Select returns the named jobs, or all jobs when names is empty; an unknown
// name is an error listing the known ones.
func (c *Config) Select(names ...string) ([]*Job, error) {
	if len(names) == 0 {
		out := make([]*Job, len(c.Jobs))
		for i := range c.Jobs {
			out[i] = &c.Jobs[i]
		}
		return out, nil
	}
	var out []*Job
	for _, n := range names {
		j := c.Job(n)
		if j == nil {
			known := make([]string, len(c.Jobs))
			for i := range c.Jobs {
				known[i] = c.Jobs[i].Name
			}
			return nil, fmt.Errorf("no job named %q (jobs: %s)", n, strings.Join(known, ", "))
		}
		out = append(out, j)
	}
	return out, nil
}
