package ldapsource

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/syncd/syncd/internal/fielderr"
	"github.com/syncd/syncd/internal/secret"
)

func validConfig() Config {
	return Config{
		URL:          "ldaps://ldap.example.com",
		BindDN:       "cn=sync,dc=example,dc=com",
		BindPassword: secret.New("pw"),
		BaseDN:       DNList{"ou=people,dc=example,dc=com"},
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*Config)
		want   []string // "path: substring"; empty = valid
	}{
		{"ldaps", func(c *Config) {}, nil},
		{"starttls", func(c *Config) { c.URL = "ldap://h"; c.StartTLS = true }, nil},
		{"plaintext allowed", func(c *Config) { c.URL = "ldap://h:389"; c.AllowPlaintext = true }, nil},
		{"AD UPN bind", func(c *Config) { c.BindDN = "svc-syncd@corp.example" }, nil},
		{"AD down-level bind", func(c *Config) { c.BindDN = `CORP\svc-syncd` }, nil},
		{"bad bind dn", func(c *Config) { c.BindDN = "just a name" }, []string{"bind_dn: \"just a name\" is not a DN"}},
		{"anonymous", func(c *Config) { c.BindDN = ""; c.BindPassword = secret.Value{} }, nil},
		{"password file", func(c *Config) { c.BindPassword = secret.Value{}; c.BindPasswordFile = "/run/pw" }, nil},
		{"plaintext refused", func(c *Config) { c.URL = "ldap://h" }, []string{"url: ldap:// without start_tls"}},
		{"ldaps with starttls", func(c *Config) { c.StartTLS = true }, []string{"start_tls: not with ldaps://"}},
		{"no url", func(c *Config) { c.URL = "" }, []string{"url: required"}},
		{"bad scheme", func(c *Config) { c.URL = "http://h" }, []string{`url: scheme "http"`}},
		{"no host", func(c *Config) { c.URL = "ldaps://" }, []string{"url: no host"}},
		{"tls on plaintext", func(c *Config) { c.URL = "ldap://h"; c.AllowPlaintext = true; c.TLS.CAFile = "/ca" },
			[]string{"tls: has no effect"}},
		{"no base", func(c *Config) { c.BaseDN = nil }, []string{"base_dn: required"}},
		{"bad base", func(c *Config) { c.BaseDN = DNList{"dc=a", "nonsense"} }, []string{"base_dn[1]:"}},
		{"duplicate base", func(c *Config) { c.BaseDN = DNList{"dc=a,dc=b", "DC=a, DC=b"} }, []string{"base_dn[1]: \"DC=a, DC=b\" listed twice"}},
		{"bad scope", func(c *Config) { c.Scope = "subtree" }, []string{"scope: want sub, one or base"}},
		{"bad filter", func(c *Config) { c.Filter = "(objectClass=user" }, []string{"filter:"}},
		{"bad anchor", func(c *Config) { c.Anchor = "object GUID" }, []string{"anchor:"}},
		{"bad attribute", func(c *Config) { c.Attributes = []string{"mail", "a b"} }, []string{"attributes[1]:"}},
		{"negative page", func(c *Config) { c.PageSize = -1 }, []string{"page_size: must be positive"}},
		{"negative timeout", func(c *Config) { c.Timeout = -time.Second }, []string{"timeout: must be positive"}},
		{"key without cert", func(c *Config) { c.TLS.KeyFile = "k" }, []string{"tls.cert_file: required with tls.key_file"}},
		{"cert without key", func(c *Config) { c.TLS.CertFile = "c" }, []string{"tls.key_file: required with tls.cert_file"}},
		{"insecure and ca", func(c *Config) { c.TLS.InsecureSkipVerify = true; c.TLS.CAFile = "/ca" }, []string{"tls.insecure_skip_verify: contradicts"}},
		{"bind dn without password", func(c *Config) { c.BindPassword = secret.Value{} }, []string{"bind_password_file: required with bind_dn"}},
		{"password without bind dn", func(c *Config) { c.BindDN = "" }, []string{"bind_dn: required with a bind password"}},
		{"watch notify", func(c *Config) { c.WatchMethod = WatchNotify }, nil},
		{"watch poll", func(c *Config) { c.WatchMethod = WatchPoll }, nil},
		{"bad watch method", func(c *Config) { c.WatchMethod = "push" }, []string{`watch_method: "push": want auto, notify or poll`}},
		{"several problems at once", func(c *Config) { c.URL = "ldap://h"; c.BaseDN = nil; c.PageSize = -5 },
			[]string{"url:", "base_dn: required", "page_size:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := validConfig()
			tt.mutate(&c)
			err := c.Validate()
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate() = nil, want %v", tt.want)
			}
			var fe *fielderr.FieldError
			if !errors.As(err, &fe) {
				t.Errorf("error %v carries no *fielderr.FieldError", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate() = %q, want it to contain %q", err, w)
				}
			}
			if n := strings.Count(err.Error(), "\n") + 1; n != len(tt.want) {
				t.Errorf("Validate() reported %d problems, want %d:\n%v", n, len(tt.want), err)
			}
		})
	}
}

func TestUnmarshalYAML(t *testing.T) {
	const doc = `
url: ldaps://dc1.corp.example:636
bind_dn: CN=svc-syncd,OU=Service,DC=corp,DC=example
bind_password_file: /run/credentials/syncd/ldap
base_dn:
  - OU=Staff,DC=corp,DC=example
  - OU=Contractors,DC=corp,DC=example
scope: one
anchor: objectGUID
attributes: [mail, sAMAccountName]
page_size: 1000
timeout: 90s
tls:
  ca_file: /etc/ssl/corp-ca.pem
  server_name: dc1.corp.example
`
	var c Config
	if err := yaml.Unmarshal([]byte(doc), &c); err != nil {
		t.Fatal(err)
	}
	if len(c.BaseDN) != 2 || c.BaseDN[1] != "OU=Contractors,DC=corp,DC=example" {
		t.Errorf("BaseDN = %q", c.BaseDN)
	}
	if c.Timeout != 90*time.Second || c.PageSize != 1000 || c.Scope != "one" || c.TLS.ServerName != "dc1.corp.example" {
		t.Errorf("decoded %+v", c)
	}
	c.SetDefaults()
	if c.Filter != DefaultADFilter {
		t.Errorf("default filter with objectGUID anchor = %q, want %q", c.Filter, DefaultADFilter)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("Validate() = %v", err)
	}

	var one Config
	if err := yaml.Unmarshal([]byte("base_dn: dc=example,dc=com"), &one); err != nil {
		t.Fatal(err)
	}
	if len(one.BaseDN) != 1 || one.BaseDN[0] != "dc=example,dc=com" {
		t.Errorf("single base_dn decoded as %q", one.BaseDN)
	}
	if err := yaml.Unmarshal([]byte("base_dn: {a: b}"), &one); err == nil {
		t.Error("a mapping as base_dn decoded without error")
	}
	var d Config
	d.SetDefaults()
	if d.Scope != "sub" || d.Anchor != "entryUUID" || d.Filter != DefaultFilter || d.PageSize != 500 || d.Timeout != 5*time.Minute {
		t.Errorf("defaults: %+v", d)
	}
}

func TestResolveBindPassword(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "pw")
	if err := os.WriteFile(good, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	open := filepath.Join(dir, "open")
	if err := os.WriteFile(open, []byte("s3cret"), 0o644); err != nil {
		t.Fatal(err)
	}
	env := func(k string) (string, bool) {
		if k == PasswordEnv {
			return "from-env", true
		}
		return "", false
	}
	tests := []struct {
		name, file, want, err string
	}{
		{"file", good, "s3cret", ""},
		{"env", "", "from-env", ""},
		{"readable by others", open, "", "readable or writable by others"},
		{"missing file", filepath.Join(dir, "nope"), "", "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Config{BindPasswordFile: tt.file}
			err := c.ResolveBindPassword(env)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				if strings.Contains(err.Error(), "s3cret") {
					t.Errorf("error leaks the password: %v", err)
				}
				return
			}
			if err != nil || c.BindPassword.Reveal() != tt.want {
				t.Fatalf("password %q, err %v; want %q", c.BindPassword.Reveal(), err, tt.want)
			}
		})
	}
}

// TestBaseDNFlowListSplittingADN: `base_dn: [ou=people,dc=example,dc=com]`
// is three single-RDN items in YAML; it is refused with the quoting shown,
// while quoted items and block lists are taken as written.
func TestBaseDNFlowListSplittingADN(t *testing.T) {
	tests := []struct {
		doc     string
		want    DNList
		wantErr string
	}{
		{"base_dn: [ou=people,dc=example,dc=com]", nil, `quote it, base_dn: "ou=people,dc=example,dc=com"`},
		{"base_dn: [ou=people, dc=example]", nil, "flow list of 2 single RDNs"},
		{`base_dn: ["ou=people,dc=example,dc=com"]`, DNList{"ou=people,dc=example,dc=com"}, ""},
		{`base_dn: ["ou=a,dc=x", "ou=b,dc=x"]`, DNList{"ou=a,dc=x", "ou=b,dc=x"}, ""},
		{"base_dn: [dc=example]", DNList{"dc=example"}, ""},
		{"base_dn:\n  - o=org1\n  - o=org2\n", DNList{"o=org1", "o=org2"}, ""},
	}
	for _, tt := range tests {
		var c Config
		err := yaml.Unmarshal([]byte(tt.doc), &c)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%s: err = %v, want one containing %q", tt.doc, err, tt.wantErr)
			}
			continue
		}
		if err != nil || strings.Join(c.BaseDN, "|") != strings.Join(tt.want, "|") {
			t.Errorf("%s: BaseDN = %q, err %v; want %q", tt.doc, c.BaseDN, err, tt.want)
		}
	}
}
