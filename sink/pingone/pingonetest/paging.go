package pingonetest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// listItem is one element of a collection, in the collection's stable order
// (creation sequence).
type listItem struct {
	seq    uint64
	render func() map[string]any
}

// pageLocked answers a list request: limit 1..1000 (§3c, SPEC L28310), pages
// of min(limit, MaxPageSize), an opaque keyset cursor bound to the filter
// and signed (a tampered cursor is 400), absolute _links.self and
// _links.next (next only when more items follow), count (total matches)
// and size (this page). Items must be sorted by seq. The caller holds e.mu.
func (e *Emulator) pageLocked(ar *apiRequest, key string, items []listItem) *response {
	q, resp := e.pageQueryLocked(ar)
	if resp != nil {
		return resp
	}
	start := sort.Search(len(items), func(i int) bool { return items[i].seq > q.after })
	end := min(start+q.limit, len(items))
	page := make([]map[string]any, 0, end-start)
	for _, it := range items[start:end] {
		page = append(page, it.render())
	}
	var last uint64
	if end > start {
		last = items[end-1].seq
	}
	return e.pageResponse(ar, key, q, page, last, end < len(items), len(items))
}

// pageQuery is what a list request asks for: the page size, the filter's
// text and the position its cursor stands for (items after seq after).
type pageQuery struct {
	limit  int
	filter string
	after  uint64
	cursor bool // the request carried a cursor: not the first page
}

func (e *Emulator) pageQueryLocked(ar *apiRequest) (pageQuery, *response) {
	q := ar.r.URL.Query()
	pq := pageQuery{limit: e.opts.MaxPageSize, filter: q.Get("filter")}
	if s, ok := q["limit"]; ok {
		n, err := strconv.Atoi(strings.TrimSpace(s[0]))
		if err != nil || n < 1 || n > 1000 {
			return pq, invalidData(detail{Code: "INVALID_VALUE", Target: "limit",
				Message:    "limit must be an integer from 1 to 1000",
				InnerError: map[string]any{"rangeMinimumValue": 1, "rangeMaximumValue": 1000}})
		}
		pq.limit = min(n, e.opts.MaxPageSize)
	}
	if c := q.Get("cursor"); c != "" {
		var ok bool
		pq.after, ok = e.openCursor(c, pq.filter)
		if !ok {
			return pq, p1Error(http.StatusBadRequest, "INVALID_REQUEST", "The request could not be completed. The cursor is invalid.",
				detail{Code: "INVALID_VALUE", Target: "cursor", Message: "cursor is not one this service issued for this filter"})
		}
		pq.cursor = true
	}
	return pq, nil
}

// pageResponse renders one page: last is the seq of its last item, more
// whether items follow, count the total matches (negative: left out, as
// §3c allows: "If a response does not return a count attribute, this
// usually means there are many in the result set").
func (e *Emulator) pageResponse(ar *apiRequest, key string, pq pageQuery, page []map[string]any, last uint64, more bool, count int) *response {
	q := ar.r.URL.Query()
	path := strings.TrimPrefix(ar.r.URL.Path, "/v1")
	links := map[string]any{"self": map[string]any{"href": ar.base + path + queryString(ar.r.URL.RawQuery)}}
	if more {
		nq := url.Values{}
		if pq.filter != "" {
			nq.Set("filter", pq.filter)
		}
		if _, ok := q["limit"]; ok {
			nq.Set("limit", q.Get("limit"))
		}
		nq.Set("cursor", e.sealCursor(last, pq.filter))
		links["next"] = map[string]any{"href": ar.base + path + "?" + nq.Encode()}
	}
	body := map[string]any{
		"_links":    links,
		"_embedded": map[string]any{key: page},
		"size":      len(page),
	}
	if count >= 0 {
		body["count"] = count
	}
	return &response{status: http.StatusOK, body: body}
}

func queryString(raw string) string {
	if raw == "" {
		return ""
	}
	return "?" + raw
}

// sealCursor encodes "after seq" bound to the filter text, with an HMAC so
// a client cannot forge or edit it.
func (e *Emulator) sealCursor(after uint64, filter string) string {
	buf := binary.BigEndian.AppendUint64(nil, after)
	mac := e.cursorMAC(buf, filter)
	return base64.RawURLEncoding.EncodeToString(append(buf, mac...))
}

func (e *Emulator) openCursor(c, filter string) (uint64, bool) {
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || len(raw) != 8+16 {
		return 0, false
	}
	if !hmac.Equal(raw[8:], e.cursorMAC(raw[:8], filter)) {
		return 0, false
	}
	return binary.BigEndian.Uint64(raw[:8]), true
}

func (e *Emulator) cursorMAC(payload []byte, filter string) []byte {
	m := hmac.New(sha256.New, e.cursor)
	m.Write(payload)
	m.Write([]byte{0})
	m.Write([]byte(filter))
	return m.Sum(nil)[:16]
}
