package ldapsource

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
	"github.com/hashicorp/go-hclog"
	"github.com/jimlambrt/gldap"

	"github.com/syncd/syncd/sources"
)

// fakeAD is an in-process LDAP server (gldap) showing the behaviours that
// neither slapd nor Samba can be made to show on demand: AD's forced page
// cap and range retrieval, a size limit mid-read, a server that ignores
// paging, one that repeats its cookie, one that stops answering.
type fakeAD struct {
	entries      []fakeEntry
	pageCap      int  // AD MaxPageSize: pages never longer than this
	valRange     int  // AD MaxValRange: longer attributes come back ranged
	limitAt      int  // end with limitCode once this many entries were sent (0: off)
	limitCode    int  // e.g. sizeLimitExceeded, timeLimitExceeded
	noPaging     bool // answer without a paged-results control
	repeatCookie bool // return the request's cookie again with no entries
	hangAt       int  // after this many entries in total, send nothing more (0: off)
}

type fakeEntry struct {
	dn    string
	attrs [][2]any // name, []string values, in order
}

func (f *fakeAD) start(t *testing.T) string {
	t.Helper()
	hang := make(chan struct{})
	t.Cleanup(func() { close(hang) })
	return serveFake(t, func(w *gldap.ResponseWriter, r *gldap.Request) { f.search(w, r, hang) })
}

// serveFake runs an in-process LDAP server (gldap) on a free loopback port
// until the test ends: every bind succeeds and every search goes to
// search. It returns the server's URL once it is ready.
func serveFake(t *testing.T, search gldap.HandlerFunc) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	s, err := gldap.NewServer(gldap.WithLogger(hclog.NewNullLogger()))
	if err != nil {
		t.Fatal(err)
	}
	mux, err := gldap.NewMux()
	if err != nil {
		t.Fatal(err)
	}
	_ = mux.Bind(func(w *gldap.ResponseWriter, r *gldap.Request) {
		_ = w.Write(r.NewBindResponse(gldap.WithResponseCode(gldap.ResultSuccess)))
	})
	_ = mux.Search(search)
	_ = s.Router(mux)
	go func() { _ = s.Run(addr) }()
	t.Cleanup(func() { _ = s.Stop() })
	deadline := time.Now().Add(5 * time.Second)
	for !s.Ready() {
		if time.Now().After(deadline) {
			t.Fatal("gldap server not ready")
		}
		time.Sleep(time.Millisecond)
	}
	return "ldap://" + addr
}

func (f *fakeAD) search(w *gldap.ResponseWriter, r *gldap.Request, hang chan struct{}) {
	m, err := r.GetSearchMessage()
	if err != nil {
		return
	}
	if m.Scope == gldap.BaseObject {
		f.rangeSearch(w, r, m)
		return
	}
	size, start := len(f.entries), 0
	var cookie []byte
	for _, c := range m.Controls {
		if p, ok := c.(*gldap.ControlPaging); ok {
			size, cookie = int(p.PagingSize), p.Cookie
			start, _ = strconv.Atoi(string(p.Cookie))
		}
	}
	if f.pageCap > 0 {
		size = min(size, f.pageCap)
	}
	end := min(start+size, len(f.entries))
	if f.repeatCookie && start > 0 {
		end = start
	}
	for i := start; i < end; i++ {
		if f.limitAt > 0 && i >= f.limitAt {
			_ = w.Write(r.NewSearchDoneResponse(gldap.WithResponseCode(f.limitCode)))
			return
		}
		if f.hangAt > 0 && i >= f.hangAt {
			<-hang
			return
		}
		e := r.NewSearchResponseEntry(f.entries[i].dn)
		for _, a := range f.entries[i].attrs {
			name, vals := a[0].(string), a[1].([]string)
			if f.valRange > 0 && len(vals) > f.valRange {
				name = fmt.Sprintf("%s;range=0-%d", name, f.valRange-1)
				vals = vals[:f.valRange]
			}
			e.AddAttribute(name, vals)
		}
		_ = w.Write(e)
	}
	done := r.NewSearchDoneResponse(gldap.WithResponseCode(gldap.ResultSuccess))
	if !f.noPaging {
		pc, _ := gldap.NewControlPaging(uint32(size))
		switch {
		case f.repeatCookie && start > 0:
			pc.SetCookie(cookie)
		case end < len(f.entries):
			pc.SetCookie([]byte(strconv.Itoa(end)))
		}
		done.SetControls(pc)
	}
	_ = w.Write(done)
}

// rangeSearch answers "attr;range=lo-*" requests on one entry.
func (f *fakeAD) rangeSearch(w *gldap.ResponseWriter, r *gldap.Request, m *gldap.SearchMessage) {
	for _, fe := range f.entries {
		if !strings.EqualFold(fe.dn, m.BaseDN) {
			continue
		}
		e := r.NewSearchResponseEntry(fe.dn)
		for _, want := range m.Attributes {
			name, rng, ok := strings.Cut(want, ";range=")
			if !ok {
				continue
			}
			lo, _ := strconv.Atoi(strings.TrimSuffix(rng, "-*"))
			for _, a := range fe.attrs {
				if !strings.EqualFold(a[0].(string), name) {
					continue
				}
				vals := a[1].([]string)
				hi := min(lo+f.valRange, len(vals))
				end := strconv.Itoa(hi - 1)
				if hi == len(vals) {
					end = "*"
				}
				e.AddAttribute(fmt.Sprintf("%s;range=%d-%s", a[0], lo, end), vals[lo:hi])
			}
		}
		_ = w.Write(e)
		_ = w.Write(r.NewSearchDoneResponse(gldap.WithResponseCode(gldap.ResultSuccess)))
		return
	}
	_ = w.Write(r.NewSearchDoneResponse(gldap.WithResponseCode(gldap.ResultNoSuchObject)))
}

// adUser returns a fake AD user i with a valid objectGUID and objectSid.
func adUser(i int) fakeEntry {
	guid := make([]byte, 16)
	guid[0], guid[15] = byte(i), 0xAB
	sid, _ := hex.DecodeString("010500000000000515000000c7f7fed77c7755c8945ace01")
	sid = append(sid, byte(i), 0x04, 0, 0)
	return fakeEntry{
		dn: fmt.Sprintf("CN=user%03d,OU=Staff,DC=corp,DC=example", i),
		attrs: [][2]any{
			{"objectGUID", []string{string(guid)}},
			{"objectSid", []string{string(sid)}},
			{"sAMAccountName", []string{fmt.Sprintf("user%03d", i)}},
			{"userAccountControl", []string{"512"}},
		},
	}
}

func fakeConfig(url string) Config {
	return Config{
		URL: url, AllowPlaintext: true, BaseDN: DNList{"OU=Staff,DC=corp,DC=example"},
		Anchor: "objectGUID", Timeout: 10 * time.Second,
	}
}

func TestFakeADPageCapAndBinaryAttributes(t *testing.T) {
	t.Parallel()
	f := &fakeAD{pageCap: 3}
	for i := range 25 {
		f.entries = append(f.entries, adUser(i))
	}
	cfg := fakeConfig(f.start(t))
	cfg.PageSize = 10
	recs, err := readAll(t, mustNew(t, cfg), sources.ReadRequest{Attributes: []string{"samaccountname"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 25 {
		t.Fatalf("%d records through 3-entry pages, want 25", len(recs))
	}
	r := recs[7]
	if want := "00000007-0000-0000-0000-0000000000ab"; r.Anchor != want || r.Get("objectguid") != want {
		t.Errorf("anchor %q / objectguid %q, want %q", r.Anchor, r.Get("objectguid"), want)
	}
	if want := "S-1-5-21-3623811015-3361044348-30300820-1031"; r.Get("objectsid") != want {
		t.Errorf("objectsid %q, want %q", r.Get("objectsid"), want)
	}
	if r.Get("useraccountcontrol") != "512" || r.Get("samaccountname") != "user007" {
		t.Errorf("attrs %v", r.Attrs)
	}
}

func TestFakeADAnchorRejects(t *testing.T) {
	t.Parallel()
	short := adUser(1)
	short.attrs[0] = [2]any{"objectGUID", []string{"\x01\x02\x03"}}
	none := adUser(2)
	none.attrs = none.attrs[1:]
	two := adUser(3)
	two.attrs[0] = [2]any{"objectGUID", []string{string(make([]byte, 16)), string(make([]byte, 16))}}
	f := &fakeAD{entries: []fakeEntry{adUser(0), short, none, two}}
	recs, err := readAll(t, mustNew(t, fakeConfig(f.start(t))), sources.ReadRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 4 || recs[0].Reject != "" {
		t.Fatalf("records %+v", recs)
	}
	for i, want := range []string{"3 bytes, want 16", "no objectGUID attribute", "2 values of objectGUID"} {
		r := recs[i+1]
		if !strings.Contains(r.Reject, want) || r.Anchor != "" || r.Pos != r.DN {
			t.Errorf("record %s: Reject %q Anchor %q, want a reject containing %q", r.DN, r.Reject, r.Anchor, want)
		}
	}
	if got := recs[1].Get("objectguid"); got != "base64:AQID" {
		t.Errorf("undecodable objectGUID kept as %q, want base64:AQID", got)
	}
}

func TestFakeADRangeRetrieval(t *testing.T) {
	t.Parallel()
	var members []string
	for i := range 8 {
		members = append(members, fmt.Sprintf("CN=m%d,DC=corp,DC=example", i))
	}
	f := &fakeAD{valRange: 3}
	for i := range 4 {
		u := adUser(i)
		u.attrs = append(u.attrs, [2]any{"memberOf", members[:2*i+1]})
		f.entries = append(f.entries, u)
	}
	cfg := fakeConfig(f.start(t))
	cfg.PageSize = 2
	recs, err := readAll(t, mustNew(t, cfg), sources.ReadRequest{Attributes: []string{"memberof"}})
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range recs {
		got := r.Attrs["memberof"]
		if strings.Join(got, "|") != strings.Join(members[:2*i+1], "|") {
			t.Errorf("%s: memberof = %q, want %d values in order", r.DN, got, 2*i+1)
		}
		for k := range r.Attrs {
			if strings.Contains(k, "range") {
				t.Errorf("%s: attribute %q leaked its range option", r.DN, k)
			}
		}
	}
}

func TestFakeADIncomplete(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		f       *fakeAD
		timeout time.Duration
		check   func(error) bool
	}{
		{"size limit mid-read", &fakeAD{limitAt: 12, limitCode: gldap.ResultSizeLimitExceeded},
			0, func(err error) bool { return ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded) }},
		{"time limit mid-read", &fakeAD{limitAt: 7, limitCode: gldap.ResultTimeLimitExceeded},
			0, func(err error) bool { return ldap.IsErrorWithCode(err, ldap.LDAPResultTimeLimitExceeded) }},
		{"admin limit mid-read", &fakeAD{limitAt: 3, limitCode: gldap.ResultAdminLimitExceeded},
			0, func(err error) bool { return ldap.IsErrorWithCode(err, ldap.LDAPResultAdminLimitExceeded) }},
		{"referral instead of results", &fakeAD{limitAt: 6, limitCode: gldap.ResultReferral},
			0, func(err error) bool { return ldap.IsErrorWithCode(err, ldap.LDAPResultReferral) }},
		{"server ignores paging", &fakeAD{noPaging: true},
			0, func(err error) bool { return strings.Contains(err.Error(), "without a paged-results control") }},
		{"server repeats its cookie", &fakeAD{pageCap: 5, repeatCookie: true},
			0, func(err error) bool { return strings.Contains(err.Error(), "same page cookie") }},
		{"server stops answering mid-page", &fakeAD{pageCap: 5, hangAt: 7},
			300 * time.Millisecond, func(err error) bool { return errors.Is(err, context.DeadlineExceeded) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for i := range 20 {
				tt.f.entries = append(tt.f.entries, adUser(i))
			}
			cfg := fakeConfig(tt.f.start(t))
			cfg.PageSize = 5
			if tt.timeout > 0 {
				cfg.Timeout = tt.timeout
			}
			recs, err := readAll(t, mustNew(t, cfg), sources.ReadRequest{})
			var re *ReadError
			if !errors.As(err, &re) || !tt.check(err) {
				t.Fatalf("after %d records Err() = %v, want a *ReadError of the right kind", len(recs), err)
			}
			if len(recs) >= 20 {
				t.Errorf("%d records: the read looks complete", len(recs))
			}
			t.Logf("%d records, then %v", len(recs), err)
		})
	}
}
