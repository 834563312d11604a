package ldapsource

import (
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jimlambrt/gldap"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/syncd/syncd/sources"
)

// fakeSync is an in-process server that advertises RFC 4533 and answers a
// refresh with a cookie by refusing it with e-syncRefreshRequired (4096),
// which slapd cannot be made to do on demand. Base-scope refreshes (the
// cookie a full read takes) get a syncDone with a cookie; paged searches
// the users.
type fakeSync struct {
	users     int
	refreshes atomic.Int32 // refreshes with a cookie seen
}

const oidSyncDone = "1.3.6.1.4.1.4203.1.9.1.3"

func (f *fakeSync) start(t *testing.T) string {
	t.Helper()
	return serveFake(t, f.search)
}

func (f *fakeSync) search(w *gldap.ResponseWriter, r *gldap.Request) {
	m, err := r.GetSearchMessage()
	if err != nil {
		return
	}
	var paging *gldap.ControlPaging
	for _, c := range m.Controls {
		if p, ok := c.(*gldap.ControlPaging); ok {
			paging = p
		}
	}
	switch {
	case m.BaseDN == "":
		e := r.NewSearchResponseEntry("")
		e.AddAttribute("supportedControl", []string{oidSyncRequest, "1.2.840.113556.1.4.319"})
		_ = w.Write(e)
		_ = w.Write(r.NewSearchDoneResponse(gldap.WithResponseCode(gldap.ResultSuccess)))
	case m.Scope == gldap.BaseObject:
		// syncDoneValue ::= SEQUENCE { cookie OCTET STRING, refreshDeletes TRUE }
		cookie := "fake-cookie-1"
		val := append([]byte{0x30, byte(2 + len(cookie) + 3), 0x04, byte(len(cookie))}, cookie...)
		val = append(val, 0x01, 0x01, 0xff)
		c, _ := gldap.NewControlString(oidSyncDone, gldap.WithControlValue(string(val)))
		done := r.NewSearchDoneResponse(gldap.WithResponseCode(gldap.ResultSuccess))
		done.SetControls(c)
		_ = w.Write(done)
	case paging == nil:
		f.refreshes.Add(1)
		_ = w.Write(r.NewSearchDoneResponse(gldap.WithResponseCode(resultSyncRefreshRequired),
			gldap.WithDiagnosticMessage("cookie no longer valid")))
	default:
		for i := range f.users {
			id := strconv.Itoa(i)
			e := r.NewSearchResponseEntry("uid=u" + id + "," + m.BaseDN)
			e.AddAttribute("uid", []string{"u" + id})
			e.AddAttribute("entryUUID", []string{"00000000-0000-0000-0000-" + strings.Repeat("0", 12-len(id)) + id})
			_ = w.Write(e)
		}
		pc, _ := gldap.NewControlPaging(paging.PagingSize)
		done := r.NewSearchDoneResponse(gldap.WithResponseCode(gldap.ResultSuccess))
		done.SetControls(pc)
		_ = w.Write(done)
	}
}

// TestSyncRefreshRequired: a server that refuses the cookie with
// e-syncRefreshRequired gets a full read, logged, and a new cookie.
func TestSyncRefreshRequired(t *testing.T) {
	t.Parallel()
	f := &fakeSync{users: 4}
	cfg := Config{URL: f.start(t), AllowPlaintext: true, BaseDN: DNList{"ou=people,dc=fake"}, Timeout: 10 * time.Second}
	core, logs := observer.New(zap.InfoLevel)
	src, err := New(cfg, zap.New(core))
	if err != nil {
		t.Fatal(err)
	}
	first := readFull(t, src, sources.ReadRequest{Attributes: []string{"uid"}})
	c, err := decodeCursor(first.cursor)
	if err != nil || c.Kind != DeltaSyncrepl || string(c.Cookies[0]) != "fake-cookie-1" || len(first.recs) != 4 {
		t.Fatalf("first read: %d records, cursor %s (%v); want 4 and the server's cookie", len(first.recs), first.cursor, err)
	}
	second := readFull(t, src, sources.ReadRequest{Attributes: []string{"uid"}, Cursor: first.cursor})
	if f.refreshes.Load() != 1 || second.mode != sources.Full || len(second.recs) != 4 || second.cursorKind(t) != DeltaSyncrepl {
		t.Errorf("second read: %d refreshes with a cookie, mode %v, %d records; want 1, a full read of 4", f.refreshes.Load(), second.mode, len(second.recs))
	}
	if l := logs.FilterMessageSnippet("full read").All(); len(l) != 1 || !strings.Contains(l[0].ContextMap()["reason"].(string), "e-syncRefreshRequired") {
		t.Errorf("logs %v: want one line naming e-syncRefreshRequired", logs.All())
	}
}
