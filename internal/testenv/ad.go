package testenv

import (
	"errors"
	"os"
	"testing"

	"github.com/go-ldap/ldap/v3"
)

// ADServer is the throwaway Samba AD DC started by .ci/start-samba-ad.sh.
// Its fields come from the SYNCD_TEST_AD_* variables the script prints.
type ADServer struct {
	URL      string // ldap:// (simple bind allowed, StartTLS offered), SYNCD_TEST_AD_URL
	LDAPSURL string // SYNCD_TEST_AD_LDAPS_URL
	CAFile   string // SYNCD_TEST_AD_CA_FILE
	BindDN   string // Administrator@REALM, SYNCD_TEST_AD_BIND_DN
	Password string // SYNCD_TEST_AD_BIND_PASSWORD
	BaseDN   string // the domain naming context, SYNCD_TEST_AD_BASE_DN
	SmbConf  string // smb.conf for local samba-tool calls, SYNCD_TEST_AD_SMB_CONF
}

// AD returns the test Samba AD DC. AD tests need SYNCD_TEST_AD_URL: when
// it is unset, or set but the DC does not answer, the test ends through
// Unavailable: skipped on a developer's machine, failed under CI (which
// starts Samba in .ci/run), so CI can never pass by skipping them.
func AD(t testing.TB) ADServer {
	t.Helper()
	url := os.Getenv("SYNCD_TEST_AD_URL")
	if url == "" {
		Unavailable(t, "Samba AD DC (run bash .ci/start-samba-ad.sh and export the SYNCD_TEST_AD_* lines it prints)",
			errors.New("SYNCD_TEST_AD_URL is unset"))
	}
	state := "/tmp/syncd-samba"
	s := ADServer{
		URL:      url,
		LDAPSURL: Getenv("SYNCD_TEST_AD_LDAPS_URL", "ldaps://127.0.0.1:636"),
		CAFile:   Getenv("SYNCD_TEST_AD_CA_FILE", state+"/tls/ca.crt"),
		BindDN:   Getenv("SYNCD_TEST_AD_BIND_DN", "Administrator@AD.SYNCD.TEST"),
		Password: Getenv("SYNCD_TEST_AD_BIND_PASSWORD", "Syncd-Test-Admin1"),
		BaseDN:   Getenv("SYNCD_TEST_AD_BASE_DN", "DC=ad,DC=syncd,DC=test"),
		SmbConf:  Getenv("SYNCD_TEST_AD_SMB_CONF", state+"/etc/smb.conf"),
	}
	c, err := s.Dial()
	if err != nil {
		Unavailable(t, "Samba AD DC (bash .ci/start-samba-ad.sh)", err)
	}
	_ = c.Close()
	return s
}

// Dial returns a new connection bound as BindDN; the caller closes it.
func (s ADServer) Dial() (*ldap.Conn, error) { return bindDial(s.URL, s.BindDN, s.Password) }

// Conn returns a connection bound as BindDN, closed when the test ends.
func (s ADServer) Conn(t testing.TB) *ldap.Conn {
	t.Helper()
	c, err := s.Dial()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// Subtree creates an OU of the test's own below BaseDN and deletes it with
// everything in it when the test ends.
func (s ADServer) Subtree(t testing.TB) string {
	t.Helper()
	return subtree(t, s.Conn(t), s.BaseDN, "organizationalUnit", "OU", s.Dial)
}

// AddEntries adds entries, parents first, over several connections.
// Samba is slow to add users (and slower the more it holds): keep AD
// fixtures small (hundreds, at most a couple of thousand).
func (s ADServer) AddEntries(t testing.TB, entries []LDAPEntry) {
	t.Helper()
	if err := AddEntries(s.Dial, entries); err != nil {
		t.Fatal(err)
	}
}

// ADUser returns an AD user below parent with sAMAccountName sam.
// userAccountControl is 544 (NORMAL_ACCOUNT | PASSWD_NOTREQD), or 546 with
// ACCOUNTDISABLE when disabled.
func ADUser(parent, sam string, disabled bool, extra map[string][]string) LDAPEntry {
	uac := "544"
	if disabled {
		uac = "546"
	}
	attrs := map[string][]string{
		"objectClass":        {"user"},
		"sAMAccountName":     {sam},
		"userPrincipalName":  {sam + "@example.test"},
		"mail":               {sam + "@example.test"},
		"givenName":          {"Test"},
		"sn":                 {sam},
		"userAccountControl": {uac},
	}
	for k, v := range extra {
		attrs[k] = v
	}
	return LDAPEntry{DN: "CN=" + ldap.EscapeDN(sam) + "," + parent, Attrs: attrs}
}
