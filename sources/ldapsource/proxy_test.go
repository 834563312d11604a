package ldapsource

import (
	"bufio"
	"io"
	"net"
	"sync"
	"sync/atomic"
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
	held  bool // new connections are closed at once

	sent atomic.Int64 // bytes from the clients to the server
}

// countingWriter counts what it passes on.
type countingWriter struct {
	w io.Writer
	n *atomic.Int64
}

func (c countingWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n.Add(int64(n))
	return n, err
}

func newCutProxy(t testing.TB, target string, after int) *cutProxy {
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
			p.mu.Lock()
			held := p.held
			p.mu.Unlock()
			if held {
				_ = c.Close()
				continue
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				_ = c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, s)
			p.mu.Unlock()
			wg.Go(func() { _, _ = io.Copy(countingWriter{s, &p.sent}, c); _ = s.Close() })
			wg.Go(func() { p.serverToClient(s, c) })
		}
	})
	return p
}

// URL is the ldap:// URL of the proxy.
func (p *cutProxy) URL() string { return "ldap://" + p.ln.Addr().String() }

// hold refuses (closes at once) new connections while on.
func (p *cutProxy) hold(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.held = on
}

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
	br := bufio.NewReader(s)
	var buf []byte
	for {
		msg, err := readMessage(br, &buf)
		if err != nil {
			return
		}
		if messageOp(msg) == tagSearchResultEntry {
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
