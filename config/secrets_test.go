package config_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/syncd/syncd/config"
)

func TestInlineClientSecretIsRefused(t *testing.T) {
	_, err := parse(t, strings.Replace(minimal, "client_id: app", "client_id: app\n  client_secret: hunter2-inline", 1), env{})
	if err == nil {
		t.Fatal("an inline pingone.client_secret was accepted")
	}
	for _, want := range []string{"pingone.client_secret:", "client_secret_file", "SYNCD_PINGONE_CLIENT_SECRET"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not name %q: %v", want, err)
		}
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Errorf("error prints the secret: %v", err)
	}
}

func TestSecondYAMLDocumentIsRefused(t *testing.T) {
	for name, doc := range map[string]string{
		"second config": minimal + "---\nstate: {url: 'sqlite:///tmp/other.db'}\n",
		"empty second":  minimal + "---\n# nothing\n---\nlog: {level: debug}\n",
		"broken second": minimal + "---\n: : :\n",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := parse(t, doc, nil)
			if err == nil || (!strings.Contains(err.Error(), "second YAML document") && !strings.Contains(err.Error(), "after the first YAML document")) {
				t.Fatalf("err = %v, want a refusal of the second document", err)
			}
		})
	}
	if _, err := parse(t, "---\n"+minimal, nil); err != nil {
		t.Errorf("one document with a leading '---' refused: %v", err)
	}
}

func TestUserinfoInPingOneURLsIsRefused(t *testing.T) {
	for _, key := range []string{"api_url: https://svc:Pw-SECRET@api.pingone.eu/v1", "auth_url: https://svc:Pw-SECRET@auth.pingone.eu", "api_url: 'svc:Pw-SECRET@host'"} {
		_, err := parse(t, strings.Replace(minimal, "region: EU", "region: EU\n  "+key, 1), nil)
		if err == nil || !strings.Contains(err.Error(), "must not carry a user name or password") {
			t.Errorf("%s: err = %v", key, err)
		}
		if err != nil && strings.Contains(err.Error(), "Pw-SECRET") {
			t.Errorf("%s: error prints the password: %v", key, err)
		}
	}
}

func TestStateURLWithUnencodedAtIsRefused(t *testing.T) {
	_, err := parse(t, minimal, env{"SYNCD_PINGONE_CLIENT_SECRET": "x", "SYNCD_STATE_URL": "postgres://syncd:se@cret@127.0.0.1/db"})
	if err == nil || !strings.Contains(err.Error(), "state.url: the user name or password holds an unencoded '@'") {
		t.Fatalf("err = %v", err)
	}
	if strings.Contains(err.Error(), "cret") {
		t.Errorf("error prints the password: %v", err)
	}
	if _, err := parse(t, minimal, env{"SYNCD_PINGONE_CLIENT_SECRET": "x", "SYNCD_STATE_URL": "postgres://syncd:se%40cret@127.0.0.1/db"}); err != nil {
		t.Errorf("an encoded '@' refused: %v", err)
	}
}

func writeSecret(t *testing.T, dir, name, value string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(value), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

const twoLDAPJobs = `
pingone:
  region: EU
  environment_id: 2b4c6d8e-1a3f-4e5d-8c7b-9a0f1e2d3c4b
  client_id: app
  client_secret_file: %PINGONE%
jobs:
  - name: one
    source:
      ldap: {url: "ldaps://ldap-one.example.com", bind_dn: "cn=a,dc=x", bind_password_file: %ONE%, base_dn: "dc=x"}
    mapping: {username: uid, email: mail}
    population: Staff
  - name: two
    source:
      ldap: {url: "ldaps://%TWOHOST%", bind_dn: "cn=b,dc=y", base_dn: "dc=y"}
    mapping: {username: uid, email: mail}
    population: Staff
`

// TestSecretPrecedence: the config file's *_file wins over SYNCD_…_FILE,
// which wins over SYNCD_…; every loser is named in a notice. A process-wide
// LDAP password only reaches jobs without a file of their own.
func TestSecretPrecedence(t *testing.T) {
	dir := t.TempDir()
	pingFile := writeSecret(t, dir, "p1", "from-config-file")
	envFile := writeSecret(t, dir, "p2", "from-env-file")
	one := writeSecret(t, dir, "one", "password-of-one")
	envLDAP := writeSecret(t, dir, "ldap-env", "password-from-env-file")
	cfg := strings.NewReplacer("%PINGONE%", pingFile, "%ONE%", one, "%TWOHOST%", "ldap-one.example.com").Replace(twoLDAPJobs)

	c, err := parse(t, cfg, env{
		"SYNCD_PINGONE_CLIENT_SECRET_FILE": envFile, "SYNCD_PINGONE_CLIENT_SECRET": "from-env",
		"SYNCD_LDAP_BIND_PASSWORD_FILE": envLDAP, "SYNCD_LDAP_BIND_PASSWORD": "from-env-value",
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.PingOne.ClientSecret.Reveal(); got != "from-config-file" {
		t.Errorf("pingone secret = %q, want the config file's", got)
	}
	if got := c.Job("one").Source.LDAP.BindPassword.Reveal(); got != "password-of-one" {
		t.Errorf("job one's password = %q: the environment overrode its own file", got)
	}
	if got := c.Job("two").Source.LDAP.BindPassword.Reveal(); got != "password-from-env-file" {
		t.Errorf("job two's password = %q, want SYNCD_LDAP_BIND_PASSWORD_FILE's", got)
	}
	notes := strings.Join(c.Notices, "\n")
	for _, want := range []string{
		"SYNCD_PINGONE_CLIENT_SECRET_FILE is ignored: pingone.client_secret_file is set",
		"SYNCD_PINGONE_CLIENT_SECRET is ignored: pingone.client_secret_file is set",
		"SYNCD_LDAP_BIND_PASSWORD_FILE is ignored for job one",
		"SYNCD_LDAP_BIND_PASSWORD is ignored for job one",
		"SYNCD_LDAP_BIND_PASSWORD is ignored for job two: SYNCD_LDAP_BIND_PASSWORD_FILE is set",
	} {
		if !strings.Contains(notes, want) {
			t.Errorf("notices lack %q:\n%s", want, notes)
		}
	}
	for _, leak := range []string{"from-env", "password-of", "from-config"} {
		if strings.Contains(notes, leak) {
			t.Errorf("notices print a secret: %s", notes)
		}
	}

	// Without a file in the config, SYNCD_…_FILE wins over SYNCD_….
	noFile := strings.Replace(cfg, "  client_secret_file: "+pingFile+"\n", "", 1)
	c, err = parse(t, noFile, env{"SYNCD_PINGONE_CLIENT_SECRET_FILE": envFile, "SYNCD_PINGONE_CLIENT_SECRET": "from-env", "SYNCD_LDAP_BIND_PASSWORD": "x"})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.PingOne.ClientSecret.Reveal(); got != "from-env-file" {
		t.Errorf("pingone secret = %q, want SYNCD_PINGONE_CLIENT_SECRET_FILE's", got)
	}
	if !strings.Contains(strings.Join(c.Notices, "\n"), "SYNCD_PINGONE_CLIENT_SECRET is ignored: SYNCD_PINGONE_CLIENT_SECRET_FILE is set") {
		t.Errorf("notices: %q", c.Notices)
	}
}

// TestLDAPPasswordFromEnvironmentRefusedForSeveralServers: one process-wide
// password would go to two different servers.
func TestLDAPPasswordFromEnvironmentRefusedForSeveralServers(t *testing.T) {
	dir := t.TempDir()
	cfg := strings.NewReplacer("%PINGONE%", writeSecret(t, dir, "p", "x"), "bind_password_file: %ONE%, ", "", "%TWOHOST%", "ldap-two.example.com").Replace(twoLDAPJobs)
	_, err := parse(t, cfg, env{"SYNCD_LDAP_BIND_PASSWORD": "pw-for-one-server"})
	if err == nil || !strings.Contains(err.Error(), "several LDAP servers") || !strings.Contains(err.Error(), "ldap-two.example.com:636") {
		t.Fatalf("err = %v", err)
	}
	if strings.Contains(err.Error(), "pw-for-one") {
		t.Errorf("error prints the password: %v", err)
	}
	// Both jobs on one server: the variable speaks for both.
	same := strings.NewReplacer("%PINGONE%", writeSecret(t, dir, "p2", "x"), "bind_password_file: %ONE%, ", "", "%TWOHOST%", "LDAP-one.example.com:636").Replace(twoLDAPJobs)
	c, err := parse(t, same, env{"SYNCD_LDAP_BIND_PASSWORD": "pw"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Job("one").Source.LDAP.BindPassword.Reveal() != "pw" || c.Job("two").Source.LDAP.BindPassword.Reveal() != "pw" {
		t.Error("the password was not applied to both jobs of one server")
	}
}

func TestConfigLargerThanTheCapIsRefused(t *testing.T) {
	_, err := config.Load(context.Background(), "/dev/zero", env{})
	if err == nil || !strings.Contains(err.Error(), "larger than 4 MiB") {
		t.Fatalf("err = %v", err)
	}
}
