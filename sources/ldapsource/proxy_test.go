package ldapsource

import (
	"errors"
	"io"
	"net"
	"sync"
	"testing"
)

// cutProxy is a TCP proxy between the source and a real server that kills
// both connections once it has forwarded `after` SearchResultEntry
// messages (after < 0: never). It parses the LDAP message framing (BER) of
// the server's stream to count entries; it works on ldap:// only.
type cutProxy struct {
	ln    net.Listener
	after int

	mu    sync.Mutex
	conns []net.Conn
	cut   bool
}

func newCutProxy(t *testing.T, target string, after int) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln, after: after}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		_ = ln.Close()
		p.kill()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				_ = c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, s)
			p.mu.Unlock()
			wg.Go(func() { _, _ = io.Copy(s, c); _ = s.Close() })
			wg.Go(func() { p.serverToClient(s, c) })
		}
	})
	return p
}

// URL is the ldap:// URL of the proxy.
func (p *cutProxy) URL() string { return "ldap://" + p.ln.Addr().String() }

// kill closes every proxied connection now.
func (p *cutProxy) kill() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = true
	for _, c := range p.conns {
		_ = c.Close()
	}
}

func (p *cutProxy) serverToClient(s, c net.Conn) {
	defer func() { _ = c.Close(); _ = s.Close() }()
	entries := 0
	for {
		msg, op, err := readMessage(s)
		if err != nil {
			return
		}
		if op == 0x64 { // SearchResultEntry
			if p.after >= 0 && entries >= p.after {
				p.kill()
				return
			}
			entries++
		}
		if _, err := c.Write(msg); err != nil {
			return
		}
	}
}

// readMessage reads one LDAPMessage (SEQUENCE { messageID, protocolOp, ... })
// and returns its bytes and the protocolOp tag.
func readMessage(r io.Reader) (msg []byte, op byte, err error) {
	hdr := make([]byte, 2, 16)
	if _, err := io.ReadFull(r, hdr); err != nil {
		return nil, 0, err
	}
	if hdr[0] != 0x30 {
		return nil, 0, errors.New("not a SEQUENCE")
	}
	n := int(hdr[1])
	if n&0x80 != 0 {
		k := n & 0x7f
		if k == 0 || k > 4 {
			return nil, 0, errors.New("bad length")
		}
		lb := make([]byte, k)
		if _, err := io.ReadFull(r, lb); err != nil {
			return nil, 0, err
		}
		hdr = append(hdr, lb...)
		n = 0
		for _, b := range lb {
			n = n<<8 | int(b)
		}
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		return nil, 0, err
	}
	// messageID: INTEGER tag 0x02, short length
	if len(body) < 2 || body[0] != 0x02 || int(body[1])+2 >= len(body) {
		return nil, 0, errors.New("bad messageID")
	}
	op = body[2+int(body[1])]
	return append(hdr, body...), op, nil
}
