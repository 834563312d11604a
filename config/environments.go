package config

import (
	"os"
	"regexp"
	"sort"
	"strings"

	"github.com/sethvargo/go-envconfig"

	"github.com/syncd/syncd/internal/fielderr"
	"github.com/syncd/syncd/internal/secret"
	"github.com/syncd/syncd/sink/pingone"
)

// DefaultEnvironment names the top-level pingone block: the environment of
// every job that names none.
const DefaultEnvironment = "default"

// environmentRE limits environment names to what a job may name and an
// environment variable can carry.
var environmentRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)

// Environment returns the name and pingone block of the environment job
// writes to: its pingone key, or the top-level pingone block.
func (c *Config) Environment(j *Job) (string, pingone.Config) {
	if j.PingOne == "" || j.PingOne == DefaultEnvironment {
		return DefaultEnvironment, c.PingOne
	}
	return j.PingOne, c.Environments[j.PingOne]
}

// usesDefault reports whether a job writes to the top-level pingone block,
// or the block is set at all: only then must it validate.
func (c *Config) usesDefault() bool {
	p := c.PingOne
	if p.EnvironmentID != "" || p.ClientID != "" || !p.ClientSecret.IsZero() || p.ClientSecretFile != "" || p.APIURL != "" || p.AuthURL != "" {
		return true
	}
	if len(c.Jobs) == 0 {
		return true
	}
	for i := range c.Jobs {
		if n := c.Jobs[i].PingOne; n == "" || n == DefaultEnvironment {
			return true
		}
	}
	return false
}

// environmentNames returns the configured names, sorted, default first.
func (c *Config) environmentNames() []string {
	names := make([]string, 0, len(c.Environments)+1)
	for n := range c.Environments {
		names = append(names, n)
	}
	sort.Strings(names)
	return append([]string{DefaultEnvironment}, names...)
}

// environmentEnvKey is the variable holding a named environment's client
// secret: SYNCD_PINGONE_ENV_<NAME>_CLIENT_SECRET, NAME upper-cased with
// '.' and '-' as '_'.
func environmentEnvKey(name string) string {
	return "SYNCD_PINGONE_ENV_" + strings.NewReplacer(".", "_", "-", "_").Replace(strings.ToUpper(name)) + "_CLIENT_SECRET"
}

// applyEnvironmentsEnv reads the named environments' secrets from the
// environment (a secret is never inline in the file).
func (c *Config) applyEnvironmentsEnv(lookup envconfig.Lookuper) {
	for name, p := range c.Environments {
		if v, ok := lookup.Lookup(environmentEnvKey(name)); ok && v != "" {
			p.ClientSecret = secret.New(v)
			p.ClientSecretFile = ""
			c.Environments[name] = p
		}
	}
}

func (c *Config) environmentDefaults() {
	for name, p := range c.Environments {
		p.SetDefaults()
		c.Environments[name] = p
	}
}

// resolveEnvironments reads the named environments' secret files.
func (c *Config) resolveEnvironments(errs *fielderr.List) {
	for _, name := range c.environmentNames()[1:] {
		p := c.Environments[name]
		if f := p.ClientSecretFile; f != "" {
			s, err := secret.ReadFile(c.abs(os.ExpandEnv(f)))
			if err != nil {
				errs.AddErr(environmentPath(name)+".client_secret_file", err)
				continue
			}
			p.ClientSecret = s
			c.Environments[name] = p
		}
	}
}

func environmentPath(name string) string { return "pingone_environments[" + name + "]" }

// validateEnvironments checks the pingone blocks and each job's choice.
func (c *Config) validateEnvironments(errs *fielderr.List) {
	if c.usesDefault() {
		errs.AddErr("pingone", c.PingOne.Validate())
	}
	for _, name := range c.environmentNames()[1:] {
		p := c.Environments[name]
		switch {
		case name == DefaultEnvironment:
			errs.Add(environmentPath(name), "%q names the top-level pingone block: choose another name", name)
		case !environmentRE.MatchString(name):
			errs.Add(environmentPath(name), "use letters, digits, '.', '_' and '-' (at most 63)")
		}
		errs.AddErr(environmentPath(name), p.Validate())
	}
	for i := range c.Jobs {
		j := &c.Jobs[i]
		if j.PingOne == "" || j.PingOne == DefaultEnvironment {
			continue
		}
		if _, ok := c.Environments[j.PingOne]; !ok {
			errs.Add(jobPath(i, j.Name)+".pingone", "no environment %q in pingone_environments (configured: %s)",
				j.PingOne, strings.Join(c.environmentNames(), ", "))
		}
	}
}

// BudgetKey is the key under which an environment's request budget is
// shared: its PingOne environment ID, whatever name the config gives it.
func BudgetKey(p pingone.Config) string { return strings.ToLower(p.EnvironmentID) }
