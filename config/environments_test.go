package config_test

import (
	"strings"
	"testing"

	"github.com/syncd/syncd/config"
)

const twoEnvironments = `
pingone:
  region: EU
  environment_id: 2b4c6d8e-1a3f-4e5d-8c7b-9a0f1e2d3c4b
  client_id: app
pingone_environments:
  staging:
    region: NA
    environment_id: 9a0f1e2d-3c4b-4e5d-8c7b-2b4c6d8e1a3f
    client_id: staging-app
    rate_limit: 20
    concurrency: 4
jobs:
  - name: hr
    source:
      csv: {path: people.csv, key: id}
    mapping: {username: uid, email: mail}
    population: Staff
  - name: hr-staging
    pingone: staging
    source:
      csv: {path: people.csv, key: id}
    mapping: {username: uid, email: mail}
    population: Staff
`

func TestJobsNameTheirEnvironment(t *testing.T) {
	c, err := parse(t, twoEnvironments, env{
		"SYNCD_PINGONE_CLIENT_SECRET":                 "prod-secret",
		"SYNCD_PINGONE_ENV_STAGING_CLIENT_SECRET":     "staging-secret",
		"SYNCD_PINGONE_ENV_UNUSED_NAME_CLIENT_SECRET": "ignored",
	})
	if err != nil {
		t.Fatal(err)
	}
	name, p := c.Environment(c.Job("hr"))
	if name != config.DefaultEnvironment || p.EnvironmentID != "2b4c6d8e-1a3f-4e5d-8c7b-9a0f1e2d3c4b" || p.ClientSecret.Reveal() != "prod-secret" {
		t.Errorf("hr writes to %s %s", name, p.EnvironmentID)
	}
	name, p = c.Environment(c.Job("hr-staging"))
	if name != "staging" || p.EnvironmentID != "9a0f1e2d-3c4b-4e5d-8c7b-2b4c6d8e1a3f" || p.RateLimit != 20 || p.Concurrency != 4 {
		t.Errorf("hr-staging writes to %s %+v", name, p)
	}
	if p.ClientSecret.Reveal() != "staging-secret" || p.MaxRetries != 8 {
		t.Errorf("staging: secret from SYNCD_PINGONE_ENV_STAGING_CLIENT_SECRET or defaults not applied")
	}
	if config.BudgetKey(p) != "9a0f1e2d-3c4b-4e5d-8c7b-2b4c6d8e1a3f" {
		t.Errorf("budget key %q", config.BudgetKey(p))
	}
}

func TestEnvironmentProblemsNameTheirPath(t *testing.T) {
	bad := strings.Replace(twoEnvironments, "    rate_limit: 20\n", "    rate_limit: -3\n", 1)
	bad = strings.Replace(bad, "environment_id: 9a0f1e2d-3c4b-4e5d-8c7b-2b4c6d8e1a3f", "environment_id: nope", 1)
	bad = strings.Replace(bad, "pingone: staging", "pingone: stagin", 1)
	bad += `
  - name: third
    pingone: staging
    source:
      csv: {path: people.csv, key: id}
    mapping: {username: uid, email: mail}
    population: Staff
`
	_, err := parse(t, bad, env{"SYNCD_PINGONE_CLIENT_SECRET": "x"})
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		"pingone_environments[staging].environment_id: must be a UUID",
		"pingone_environments[staging].rate_limit: must be positive",
		"pingone_environments[staging].client_secret: required",
		`jobs[hr-staging].pingone: no environment "stagin" in pingone_environments (configured: default, staging)`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

func TestTopLevelPingOneIsOptionalWhenEveryJobNamesAnEnvironment(t *testing.T) {
	yaml := `
pingone_environments:
  prod:
    environment_id: 2b4c6d8e-1a3f-4e5d-8c7b-9a0f1e2d3c4b
    client_id: app
    client_secret_file: secret
jobs:
  - name: hr
    pingone: prod
    source:
      csv: {path: people.csv, key: id}
    mapping: {username: uid, email: mail}
    population: Staff
`
	yaml = strings.Replace(yaml, "    client_secret_file: secret\n", "", 1)
	if _, err := parse(t, yaml, env{"SYNCD_PINGONE_ENV_PROD_CLIENT_SECRET": "x"}); err != nil {
		t.Errorf("every job names an environment, no top-level pingone block: %v", err)
	}
	// A job without pingone: needs the top-level block.
	_, err := parse(t, strings.Replace(yaml, "    pingone: prod\n", "", 1), env{"SYNCD_PINGONE_ENV_PROD_CLIENT_SECRET": "x"})
	if err == nil || !strings.Contains(err.Error(), "pingone.environment_id: required") {
		t.Errorf("error = %v, want the top-level block required", err)
	}
	_, err = parse(t, strings.Replace(yaml, "  prod:\n", "  default:\n", 1), env{"SYNCD_PINGONE_ENV_DEFAULT_CLIENT_SECRET": "x"})
	if err == nil || !strings.Contains(err.Error(), "pingone_environments[default]: ") {
		t.Errorf("error = %v, want the reserved name refused", err)
	}
}
