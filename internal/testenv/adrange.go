package testenv

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/go-ldap/ldap/v3"
)

// Fixture returns OU=<name>,BaseDN holding the entries of each batch
// gen(parent) returns, the batches added in order (AD refuses a member
// value naming an entry that does not exist yet: users first, then the
// groups holding them, then the groups holding those). Like
// LDAPServer.Fixture, it loads them only when the OU is missing or was
// loaded by another version, and it stays in the DC between runs: Samba
// adds users slowly, so only the first run pays. Tests must not modify it.
func (s ADServer) Fixture(t testing.TB, name, version string, gen func(parent string) [][]LDAPEntry) string {
	t.Helper()
	return fixture(t, s.Conn(t), s.Dial, "OU="+ldap.EscapeDN(name)+","+s.BaseDN, name, version, "AD fixture", gen)
}

// RangeProxy is a TCP proxy in front of the DC's plain ldap:// port that
// does what Samba does not and Active Directory does (MaxValRange, see
// ../shared/reference/ldap-test-servers.md §2): a search result entry
// whose member attribute, asked for without a range, holds more than Max
// values is cut to its first Max, named "member;range=0-<Max-1>". The
// client must then ask for "member;range=<Max>-*" itself, which Samba
// honours. Everything else passes unchanged.
type RangeProxy struct {
	Max int
	ln  net.Listener
	mu  sync.Mutex
	cut int // entries whose member attribute the proxy cut
}

// NewRangeProxy starts a RangeProxy to the DC's ldap:// URL, closed when
// the test ends.
func (s ADServer) NewRangeProxy(t testing.TB, max int) *RangeProxy {
	t.Helper()
	target, ok := strings.CutPrefix(s.URL, "ldap://")
	if !ok {
		t.Fatalf("range proxy: the DC's URL %q is not ldap://", s.URL)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &RangeProxy{Max: max, ln: ln}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			sc, err := net.DialTimeout("tcp", target, 5*time.Second)
			if err != nil {
				_ = c.Close()
				continue
			}
			mu.Lock()
			conns = append(conns, c, sc)
			mu.Unlock()
			wg.Go(func() { _, _ = io.Copy(sc, c); _ = sc.Close() })
			wg.Go(func() { p.serverToClient(sc, c) })
		}
	})
	return p
}

// URL is the proxy's ldap:// URL.
func (p *RangeProxy) URL() string { return "ldap://" + p.ln.Addr().String() }

// Cut is how many entries' member attribute the proxy has cut so far.
func (p *RangeProxy) Cut() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cut
}

func (p *RangeProxy) serverToClient(s, c net.Conn) {
	defer func() { _ = c.Close(); _ = s.Close() }()
	br := bufio.NewReaderSize(s, 64<<10)
	for {
		pkt, err := ber.ReadPacket(br)
		if err != nil {
			return
		}
		p.cutMembers(pkt)
		if _, err := c.Write(pkt.Bytes()); err != nil {
			return
		}
	}
}

// cutMembers cuts a SearchResultEntry's plain member attribute past Max
// values (RFC 4511 §4.5.2: LDAPMessage{id, [APPLICATION 4] {objectName,
// attributes SEQUENCE OF {type, vals SET OF}}}).
func (p *RangeProxy) cutMembers(msg *ber.Packet) bool {
	if len(msg.Children) < 2 {
		return false
	}
	op := msg.Children[1]
	if op.ClassType != ber.ClassApplication || op.Tag != ldap.ApplicationSearchResultEntry || len(op.Children) < 2 {
		return false
	}
	changed := false
	for _, attr := range op.Children[1].Children {
		if len(attr.Children) < 2 {
			continue
		}
		name, _ := attr.Children[0].Value.(string)
		vals := attr.Children[1]
		if !strings.EqualFold(name, "member") || len(vals.Children) <= p.Max {
			continue
		}
		typ := ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, fmt.Sprintf("%s;range=0-%d", name, p.Max-1), "type")
		set := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSet, nil, "vals")
		for _, v := range vals.Children[:p.Max] {
			set.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, v.Data.String(), "val"))
		}
		attr.Children = nil
		attr.Data.Reset()
		attr.AppendChild(typ)
		attr.AppendChild(set)
		changed = true
	}
	if !changed {
		return false
	}
	// Rebuild the enclosing packets' encodings from their children.
	rebuild(msg)
	p.mu.Lock()
	p.cut++
	p.mu.Unlock()
	return true
}

// rebuild re-encodes a constructed packet's data from its children,
// deepest first.
func rebuild(pkt *ber.Packet) {
	if pkt.TagType != ber.TypeConstructed {
		return
	}
	pkt.Data.Reset()
	for _, ch := range pkt.Children {
		rebuild(ch)
		pkt.Data.Write(ch.Bytes())
	}
}
