package config

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/syncd/syncd/internal/fielderr"
	"github.com/syncd/syncd/internal/secret"
)

// Where a secret comes from, first match wins (one rule for every secret):
//
//  1. the config file's *_file key (pingone.client_secret_file, a job's
//     source.ldap.bind_password_file);
//  2. the environment's SYNCD_…_FILE variable;
//  3. the environment's SYNCD_… variable holding the value.
//
// The file wins over the environment because it is the more specific of the
// two: a job's own bind_password_file names the password of that job's
// server, while one process-wide variable cannot tell jobs apart (applied
// to every job it sent job 1's password to job 2's server). Every source
// that is set but loses is named in a Notice, which the command logs.
// Secret values are never inline in the file (refuseInlineSecrets).

// maxConfigBytes caps the config file: a wrong path (/dev/zero) must fail,
// not fill the memory.
const maxConfigBytes = 4 << 20

// refuseMoreDocuments fails when the YAML stream holds a second document
// ("---"): syncd reads one, and a silently ignored rest is a config nobody
// meant.
func refuseMoreDocuments(dec *yaml.Decoder) error {
	var next yaml.Node
	err := dec.Decode(&next)
	switch {
	case errors.Is(err, io.EOF):
		return nil
	case err != nil:
		return fmt.Errorf("after the first YAML document: %w", cleanYAMLError(err))
	}
	return fmt.Errorf("a second YAML document (line %d): the config is one document, remove the '---' separator and what follows or merge it", next.Line)
}

// refuseInlineSecrets fails when the YAML file holds a secret value: files
// get copied, committed and shown, so secrets come only from a file of
// their own or the environment.
func refuseInlineSecrets(c *Config) error {
	var errs fielderr.List
	if !c.PingOne.ClientSecret.IsZero() {
		errs.Add("pingone.client_secret", "a secret never belongs in the config file: put it in a file of its own (mode 0600) named by client_secret_file, or in SYNCD_PINGONE_CLIENT_SECRET")
	}
	return errs.Err()
}

type envVar struct {
	name string
	val  *string
}

// applySecretEnv resolves, by the precedence above, where each secret
// comes from (reading the files is resolve's job).
func (c *Config) applySecretEnv(e env) error {
	notice := func(format string, args ...any) {
		c.Notices = append(c.Notices, fmt.Sprintf(format, args...))
	}
	switch {
	case c.PingOne.ClientSecretFile != "":
		for _, v := range []envVar{{"SYNCD_PINGONE_CLIENT_SECRET_FILE", e.PingOneClientSecretFile}, {"SYNCD_PINGONE_CLIENT_SECRET", e.PingOneClientSecret}} {
			if name := v.name; v.val != nil {
				notice("%s is ignored: pingone.client_secret_file is set in the config file, which wins over the environment", name)
			}
		}
	case e.PingOneClientSecretFile != nil:
		c.PingOne.ClientSecretFile = *e.PingOneClientSecretFile
		if e.PingOneClientSecret != nil {
			notice("SYNCD_PINGONE_CLIENT_SECRET is ignored: SYNCD_PINGONE_CLIENT_SECRET_FILE is set, which wins over it")
		}
	case e.PingOneClientSecret != nil:
		c.PingOne.ClientSecret = secret.New(*e.PingOneClientSecret)
	}

	if e.LDAPBindPasswordFile == nil && e.LDAPBindPassword == nil {
		return nil
	}
	// The environment speaks for the LDAP jobs that bind as someone and
	// name no password file of their own, and only when they all talk to
	// one server.
	takers := map[string][]string{} // server → jobs
	for i := range c.Jobs {
		j := &c.Jobs[i]
		l := j.Source.LDAP
		if l == nil {
			continue
		}
		if l.BindPasswordFile != "" {
			for _, v := range []envVar{{"SYNCD_LDAP_BIND_PASSWORD_FILE", e.LDAPBindPasswordFile}, {"SYNCD_LDAP_BIND_PASSWORD", e.LDAPBindPassword}} {
				if name := v.name; v.val != nil {
					notice("%s is ignored for job %s: it names its own bind_password_file, which wins over the environment", name, j.Name)
				}
			}
			continue
		}
		if l.BindDN == "" {
			continue // an anonymous bind sends no password
		}
		takers[ldapServer(l.URL)] = append(takers[ldapServer(l.URL)], j.Name)
		if e.LDAPBindPasswordFile != nil {
			l.BindPasswordFile = *e.LDAPBindPasswordFile
			if e.LDAPBindPassword != nil {
				notice("SYNCD_LDAP_BIND_PASSWORD is ignored for job %s: SYNCD_LDAP_BIND_PASSWORD_FILE is set, which wins over it", j.Name)
			}
		} else {
			l.BindPassword = secret.New(*e.LDAPBindPassword)
		}
	}
	if len(takers) > 1 {
		servers := make([]string, 0, len(takers))
		for s, jobs := range takers {
			servers = append(servers, fmt.Sprintf("%s (jobs %s)", s, strings.Join(jobs, ", ")))
		}
		sort.Strings(servers)
		return fmt.Errorf("SYNCD_LDAP_BIND_PASSWORD(_FILE) would send one password to several LDAP servers: %s; give each job its own bind_password_file", strings.Join(servers, ", "))
	}
	return nil
}

// ldapServer names an LDAP URL's server (host:port, lower case) without
// anything else the URL holds.
func ldapServer(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable url)"
	}
	host := strings.ToLower(u.Hostname())
	port := u.Port()
	if port == "" {
		port = "389"
		if u.Scheme == "ldaps" {
			port = "636"
		}
	}
	return host + ":" + port
}

// validateStateURL refuses a PostgreSQL URL whose user info holds an
// unencoded '@': parsers disagree on where the host starts, and the part
// of the password after the '@' ends up named as a host in the driver's
// errors ("lookup secret@db"). The error never quotes the URL.
func validateStateURL(raw string) error {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return nil
	}
	switch strings.ToLower(scheme) {
	case "postgres", "postgresql":
	default:
		return nil
	}
	if strings.Count(rest, "@") > 1 {
		return errors.New("the user name or password holds an unencoded '@': percent-encode it as %40 (postgres://user:p%40ss@host/db)")
	}
	return nil
}
