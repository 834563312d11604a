package ldapsource

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/syncd/syncd/internal/secret"
	"github.com/syncd/syncd/internal/testenv"
	"github.com/syncd/syncd/sources"
	"github.com/syncd/syncd/sources/sourcetest"
)

// conformanceEntries returns n inetOrgPersons below parent whose uid is
// sourcetest.Anchor(i) and mail sourcetest.Mail(i).
func conformanceEntries(parent string, n int) []testenv.LDAPEntry {
	out := make([]testenv.LDAPEntry, n)
	for i := range out {
		out[i] = testenv.UserEntry(parent, i, map[string][]string{
			"uid":  {sourcetest.Anchor(i)},
			"mail": {sourcetest.Mail(i)},
		})
		out[i].DN = "uid=" + sourcetest.Anchor(i) + "," + parent
	}
	return out
}

// slapdConfig is a StartTLS config for the test slapd, reading below base.
func slapdConfig(srv testenv.LDAPServer, base string) Config {
	return Config{
		URL:          srv.URL,
		StartTLS:     true,
		TLS:          TLSConfig{CAFile: srv.CAFile},
		BindDN:       srv.BindDN,
		BindPassword: secret.New(srv.Password),
		BaseDN:       DNList{base},
		Timeout:      time.Minute,
	}
}

func mustNew(t testing.TB, cfg Config) *Source {
	t.Helper()
	s, err := New(cfg, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// readAll reads src to its end and returns the records and Err.
func readAll(t testing.TB, src sources.Source, req sources.ReadRequest) ([]sources.Record, error) {
	t.Helper()
	r, err := src.Open(context.Background(), req)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer r.Close()
	var recs []sources.Record
	for r.Next() {
		recs = append(recs, r.Record())
	}
	return recs, r.Err()
}

func TestConformance(t *testing.T) {
	srv := testenv.LDAP(t)
	newSource := func(t *testing.T, n int, url string) (*Source, string) {
		var parent string
		if n >= 1000 { // large: a shared read-only fixture, loaded once
			parent = srv.Fixture(t, fmt.Sprintf("conformance%d", n), "v1", func(p string) []testenv.LDAPEntry {
				return conformanceEntries(p, n)
			})
		} else {
			parent = srv.Subtree(t)
			srv.AddEntries(t, conformanceEntries(parent, n))
		}
		cfg := slapdConfig(srv, parent)
		cfg.Anchor = "uid"
		cfg.PageSize = 10 // several pages even for the small cases
		if n >= 1000 {
			cfg.PageSize = 500
		}
		if url != "" {
			cfg.URL, cfg.StartTLS, cfg.TLS, cfg.AllowPlaintext = url, false, TLSConfig{}, true
		}
		return mustNew(t, cfg), parent
	}
	sourcetest.Run(t, sourcetest.Harness{
		New: func(t *testing.T, n int) sources.Source {
			s, _ := newSource(t, n, "")
			return s
		},
		Failing: func(t *testing.T, n, after int) sources.Source {
			p := newCutProxy(t, strings.TrimPrefix(srv.URL, "ldap://"), after)
			s, _ := newSource(t, n, p.URL())
			return s
		},
		Large: 10_000,
	})
}

func TestEntryUUIDAnchorAndAttributes(t *testing.T) {
	t.Parallel()
	srv := testenv.LDAP(t)
	parent := srv.Subtree(t)
	entries := make([]testenv.LDAPEntry, 3)
	for i := range entries {
		entries[i] = testenv.UserEntry(parent, i, map[string][]string{
			"mail":      {fmt.Sprintf("u%d@example.test", i), fmt.Sprintf("alias%d@example.test", i)},
			"cn":        {"Zoë Müller"},
			"jpegPhoto": {"\xff\xd8\xff\xe0 not really a jpeg"},
		})
	}
	srv.AddEntries(t, entries)
	res, err := srv.Conn(t).Search(ldap.NewSearchRequest(parent, ldap.ScopeSingleLevel, 0, 0, 0, false,
		"(objectClass=inetOrgPerson)", []string{"entryUUID", "uid"}, nil))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{} // uid -> entryUUID
	for _, e := range res.Entries {
		want[e.GetAttributeValue("uid")] = e.GetAttributeValue("entryUUID")
	}
	src := mustNew(t, slapdConfig(srv, parent))

	t.Run("requested attributes only", func(t *testing.T) {
		recs, err := readAll(t, src, sources.ReadRequest{Attributes: []string{"mail", "uid", "jpegphoto"}})
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != 3 {
			t.Fatalf("%d records, want 3", len(recs))
		}
		for _, r := range recs {
			uid := r.Get("uid")
			if r.Anchor != want[uid] || r.Anchor == "" {
				t.Errorf("%s: anchor %q, want entryUUID %q", r.DN, r.Anchor, want[uid])
			}
			if r.Pos != r.DN || !strings.HasPrefix(r.DN, "uid="+uid+",") {
				t.Errorf("DN %q / Pos %q", r.DN, r.Pos)
			}
			n := strings.TrimPrefix(uid, "user00000")
			if m := r.Attrs["mail"]; len(m) != 2 || m[0] != "u"+n+"@example.test" || m[1] != "alias"+n+"@example.test" {
				t.Errorf("%s: mail = %q, want both values in server order", r.DN, m)
			}
			if _, ok := r.Attrs["cn"]; ok {
				t.Errorf("%s: cn returned though not requested", r.DN)
			}
			if got := r.Get("jpegphoto"); got != "/9j/4CBub3QgcmVhbGx5IGEganBlZw==" {
				t.Errorf("jpegPhoto = %q, want base64", got)
			}
			if _, ok := r.Attrs["entryuuid"]; !ok {
				t.Errorf("anchor attribute missing from Attrs: %v", r.Attrs)
			}
		}
	})
	t.Run("all user attributes", func(t *testing.T) {
		recs, err := readAll(t, src, sources.ReadRequest{})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			if r.Get("cn") != "Zoë Müller" || r.Get("givenname") == "" || r.Attrs["objectclass"] == nil {
				t.Errorf("%s: attrs %v", r.DN, r.Attrs)
			}
			if r.Anchor != want[r.Get("uid")] {
				t.Errorf("anchor %q, want %q", r.Anchor, want[r.Get("uid")])
			}
		}
	})
	t.Run("missing anchor is a reject", func(t *testing.T) {
		cfg := slapdConfig(srv, parent)
		cfg.Anchor = "employeeType" // nobody has one
		recs, err := readAll(t, mustNew(t, cfg), sources.ReadRequest{Attributes: []string{"mail"}})
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != 3 {
			t.Fatalf("%d records, want 3 rejects", len(recs))
		}
		for _, r := range recs {
			if r.Reject == "" || r.Anchor != "" || r.Pos != r.DN {
				t.Errorf("record %+v: want a reject with Pos = DN", r)
			}
		}
	})
}

func TestMultipleBaseDNsAndScope(t *testing.T) {
	t.Parallel()
	srv := testenv.LDAP(t)
	parent := srv.Subtree(t)
	a, b := "ou=a,"+parent, "ou=b,"+parent
	entries := []testenv.LDAPEntry{
		{DN: a, Attrs: map[string][]string{"objectClass": {"organizationalUnit"}, "ou": {"a"}}},
		{DN: b, Attrs: map[string][]string{"objectClass": {"organizationalUnit"}, "ou": {"b"}}},
		{DN: "ou=deep," + a, Attrs: map[string][]string{"objectClass": {"organizationalUnit"}, "ou": {"deep"}}},
	}
	for i := range 5 {
		entries = append(entries, testenv.UserEntry(a, i, nil), testenv.UserEntry(b, 10+i, nil))
	}
	entries = append(entries, testenv.UserEntry("ou=deep,"+a, 99, nil))
	srv.AddEntries(t, entries)

	tests := []struct {
		name  string
		bases DNList
		scope string
		want  int
	}{
		{"two bases, sub", DNList{a, b}, "sub", 11},
		{"one level", DNList{a}, "one", 5},
		{"base object", DNList{"uid=user000099,ou=deep," + a}, "base", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := slapdConfig(srv, "")
			cfg.BaseDN, cfg.Scope, cfg.PageSize = tt.bases, tt.scope, 2
			recs, err := readAll(t, mustNew(t, cfg), sources.ReadRequest{Attributes: []string{"uid"}})
			if err != nil {
				t.Fatal(err)
			}
			if len(recs) != tt.want {
				t.Fatalf("%d records, want %d", len(recs), tt.want)
			}
			if len(tt.bases) == 2 && (!strings.HasSuffix(recs[0].DN, a) || !strings.HasSuffix(recs[len(recs)-1].DN, b)) {
				t.Errorf("bases not read in order: first %s, last %s", recs[0].DN, recs[len(recs)-1].DN)
			}
		})
	}
}

// TestIncompleteReads: every way a read can stop early ends in an error
// naming the base DN, never in a shorter read that looks complete.
func TestIncompleteReads(t *testing.T) {
	t.Parallel()
	srv := testenv.LDAP(t)
	parent := srv.Subtree(t)
	srv.AddEntries(t, conformanceEntries(parent, 100))

	tests := []struct {
		name   string
		mutate func(*Config)
		code   uint16 // LDAP result code expected in the chain; 0 = any
	}{
		{"base DN does not exist", func(c *Config) { c.BaseDN = DNList{parent, "ou=nope," + parent} }, ldap.LDAPResultNoSuchObject},
		{"size limit of the account", func(c *Config) {
			c.BindDN, c.BindPassword, c.PageSize = srv.LimitedDN, secret.New(srv.LimitedPassword), 10
		}, ldap.LDAPResultSizeLimitExceeded},
		{"page size above the server's limit", func(c *Config) {
			c.BindDN, c.BindPassword, c.PageSize = srv.ReaderDN, secret.New(srv.ReaderPassword), 2000
		}, ldap.LDAPResultAdminLimitExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := slapdConfig(srv, parent)
			cfg.Anchor = "uid"
			tt.mutate(&cfg)
			recs, err := readAll(t, mustNew(t, cfg), sources.ReadRequest{Attributes: []string{"mail"}})
			var re *ReadError
			if !errors.As(err, &re) {
				t.Fatalf("after %d records Err() = %v, want a *ReadError", len(recs), err)
			}
			if re.BaseDN == "" || re.Page < 1 || !strings.Contains(err.Error(), re.BaseDN) {
				t.Errorf("error %q does not name base DN and page", err)
			}
			if tt.code != 0 && !ldap.IsErrorWithCode(err, tt.code) {
				t.Errorf("Err() = %v, want LDAP result %d in the chain", err, tt.code)
			}
			t.Logf("%d records, then %v", len(recs), err)
		})
	}

	t.Run("connection killed mid-page", func(t *testing.T) {
		p := newCutProxy(t, strings.TrimPrefix(srv.URL, "ldap://"), 25)
		cfg := slapdConfig(srv, parent)
		cfg.URL, cfg.StartTLS, cfg.TLS, cfg.AllowPlaintext, cfg.Anchor, cfg.PageSize = p.URL(), false, TLSConfig{}, true, "uid", 10
		recs, err := readAll(t, mustNew(t, cfg), sources.ReadRequest{})
		var re *ReadError
		if !errors.As(err, &re) || re.Page != 3 || re.BaseDN != parent {
			t.Fatalf("after %d records Err() = %v, want a *ReadError for page 3 of %s", len(recs), err, parent)
		}
		if len(recs) != 20 {
			t.Errorf("%d records before the cut, want the 2 complete pages (20)", len(recs))
		}
	})

	t.Run("connection killed between pages", func(t *testing.T) {
		p := newCutProxy(t, strings.TrimPrefix(srv.URL, "ldap://"), -1)
		cfg := slapdConfig(srv, parent)
		cfg.URL, cfg.StartTLS, cfg.TLS, cfg.AllowPlaintext, cfg.Anchor, cfg.PageSize = p.URL(), false, TLSConfig{}, true, "uid", 10
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		r, err := mustNew(t, cfg).Open(ctx, sources.ReadRequest{})
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		for range 15 {
			if !r.Next() {
				t.Fatalf("read ended early: %v", r.Err())
			}
		}
		p.kill()
		for r.Next() {
		}
		if r.Err() == nil {
			t.Fatal("read through a killed connection ended with Err() == nil")
		}
	})
}

func TestCancelDuringSearch(t *testing.T) {
	t.Parallel()
	srv := testenv.LDAP(t)
	parent := srv.Subtree(t)
	srv.AddEntries(t, conformanceEntries(parent, 50))
	cfg := slapdConfig(srv, parent)
	cfg.Anchor, cfg.PageSize = "uid", 5
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r, err := mustNew(t, cfg).Open(ctx, sources.ReadRequest{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	n := 0
	for r.Next() {
		n++
		if n == 7 {
			cancel()
		}
	}
	if !errors.Is(r.Err(), context.Canceled) || n != 7 {
		t.Fatalf("after %d records Err() = %v, want context.Canceled right after the 7th", n, r.Err())
	}
}

// writeOtherCA writes a CA certificate that did not sign the server's.
func writeOtherCA(t *testing.T) string {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "not the slapd CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "other-ca.pem")
	if err := os.WriteFile(f, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestTLSAndBind(t *testing.T) {
	t.Parallel()
	srv := testenv.LDAP(t)
	parent := srv.Subtree(t)
	srv.AddEntries(t, conformanceEntries(parent, 3))
	otherCA := writeOtherCA(t)

	tests := []struct {
		name    string
		mutate  func(*Config)
		wantErr func(error) bool
		warn    string
	}{
		{"starttls", func(c *Config) {}, nil, ""},
		{"ldaps", func(c *Config) { c.URL, c.StartTLS = srv.LDAPSURL, false }, nil, ""},
		{"ldaps by host name", func(c *Config) {
			c.URL, c.StartTLS = strings.Replace(srv.LDAPSURL, "127.0.0.1", "localhost", 1), false
		}, nil, ""},
		{"plaintext allowed", func(c *Config) { c.StartTLS, c.TLS, c.AllowPlaintext = false, TLSConfig{}, true }, nil, "not encrypted"},
		{"insecure skip verify", func(c *Config) { c.TLS = TLSConfig{InsecureSkipVerify: true} }, nil, "not verified"},
		{"ldaps untrusted CA", func(c *Config) { c.URL, c.StartTLS, c.TLS.CAFile = srv.LDAPSURL, false, otherCA }, isTLSError, ""},
		{"starttls untrusted CA", func(c *Config) { c.TLS.CAFile = otherCA }, isTLSError, ""},
		{"starttls system roots", func(c *Config) { c.TLS.CAFile = "" }, isTLSError, ""},
		{"ldaps wrong server name", func(c *Config) { c.URL, c.StartTLS, c.TLS.ServerName = srv.LDAPSURL, false, "ldap.example.com" }, isTLSError, ""},
		{"wrong password", func(c *Config) { c.BindPassword = secret.New("wrong") }, isBadCredentials, ""},
		{"unknown bind DN", func(c *Config) { c.BindDN = "cn=nobody," + srv.BaseDN }, isBadCredentials, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := slapdConfig(srv, parent)
			cfg.Anchor = "uid"
			tt.mutate(&cfg)
			core, logs := observer.New(zap.WarnLevel)
			src, err := New(cfg, zap.New(core))
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			r, err := src.Open(context.Background(), sources.ReadRequest{})
			if tt.wantErr != nil {
				if err == nil {
					r.Close()
					t.Fatal("Open succeeded, want an error")
				}
				if !tt.wantErr(err) {
					t.Fatalf("Open: %v (%T), wrong kind of error", err, err)
				}
				if d := time.Since(start); d > 200*time.Millisecond {
					t.Logf("failing Open took %s (retried?)", d)
				}
				if strings.Contains(err.Error(), srv.Password) {
					t.Errorf("error leaks the password: %v", err)
				}
				t.Logf("%v", err)
				return
			}
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			defer r.Close()
			n := 0
			for r.Next() {
				n++
			}
			if r.Err() != nil || n != 3 {
				t.Fatalf("%d records, Err %v", n, r.Err())
			}
			if tt.warn != "" && logs.FilterMessageSnippet(tt.warn).Len() != 1 {
				t.Errorf("want one warning containing %q, got %v", tt.warn, logs.All())
			}
			if tt.warn == "" && logs.Len() != 0 {
				t.Errorf("unexpected warnings: %v", logs.All())
			}
		})
	}
}

func isTLSError(err error) bool {
	var te *TLSError
	return errors.As(err, &te) && !transient(err)
}

func isBadCredentials(err error) bool {
	var be *BindError
	return errors.As(err, &be) && be.InvalidCredentials() && !transient(err)
}

func TestDialRetry(t *testing.T) {
	t.Parallel()
	// A port nobody listens on: refused at once, retried, then reported.
	cfg := Config{URL: "ldap://127.0.0.1:1", AllowPlaintext: true, BaseDN: DNList{"dc=x"}}
	core, logs := observer.New(zap.InfoLevel)
	src, err := New(cfg, zap.New(core))
	if err != nil {
		t.Fatal(err)
	}
	src.backoff = time.Millisecond
	_, err = src.Open(context.Background(), sources.ReadRequest{})
	if err == nil || !transient(err) {
		t.Fatalf("Open = %v, want a transient connect error", err)
	}
	if n := logs.FilterMessage("ldap connect failed, retrying").Len(); n != dialAttempts-1 {
		t.Errorf("%d retries logged, want %d", n, dialAttempts-1)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := src.Open(ctx, sources.ReadRequest{}); !errors.Is(err, context.Canceled) {
		t.Errorf("Open with a cancelled context = %v", err)
	}
}
