package testenv

import (
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// LDAPServer is the throwaway OpenLDAP slapd started by .ci/start-slapd.sh.
// Its fields come from the SYNCD_TEST_LDAP_* variables the script prints,
// with defaults matching the script's defaults.
type LDAPServer struct {
	URL      string // ldap:// URL (StartTLS offered), SYNCD_TEST_LDAP_URL
	LDAPSURL string // ldaps:// URL, SYNCD_TEST_LDAPS_URL
	CAFile   string // PEM file of the CA that signed the server cert, SYNCD_TEST_LDAP_CA_FILE
	BindDN   string // rootdn: may write anywhere, has no limits, SYNCD_TEST_LDAP_BIND_DN
	Password string // SYNCD_TEST_LDAP_BIND_PASSWORD
	BaseDN   string // the suffix, SYNCD_TEST_LDAP_BASE_DN

	// ReaderDN may read everything with no size limit; LimitedDN may read
	// at most 20 entries per search (sizeLimitExceeded beyond). Both are
	// created by the script below BaseDN.
	ReaderDN, ReaderPassword   string
	LimitedDN, LimitedPassword string
}

// LDAP returns the test slapd, after checking that it answers a bind; when
// it does not, the test ends through Unavailable.
func LDAP(t testing.TB) LDAPServer {
	t.Helper()
	base := Getenv("SYNCD_TEST_LDAP_BASE_DN", "dc=syncd,dc=test")
	s := LDAPServer{
		URL:             Getenv("SYNCD_TEST_LDAP_URL", "ldap://127.0.0.1:3389"),
		LDAPSURL:        Getenv("SYNCD_TEST_LDAPS_URL", "ldaps://127.0.0.1:3636"),
		CAFile:          Getenv("SYNCD_TEST_LDAP_CA_FILE", "/tmp/syncd-slapd/tls/ca.crt"),
		BindDN:          Getenv("SYNCD_TEST_LDAP_BIND_DN", "cn=admin,"+base),
		Password:        Getenv("SYNCD_TEST_LDAP_BIND_PASSWORD", "syncd-test-admin"),
		BaseDN:          base,
		ReaderDN:        "cn=reader," + base,
		ReaderPassword:  "syncd-test-reader",
		LimitedDN:       "cn=limited," + base,
		LimitedPassword: "syncd-test-limited",
	}
	c, err := s.dial()
	if err != nil {
		Unavailable(t, "OpenLDAP slapd (bash .ci/start-slapd.sh)", err)
	}
	_ = c.Close()
	return s
}

func (s LDAPServer) dial() (*ldap.Conn, error) { return bindDial(s.URL, s.BindDN, s.Password) }

// bindDial opens a connection to url bound as dn (both test servers).
func bindDial(url, dn, password string) (*ldap.Conn, error) {
	c, err := ldap.DialURL(url, ldap.DialWithDialer(dialer()))
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", url, err)
	}
	c.SetTimeout(30 * time.Second)
	if err := c.Bind(dn, password); err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("bind %s as %s: %w", url, dn, err)
	}
	return c, nil
}

// Conn returns a connection bound as BindDN, closed when the test ends.
func (s LDAPServer) Conn(t testing.TB) *ldap.Conn {
	t.Helper()
	c, err := s.dial()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// CAPool returns the server CA as a cert pool.
func (s LDAPServer) CAPool(t testing.TB) *x509.CertPool {
	t.Helper()
	return caPool(t, s.CAFile)
}

// TLSConfig returns a client TLS config that trusts the server CA.
func (s LDAPServer) TLSConfig(t testing.TB) *tls.Config {
	t.Helper()
	return &tls.Config{RootCAs: s.CAPool(t), ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
}

func caPool(t testing.TB, file string) *x509.CertPool {
	t.Helper()
	pem, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("read CA file: %v", err)
	}
	p := x509.NewCertPool()
	if !p.AppendCertsFromPEM(pem) {
		t.Fatalf("CA file %s: no certificate", file)
	}
	return p
}

// Subtree creates an organizationalUnit of its own for the test below
// BaseDN, named after the test plus a random suffix, and deletes it with
// everything below it when the test ends. Tests that work only inside their
// subtree are isolated from each other and may run in parallel.
func (s LDAPServer) Subtree(t testing.TB) string {
	t.Helper()
	return subtree(t, s.Conn(t), s.BaseDN, "organizationalUnit", "ou", s.dial)
}

func subtree(t testing.TB, c *ldap.Conn, base, class, attr string, dial func() (*ldap.Conn, error)) string {
	t.Helper()
	name := SubtreeName(t)
	dn := attr + "=" + ldap.EscapeDN(name) + "," + base
	add := ldap.NewAddRequest(dn, nil)
	add.Attribute("objectClass", []string{class})
	add.Attribute(attr, []string{name})
	if err := c.Add(add); err != nil {
		t.Fatalf("create test subtree %s: %v", dn, err)
	}
	t.Cleanup(func() {
		if err := DeleteTree(dial, dn); err != nil {
			t.Errorf("delete test subtree %s: %v", dn, err)
		}
	})
	return dn
}

// SubtreeName returns a name for a test's own subtree: the test name cut
// to a safe alphabet plus random hex, unique per call.
func SubtreeName(t testing.TB) string {
	var b strings.Builder
	for _, r := range t.Name() {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	name := b.String()
	if len(name) > 40 {
		name = name[:40]
	}
	rnd := make([]byte, 4)
	_, _ = rand.Read(rnd)
	return name + "-" + hex.EncodeToString(rnd)
}

// Fixture returns ou=<name>,BaseDN holding the entries gen(parent)
// returns, loading them only when the subtree is not there yet or was
// loaded by a different version (version is stored in the subtree's
// description, written last). Fixtures are shared and read-only: tests
// must not modify them, and they stay in the server between runs, so only
// the first run pays for loading large data sets.
func (s LDAPServer) Fixture(t testing.TB, name, version string, gen func(parent string) []LDAPEntry) string {
	t.Helper()
	dn := "ou=" + ldap.EscapeDN(name) + "," + s.BaseDN
	return fixture(t, s.Conn(t), s.dial, dn, name, version, "fixture", func(parent string) [][]LDAPEntry {
		return [][]LDAPEntry{gen(parent)}
	})
}

// fixture loads the subtree dn (an organizational unit named name) unless
// its description already says it is complete at version: it deletes what
// is there, adds the OU, then the entries of each batch gen returns in
// order, and writes the marker last, so an interrupted load is redone.
func fixture(t testing.TB, c *ldap.Conn, dial func() (*ldap.Conn, error), dn, name, version, what string, gen func(parent string) [][]LDAPEntry) string {
	t.Helper()
	marker := "syncd test fixture, complete: " + version
	res, err := c.Search(ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=*)", []string{"description"}, nil))
	if err == nil && len(res.Entries) == 1 && res.Entries[0].GetAttributeValue("description") == marker {
		return dn
	}
	if err := DeleteTree(dial, dn); err != nil {
		t.Fatalf("fixture %s: %v", dn, err)
	}
	start := time.Now()
	batches := append([][]LDAPEntry{{{DN: dn, Attrs: map[string][]string{"objectClass": {"organizationalUnit"}, "ou": {name}}}}}, gen(dn)...)
	n := 0
	for _, b := range batches {
		if err := AddEntries(dial, b); err != nil {
			t.Fatalf("fixture %s: %v", dn, err)
		}
		n += len(b)
	}
	mod := ldap.NewModifyRequest(dn, nil)
	mod.Replace("description", []string{marker})
	if err := c.Modify(mod); err != nil {
		t.Fatalf("fixture %s: %v", dn, err)
	}
	t.Logf("loaded %s %s (%d entries) in %s", what, dn, n, time.Since(start).Round(time.Millisecond))
	return dn
}

// Dial returns a new connection bound as BindDN (for AddEntries and
// DeleteTree); the caller closes it.
func (s LDAPServer) Dial() (*ldap.Conn, error) { return s.dial() }

// LDAPEntry is one entry to add: its DN and attributes (objectClass included).
type LDAPEntry struct {
	DN    string
	Attrs map[string][]string
}

// bulkWorkers is how many connections AddEntries and DeleteTree use: slapd
// serialises mdb writes, but parallel connections keep it busy while the
// client encodes the next request.
const bulkWorkers = 4

// AddEntries adds entries in order, parents before children: entries are
// grouped by DN depth and each depth is added over several connections.
func (s LDAPServer) AddEntries(t testing.TB, entries []LDAPEntry) {
	t.Helper()
	if err := AddEntries(s.dial, entries); err != nil {
		t.Fatal(err)
	}
}

// AddEntries adds entries through connections made by dial, parents first.
func AddEntries(dial func() (*ldap.Conn, error), entries []LDAPEntry) error {
	byDepth := map[int][]LDAPEntry{}
	var depths []int
	for _, e := range entries {
		d := dnDepth(e.DN)
		if _, ok := byDepth[d]; !ok {
			depths = append(depths, d)
		}
		byDepth[d] = append(byDepth[d], e)
	}
	sort.Ints(depths)
	for _, d := range depths {
		level := byDepth[d]
		err := parallel(dial, len(level), func(c *ldap.Conn, i int) error {
			e := level[i]
			req := ldap.NewAddRequest(e.DN, nil)
			names := make([]string, 0, len(e.Attrs))
			for k := range e.Attrs {
				names = append(names, k)
			}
			sort.Strings(names)
			for _, k := range names {
				req.Attribute(k, e.Attrs[k])
			}
			if err := c.Add(req); err != nil {
				return fmt.Errorf("add %s: %w", e.DN, err)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// DeleteTree deletes dn and everything below it, deepest entries first.
// A dn that does not exist is not an error.
func DeleteTree(dial func() (*ldap.Conn, error), dn string) error {
	c, err := dial()
	if err != nil {
		return err
	}
	req := ldap.NewSearchRequest(dn, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=*)", []string{"1.1"}, nil)
	res, err := c.SearchWithPaging(req, 1000)
	_ = c.Close()
	if ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("list %s: %w", dn, err)
	}
	byDepth := map[int][]string{}
	var depths []int
	for _, e := range res.Entries {
		d := dnDepth(e.DN)
		if _, ok := byDepth[d]; !ok {
			depths = append(depths, d)
		}
		byDepth[d] = append(byDepth[d], e.DN)
	}
	sort.Sort(sort.Reverse(sort.IntSlice(depths)))
	for _, d := range depths {
		level := byDepth[d]
		err := parallel(dial, len(level), func(c *ldap.Conn, i int) error {
			if err := c.Del(ldap.NewDelRequest(level[i], nil)); err != nil &&
				!ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
				return fmt.Errorf("delete %s: %w", level[i], err)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// parallel runs fn(conn, i) for i in [0, n) over up to bulkWorkers
// connections and returns the first error.
func parallel(dial func() (*ldap.Conn, error), n int, fn func(c *ldap.Conn, i int) error) error {
	workers := min(bulkWorkers, (n+49)/50)
	if workers < 1 {
		workers = 1
	}
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
		next     int
	)
	take := func() (int, bool) {
		mu.Lock()
		defer mu.Unlock()
		if firstErr != nil || next >= n {
			return 0, false
		}
		next++
		return next - 1, true
	}
	fail := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		if firstErr == nil {
			firstErr = err
		}
	}
	for range workers {
		wg.Go(func() {
			c, err := dial()
			if err != nil {
				fail(err)
				return
			}
			defer c.Close()
			for {
				i, ok := take()
				if !ok {
					return
				}
				if err := fn(c, i); err != nil {
					fail(err)
					return
				}
			}
		})
	}
	wg.Wait()
	return firstErr
}

// dnDepth counts the RDNs of dn (escaped commas are not separators).
func dnDepth(dn string) int {
	n := 1
	for i := 0; i < len(dn); i++ {
		switch dn[i] {
		case '\\':
			i++
		case ',':
			n++
		}
	}
	return n
}

// UserEntry returns an inetOrgPerson below parent for test user i: uid
// "user<i>", mail "user<i>@example.test", employeeNumber i, plus extra
// attributes (which override those). Use it with AddEntries.
func UserEntry(parent string, i int, extra map[string][]string) LDAPEntry {
	uid := fmt.Sprintf("user%06d", i)
	attrs := map[string][]string{
		"objectClass":    {"inetOrgPerson"},
		"uid":            {uid},
		"cn":             {fmt.Sprintf("User %d", i)},
		"sn":             {"User"},
		"givenName":      {fmt.Sprintf("Test%d", i)},
		"mail":           {uid + "@example.test"},
		"employeeNumber": {fmt.Sprint(i)},
	}
	for k, v := range extra {
		attrs[k] = v
	}
	return LDAPEntry{DN: "uid=" + uid + "," + parent, Attrs: attrs}
}

func dialer() *net.Dialer { return &net.Dialer{Timeout: 5 * time.Second} }
