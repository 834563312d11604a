package pingone

import (
	"strings"
	"testing"
	"time"
)

// The server's answers are input a stranger can shape (a proxy, a captive
// portal, a compromised host): the parsers must never panic, and what they
// produce must stay within bounds.

func FuzzRetryAfter(f *testing.F) {
	for _, s := range []string{"", "0", "2", "-1", "3600", "99999999999999999999", "Wed, 26 Nov 2026 08:00:05 GMT", "soon", " 7 "} {
		f.Add(s)
	}
	now := time.Date(2026, 11, 26, 8, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, v string) {
		d, ok := parseRetryAfter(v, now)
		if d < 0 || d > maxRetryAfter || (!ok && d != 0) {
			t.Fatalf("parseRetryAfter(%q) = %v, %t", v, d, ok)
		}
	})
}

func FuzzAPIError(f *testing.F) {
	for _, s := range []string{
		`{"id":"1","code":"INVALID_DATA","message":"m","details":[{"code":"UNIQUENESS_VIOLATION","target":"username","innerError":{"a":1}}]}`,
		`{"code":5}`, `<html>502</html>`, "", "\x00\xff\n", `{"details":null}`,
	} {
		f.Add(400, s)
	}
	f.Fuzz(func(t *testing.T, status int, body string) {
		e := parseAPIError("op", status, []byte(body), 0)
		msg := e.Error()
		if !strings.HasPrefix(msg, "pingone ") {
			t.Fatalf("Error() = %q", msg)
		}
		if e.Code == "" && strings.ContainsAny(e.Message, "\n\r\x00") {
			t.Fatalf("raw body snippet keeps control characters: %q", e.Message)
		}
		_ = IsUniquenessViolation(e)
		_ = Retryable(e)
	})
}

func FuzzDecodeUser(f *testing.F) {
	for _, s := range []string{
		`{"id":"u","population":{"id":"p"},"enabled":true,"name":{"given":"A"},"x":[1,{"y":"z"}]}`,
		`{"id":5}`, `[]`, `null`, `{"id":"u","population":"p","enabled":"yes"}`,
		`{"id":"u","a":{"b":{"c":{"d":"deep"}}}}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		u, err := decodeUser([]byte(body))
		if err != nil {
			return
		}
		if u.ID == "" || u.Attributes == nil {
			t.Fatalf("decoded %+v without an id", u)
		}
		for k := range u.Attributes {
			if k == "id" || strings.HasPrefix(k, "population.") || strings.HasPrefix(k, "_links") {
				t.Fatalf("reserved member %q among attributes", k)
			}
		}
	})
}
