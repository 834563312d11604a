package pingone

import (
	"errors"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/syncd/syncd/internal/fielderr"
	"github.com/syncd/syncd/internal/secret"
)

func validConfig() Config {
	return Config{
		Region: "EU", EnvironmentID: testEnv, ClientID: "client-1",
		ClientSecret: secret.New(testSecret),
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		mutate func(*Config)
		want   []string // "path: message" prefixes, in order
	}{
		{name: "valid", mutate: func(*Config) {}},
		{name: "secret from file", mutate: func(c *Config) { c.ClientSecret = secret.Value{}; c.ClientSecretFile = "/run/secret" }},
		{name: "api and auth url without region", mutate: func(c *Config) {
			c.Region = ""
			c.APIURL = "https://api.pingone.eu/v1"
			c.AuthURL = "https://auth.pingone.eu"
		}},
		{name: "loopback http", mutate: func(c *Config) { c.APIURL = "http://127.0.0.1:8080/v1"; c.AuthURL = "http://localhost:8080" }},
		{name: "everything wrong", mutate: func(c *Config) {
			*c = Config{Region: "XX", APIURL: "http://api.example.com/v1", AuthURL: "ftp://x", EnvironmentID: "not-a-uuid",
				AuthMethod: "private_key_jwt", RateLimit: -1, Concurrency: -2, Timeout: -time.Second, MaxRetries: -1}
		}, want: []string{
			`region: unknown region "XX"`,
			"api_url: plain http is allowed only for a loopback host",
			`auth_url: scheme must be https, got "ftp"`,
			"environment_id: must be a UUID",
			"client_id: required",
			"client_secret: required",
			"auth_method: must be client_secret_basic or client_secret_post",
			"rate_limit: must be positive",
			"concurrency: must be between 1 and 256",
			"timeout: must be positive",
			"max_retries: must not be negative",
		}},
		{name: "missing env", mutate: func(c *Config) { c.EnvironmentID = "" }, want: []string{"environment_id: required"}},
		{name: "uuid without dashes", mutate: func(c *Config) { c.EnvironmentID = strings.ReplaceAll(testEnv, "-", "") }, want: []string{"environment_id: must be a UUID"}},
		{name: "relative url", mutate: func(c *Config) { c.APIURL = "/v1" }, want: []string{"api_url: must be an absolute URL"}},
		{name: "url with query", mutate: func(c *Config) { c.APIURL = "https://api.pingone.com/v1?x=1" }, want: []string{"api_url: must not carry a query"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := validConfig()
			tt.mutate(&c)
			err := c.Validate()
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Validate passed")
			}
			got := strings.Split(err.Error(), "\n")
			if len(got) != len(tt.want) {
				t.Fatalf("got %d problems, want %d:\n%s", len(got), len(tt.want), err)
			}
			for i, w := range tt.want {
				if !strings.HasPrefix(got[i], w) {
					t.Errorf("problem %d = %q, want prefix %q", i, got[i], w)
				}
			}
			var fe *fielderr.FieldError
			if !errors.As(err, &fe) {
				t.Error("problems are not FieldErrors")
			}
		})
	}
}

func TestConfigDefaultsAndHosts(t *testing.T) {
	t.Parallel()
	var c Config
	c.SetDefaults()
	if c.Region != "NA" || c.AuthMethod != AuthClientSecretBasic || c.RateLimit != 30 || c.Concurrency != 8 || c.Timeout != 30*time.Second || c.MaxRetries != 8 {
		t.Errorf("defaults: %+v", c)
	}
	for region, want := range map[string][2]string{
		"NA": {"https://api.pingone.com/v1", "https://auth.pingone.com/" + testEnv + "/as/token"},
		"CA": {"https://api.pingone.ca/v1", "https://auth.pingone.ca/" + testEnv + "/as/token"},
		"EU": {"https://api.pingone.eu/v1", "https://auth.pingone.eu/" + testEnv + "/as/token"},
		"AU": {"https://api.pingone.com.au/v1", "https://auth.pingone.com.au/" + testEnv + "/as/token"},
		"SG": {"https://api.pingone.sg/v1", "https://auth.pingone.sg/" + testEnv + "/as/token"},
		"AP": {"https://api.pingone.asia/v1", "https://auth.pingone.asia/" + testEnv + "/as/token"},
		"eu": {"https://api.pingone.eu/v1", "https://auth.pingone.eu/" + testEnv + "/as/token"},
	} {
		c := Config{Region: region, EnvironmentID: testEnv}
		if c.apiBase() != want[0] || c.tokenURL() != want[1] {
			t.Errorf("%s: %s %s", region, c.apiBase(), c.tokenURL())
		}
	}
	c = Config{Region: "EU", APIURL: "https://gw.example.com/pingone/v1/", AuthURL: "https://auth.example.com/", EnvironmentID: testEnv}
	if c.apiBase() != "https://gw.example.com/pingone/v1" || c.tokenURL() != "https://auth.example.com/"+testEnv+"/as/token" {
		t.Errorf("overrides: %s %s", c.apiBase(), c.tokenURL())
	}
}

func TestConfigYAML(t *testing.T) {
	t.Parallel()
	src := `
region: EU
environment_id: ` + testEnv + `
client_id: abc
client_secret_file: /run/credentials/syncd/pingone
auth_method: client_secret_post
rate_limit: 25.5
concurrency: 4
timeout: 45s
max_retries: 5
`
	var c Config
	dec := yaml.NewDecoder(strings.NewReader(src))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		t.Fatal(err)
	}
	want := Config{Region: "EU", EnvironmentID: testEnv, ClientID: "abc", ClientSecretFile: "/run/credentials/syncd/pingone",
		AuthMethod: AuthClientSecretPost, RateLimit: 25.5, Concurrency: 4, Timeout: 45 * time.Second, MaxRetries: 5}
	if c != want {
		t.Errorf("decoded %+v\nwant    %+v", c, want)
	}
	if err := c.Validate(); err != nil {
		t.Error(err)
	}
	if _, err := New(c, nil); err == nil || !strings.Contains(err.Error(), "client_secret") {
		t.Errorf("New without a resolved secret: %v", err)
	}
}
