package pingonetest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"net/http"
	"net/url"
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
	q := ar.r.URL.Query()
	limit := e.opts.MaxPageSize
	if s, ok := q["limit"]; ok {
		n, err := strconv.Atoi(strings.TrimSpace(s[0]))
		if err != nil || n < 1 || n > 1000 {
			return invalidData(detail{Code: "INVALID_VALUE", Target: "limit",
				Message:    "limit must be an integer from 1 to 1000",
				InnerError: map[string]any{"rangeMinimumValue": 1, "rangeMaximumValue": 1000}})
		}
		limit = min(n, e.opts.MaxPageSize)
	}
	filter := q.Get("filter")
	var after uint64
	if c := q.Get("cursor"); c != "" {
		var ok bool
		after, ok = e.openCursor(c, filter)
		if !ok {
			return p1Error(http.StatusBadRequest, "INVALID_REQUEST", "The request could not be completed. The cursor is invalid.",
				detail{Code: "INVALID_VALUE", Target: "cursor", Message: "cursor is not one this service issued for this filter"})
		}
	}
	start := 0
	for start < len(items) && items[start].seq <= after {
		start++
	}
	end := min(start+limit, len(items))
	page := make([]map[string]any, 0, end-start)
	for _, it := range items[start:end] {
		page = append(page, it.render())
	}
	path := strings.TrimPrefix(ar.r.URL.Path, "/v1")
	links := map[string]any{"self": map[string]any{"href": ar.base + path + queryString(ar.r.URL.RawQuery)}}
	if end < len(items) {
		nq := url.Values{}
		if filter != "" {
			nq.Set("filter", filter)
		}
		if _, ok := q["limit"]; ok {
			nq.Set("limit", q.Get("limit"))
		}
		nq.Set("cursor", e.sealCursor(items[end-1].seq, filter))
		links["next"] = map[string]any{"href": ar.base + path + "?" + nq.Encode()}
	}
	return &response{status: http.StatusOK, body: map[string]any{
		"_links":    links,
		"_embedded": map[string]any{key: page},
		"count":     len(items),
		"size":      len(page),
	}}
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
