package ldapsource

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/syncd/syncd/internal/secret"
	"github.com/syncd/syncd/internal/testenv"
	"github.com/syncd/syncd/sources"
)

func adConfig(srv testenv.ADServer, base string) Config {
	return Config{
		URL: srv.LDAPSURL, TLS: TLSConfig{CAFile: srv.CAFile},
		BindDN: srv.BindDN, BindPassword: secret.New(srv.Password),
		BaseDN: DNList{base}, Anchor: "objectGUID", Timeout: time.Minute,
	}
}

// samPrefix is a short prefix unique to this test run (sAMAccountName is
// unique domain-wide and at most 20 characters).
func samPrefix(parent string) string {
	i := strings.LastIndexByte(strings.SplitN(parent, ",", 2)[0], '-')
	return "t" + parent[i+1:i+7]
}

var guidLine = regexp.MustCompile(`(?m)^objectGUID: ([0-9a-f-]{36})$`)

// TestADObjectGUIDAndDisabled checks, against Samba AD, that objectGUID
// decodes to what samba-tool prints and that disabled accounts show it in
// userAccountControl, over LDAPS and StartTLS.
func TestADObjectGUIDAndDisabled(t *testing.T) {
	t.Parallel()
	srv := testenv.AD(t)
	parent := srv.Subtree(t)
	p := samPrefix(parent)
	srv.AddEntries(t, []testenv.LDAPEntry{
		testenv.ADUser(parent, p+"-on", false, nil),
		testenv.ADUser(parent, p+"-off", true, nil),
		testenv.ADUser(parent, p+"-later", false, nil),
	})
	samba := func(args ...string) string {
		t.Helper()
		out, err := exec.Command("samba-tool", append(args, "-s", srv.SmbConf)...).CombinedOutput()
		if err != nil {
			t.Fatalf("samba-tool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	if _, err := os.Stat(srv.SmbConf); err != nil {
		testenv.Unavailable(t, "samba-tool with the DC's smb.conf", err)
	}
	samba("user", "disable", p+"-later") // the way an admin disables

	for _, mode := range []string{"ldaps", "starttls"} {
		t.Run(mode, func(t *testing.T) {
			cfg := adConfig(srv, parent)
			if mode == "starttls" {
				cfg.URL, cfg.StartTLS = srv.URL, true
			}
			recs, err := readAll(t, mustNew(t, cfg), sources.ReadRequest{Attributes: []string{"samaccountname", "objectsid"}})
			if err != nil {
				t.Fatal(err)
			}
			if len(recs) != 3 {
				t.Fatalf("%d records, want 3", len(recs))
			}
			for _, r := range recs {
				sam := r.Get("samaccountname")
				m := guidLine.FindStringSubmatch(samba("user", "show", sam))
				if m == nil || r.Anchor != m[1] || r.Get("objectguid") != m[1] {
					t.Errorf("%s: anchor %q, samba-tool says objectGUID %v", sam, r.Anchor, m)
				}
				if !strings.HasPrefix(r.Get("objectsid"), "S-1-5-21-") {
					t.Errorf("%s: objectsid %q", sam, r.Get("objectsid"))
				}
				uac, err := strconv.Atoi(r.Get("useraccountcontrol"))
				if err != nil {
					t.Fatalf("%s: userAccountControl %q not requested/exposed: %v", sam, r.Get("useraccountcontrol"), err)
				}
				if disabled, want := uac&2 != 0, !strings.HasSuffix(sam, "-on"); disabled != want {
					t.Errorf("%s: userAccountControl %d: disabled=%v, want %v", sam, uac, disabled, want)
				}
			}
		})
	}
}

func TestADPagedRead(t *testing.T) {
	t.Parallel()
	srv := testenv.AD(t)
	parent := srv.Subtree(t)
	p := samPrefix(parent)
	const n = 120
	entries := make([]testenv.LDAPEntry, n)
	for i := range entries {
		entries[i] = testenv.ADUser(parent, fmt.Sprintf("%s-%03d", p, i), i%10 == 9, nil)
	}
	start := time.Now()
	srv.AddEntries(t, entries)
	t.Logf("added %d AD users in %s", n, time.Since(start).Round(time.Millisecond))
	cfg := adConfig(srv, parent)
	cfg.PageSize = 25
	recs, err := readAll(t, mustNew(t, cfg), sources.ReadRequest{Attributes: []string{"mail"}})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	disabled := 0
	for _, r := range recs {
		if r.Reject != "" || seen[r.Anchor] || len(r.Anchor) != 36 {
			t.Errorf("record %+v", r)
		}
		seen[r.Anchor] = true
		if uac, _ := strconv.Atoi(r.Get("useraccountcontrol")); uac&2 != 0 {
			disabled++
		}
	}
	if len(recs) != n || disabled != n/10 {
		t.Errorf("%d records (%d disabled), want %d (%d)", len(recs), disabled, n, n/10)
	}

	t.Run("wrong base DN", func(t *testing.T) {
		cfg := adConfig(srv, "OU=nope,"+parent)
		recs, err := readAll(t, mustNew(t, cfg), sources.ReadRequest{})
		var re *ReadError
		if !errors.As(err, &re) || len(recs) != 0 {
			t.Fatalf("%d records, Err %v; want a *ReadError", len(recs), err)
		}
	})
	t.Run("bad password", func(t *testing.T) {
		cfg := adConfig(srv, parent)
		cfg.BindPassword = secret.New("wrong")
		_, err := mustNew(t, cfg).Open(t.Context(), sources.ReadRequest{})
		if !isBadCredentials(err) {
			t.Fatalf("Open = %v, want a *BindError for invalid credentials", err)
		}
	})
}
