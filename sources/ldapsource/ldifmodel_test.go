package ldapsource

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/go-ldap/ldap/v3"
	"go.uber.org/zap"

	"github.com/syncd/syncd/internal/testenv"
	"github.com/syncd/syncd/sources"
	"github.com/syncd/syncd/sources/ldifsource"
)

// TestLDIFAndLiveReadAgreeOnTaggedAttributes: `syncd map` reads an LDIF
// export, a sync reads slapd; for the same entry both must give the same
// attributes, a language-tagged value kept apart from the untagged one.
func TestLDIFAndLiveReadAgreeOnTaggedAttributes(t *testing.T) {
	t.Parallel()
	srv := testenv.LDAP(t)
	parent := srv.Subtree(t)
	dn := "uid=tagged," + parent
	add := ldap.NewAddRequest(dn, nil)
	add.Attribute("objectClass", []string{"inetOrgPerson"})
	add.Attribute("uid", []string{"tagged"})
	add.Attribute("cn", []string{"Jörg Bär"})
	add.Attribute("sn", []string{"Bär"})
	add.Attribute("givenName", []string{"Jörg"})
	add.Attribute("givenName;lang-de", []string{"ä "})
	if err := srv.Conn(t).Add(add); err != nil {
		t.Fatal(err)
	}
	res, err := srv.Conn(t).Search(ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, 0, 0, 0, false,
		"(objectClass=*)", []string{"entryUUID"}, nil))
	if err != nil || len(res.Entries) != 1 {
		t.Fatalf("entryUUID: %v", err)
	}
	uuid := res.Entries[0].GetAttributeValue("entryUUID")

	live, err := readAll(t, mustNew(t, slapdConfig(srv, parent)), sources.ReadRequest{Attributes: []string{"givenName", "sn"}})
	if err != nil || len(live) != 1 {
		t.Fatalf("live read: %d records, %v", len(live), err)
	}
	ldif := "version: 1\n\ndn: " + dn + "\nobjectClass: inetOrgPerson\nuid: tagged\ncn: Jörg Bär\nsn: Bär\n" +
		"givenName: Jörg\ngivenName;lang-de:: w6Qg\nentryUUID: " + uuid + "\n"
	path := filepath.Join(t.TempDir(), "export.ldif")
	if err := os.WriteFile(path, []byte(ldif), 0o600); err != nil {
		t.Fatal(err)
	}
	lsrc, err := ldifsource.New(ldifsource.Config{Path: path}, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	file, err := readAll(t, lsrc, sources.ReadRequest{})
	if err != nil || len(file) != 1 {
		t.Fatalf("ldif read: %d records, %v", len(file), err)
	}
	for _, name := range []string{"givenname", "givenname;lang-de", "sn", "entryuuid"} {
		l, f := live[0].Attrs[name], file[0].Attrs[name]
		if len(l) != 1 || len(f) != 1 || l[0] != f[0] {
			t.Errorf("%s: live read %q, LDIF %q; want the same single value", name, l, f)
		}
	}
	if live[0].Anchor != file[0].Anchor || live[0].Anchor == "" {
		t.Errorf("anchors: live %q, LDIF %q", live[0].Anchor, file[0].Anchor)
	}
}
