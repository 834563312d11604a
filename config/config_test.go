package config_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/syncd/syncd/config"
	"github.com/syncd/syncd/internal/fielderr"
)

// env is a fixed environment for Parse.
type env map[string]string

func (e env) Lookup(key string) (string, bool) { v, ok := e[key]; return v, ok }

const minimal = `
pingone:
  region: EU
  environment_id: 2b4c6d8e-1a3f-4e5d-8c7b-9a0f1e2d3c4b
  client_id: app
jobs:
  - name: hr
    source:
      csv: {path: people.csv, key: id}
    mapping: {username: uid, email: mail}
    population: Staff
`

func parse(t *testing.T, yaml string, e env) (*config.Config, error) {
	t.Helper()
	if e == nil {
		e = env{"SYNCD_PINGONE_CLIENT_SECRET": "s3cret-value"}
	}
	return config.Parse(context.Background(), strings.NewReader(yaml), "/etc/syncd", "test.yaml", e)
}

func TestMinimalConfigGetsDefaults(t *testing.T) {
	c, err := parse(t, minimal, nil)
	if err != nil {
		t.Fatal(err)
	}
	j := c.Jobs[0]
	if c.State.URL != "sqlite:///etc/syncd/syncd.db" {
		t.Errorf("state.url = %q, want the default beside the config", c.State.URL)
	}
	if j.Source.CSV.Path != "/etc/syncd/people.csv" {
		t.Errorf("csv path = %q, want it resolved against the config's directory", j.Source.CSV.Path)
	}
	if j.BatchSize != 200 || j.Safety.MaxDisables != 500 || j.Safety.MaxDisablePercent != 10 || j.Safety.MaxFailures.String() != "5%" {
		t.Errorf("defaults: batch %d safety %+v", j.BatchSize, j.Safety)
	}
	if strings.Join(j.Match, ",") != "externalId,username" {
		t.Errorf("match = %v", j.Match)
	}
	if j.Mapper == nil {
		t.Error("mapping not compiled")
	}
	if c.PingOne.ClientSecret.Reveal() != "s3cret-value" || !c.State.Migrate() {
		t.Error("secret from the environment or auto_migrate default not applied")
	}
}

func TestEveryProblemIsReportedWithItsPath(t *testing.T) {
	bad := `
state: {url: "mysql://x"}
pingone:
  environment_id: not-a-uuid
  client_id: app
jobs:
  - name: a
    source: {}
    mapping: {username: uid, email: mail, name.giv: givenName}
    population: Staff
    match: [externalId, phone]
    safety: {max_disable_percent: 120}
  - name: a
    schedule: "TZ="
    source:
      csv: {path: x.csv, key: id}
      ldap: {url: "ldap://x"}
    mapping: {username: uid, email: mail}
    population: Staff
`
	_, err := parse(t, bad, env{})
	if err == nil {
		t.Fatal("bad config accepted")
	}
	for _, want := range []string{
		"state.url:", "pingone.environment_id:", "pingone.client_secret:",
		"jobs[a].source: required", "jobs[a].mapping.name.giv", "jobs[a].match[1]:", "jobs[a].safety.max_disable_percent:",
		`jobs[a].name: "a" used by two jobs`, "jobs[a].schedule:", "jobs[a].source: set exactly one",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %q:\n%v", want, err)
		}
	}
	var fe *fielderr.FieldError
	if !errors.As(err, &fe) {
		t.Errorf("errors.As FieldError failed on %T", err)
	}
}

func TestUnknownKeysAreRejected(t *testing.T) {
	_, err := parse(t, minimal+"    sheduel: daily\n", nil)
	if err == nil || !strings.Contains(err.Error(), "unknown key sheduel") {
		t.Fatalf("err = %v, want unknown key sheduel", err)
	}
}

func TestEnvironmentOverrides(t *testing.T) {
	c, err := parse(t, minimal, env{
		"SYNCD_STATE_URL":             "postgres://syncd@db/syncd",
		"SYNCD_PINGONE_CLIENT_SECRET": "from-env",
		"SYNCD_PINGONE_RATE_LIMIT":    "12.5",
		"SYNCD_LOG_LEVEL":             "debug",
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.State.URL != "postgres://syncd@db/syncd" || c.PingOne.RateLimit != 12.5 || c.Log.Level != "debug" || c.PingOne.ClientSecret.Reveal() != "from-env" {
		t.Errorf("overrides not applied: %+v", c)
	}
}

func TestSecretFiles(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good")
	open := filepath.Join(dir, "open")
	if err := os.WriteFile(good, []byte("file-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(open, []byte("leaky"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := parse(t, strings.Replace(minimal, "client_id: app", "client_id: app\n  client_secret_file: "+good, 1), env{})
	if err != nil {
		t.Fatal(err)
	}
	if c.PingOne.ClientSecret.Reveal() != "file-secret" {
		t.Errorf("secret = %q", c.PingOne.ClientSecret.Reveal())
	}
	_, err = parse(t, strings.Replace(minimal, "client_id: app", "client_id: app\n  client_secret_file: /dev/null", 1), env{})
	if err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("a device as secret file: err = %v", err)
	}
	_, err = parse(t, strings.Replace(minimal, "client_id: app", "client_id: app\n  client_secret_file: "+open, 1), env{})
	if err == nil || !strings.Contains(err.Error(), "readable or writable by others, or writable by its group") || strings.Contains(err.Error(), "leaky") {
		t.Fatalf("err = %v, want a refusal that does not print the secret", err)
	}
}

func TestSecretsNeverPrint(t *testing.T) {
	c, err := parse(t, minimal, env{"SYNCD_PINGONE_CLIENT_SECRET": "hunter2-XYZ"})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{
		c.PingOne.ClientSecret.String(),
		strings.TrimSpace(string(must(c.PingOne.ClientSecret.MarshalJSON()))),
	} {
		if strings.Contains(s, "hunter2") {
			t.Errorf("secret printed: %s", s)
		}
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

// TestExampleConfigs loads every example under configs/: they must stay
// valid as the code changes.
func TestExampleConfigs(t *testing.T) {
	creds := t.TempDir()
	for _, f := range []string{"pingone-client-secret", "ldap-bind-password"} {
		if err := os.WriteFile(filepath.Join(creds, f), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("CREDENTIALS_DIRECTORY", creds)
	files, _ := filepath.Glob("../configs/*.yaml")
	demo, _ := filepath.Glob("../configs/*/syncd.yaml")
	files = append(files, demo...)
	if len(files) < 4 {
		t.Fatalf("found %d example configs", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(filepath.Dir(f))+"/"+filepath.Base(f), func(t *testing.T) {
			c, err := config.Load(context.Background(), f, env{"SYNCD_PINGONE_CLIENT_SECRET": "x"})
			if err != nil {
				t.Fatal(err)
			}
			for _, j := range c.Jobs {
				if j.Mapper == nil || j.Schedule == "" {
					t.Errorf("job %s: mapper %v schedule %q", j.Name, j.Mapper, j.Schedule)
				}
			}
		})
	}
}

// TestREADMEExample parses the configuration example in the README, so the
// documentation stays true as the code changes.
func TestREADMEExample(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(b), "## Configuration")
	if !ok {
		t.Fatal("README has no Configuration section")
	}
	_, rest, ok = strings.Cut(rest, "```yaml\n")
	if !ok {
		t.Fatal("README's Configuration section has no yaml example")
	}
	example, _, _ := strings.Cut(rest, "```")
	// The example names its secret files under systemd's credentials
	// directory: put them in a temporary one (the file's *_file keys win
	// over the environment).
	creds := t.TempDir()
	for _, f := range []string{"pingone-client-secret", "pingone-staging-secret", "ldap-password"} {
		if err := os.WriteFile(filepath.Join(creds, f), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	example = strings.ReplaceAll(example, "/run/credentials/syncd.service", creds)
	c, err := config.Parse(context.Background(), strings.NewReader(example), t.TempDir(), "README.md", env{})
	if err != nil {
		t.Fatalf("the README's example config does not load:\n%v", err)
	}
	if len(c.Jobs) != 1 || c.Jobs[0].Mapper == nil {
		t.Errorf("jobs = %+v", c.Jobs)
	}
}
