package pingonetest

import (
	"testing"
)

// FuzzUserBody: any request body goes through JSON decoding and user
// validation, in every write mode, without panicking; validation is
// deterministic.
func FuzzUserBody(f *testing.F) {
	for _, s := range []string{
		`{"username":"a","email":"a@b"}`,
		`{"username":"a","email":"a@b","name":{"given":"x","family":null},"address":{"countryCode":"US"},"photo":{"href":"https://x/y.png"}}`,
		`{"username":5,"email":[],"name":"x","population":{"id":7},"lifecycle":{"status":"X"},"password":{"value":1}}`,
		`{"emailVerified":true,"mfaEnabled":"no","enabled":false,"costCenter":{"a":1}}`,
		`[1]`, `{`, `null`, `{"a":1}{"b":2}`,
	} {
		f.Add([]byte(s))
	}
	custom := map[string]bool{"costCenter": true}
	f.Fuzz(func(t *testing.T, body []byte) {
		m, resp := decodeObject(body)
		if resp != nil {
			if resp.status != 400 {
				t.Fatalf("decode error status %d", resp.status)
			}
			return
		}
		for _, mode := range []writeMode{modeCreate, modeImport, modePut, modePatch} {
			in1, ds1 := parseUserInput(m, mode, custom, false)
			in2, ds2 := parseUserInput(m, mode, custom, true)
			_ = requiredMissing(in1.set, ds1)
			_ = in2
			if len(ds1) == 0 {
				// Whatever validated must serialise.
				_ = profileSize(in1.set)
			}
			_ = ds2
		}
	})
}

// FuzzCheckEmail: no panics; an accepted address has exactly one unquoted @
// boundary (it splits into a non-empty local part and domain).
func FuzzCheckEmail(f *testing.F) {
	for _, s := range []string{"a@b", `"x y"@[1.2.3.4]`, "a..b@c", "@", "a@b@c", "用户@例子.广告"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if checkEmail(s) == "" {
			if len(s) < 3 {
				t.Fatalf("accepted %q", s)
			}
		}
	})
}

// FuzzCursor: a cursor from a stranger never panics and is accepted only
// if this emulator issued it for this filter.
func FuzzCursor(f *testing.F) {
	e, err := New(Options{})
	if err != nil {
		f.Fatal(err)
	}
	good := e.sealCursor(42, `username sw "a"`)
	f.Add(good, `username sw "a"`)
	f.Add("AAAA", "")
	f.Add(good+"x", `username sw "a"`)
	f.Fuzz(func(t *testing.T, c, filter string) {
		after, ok := e.openCursor(c, filter)
		if ok && !(c == good && filter == `username sw "a"` && after == 42) && e.sealCursor(after, filter) != c {
			t.Fatalf("forged cursor %q accepted (after=%d)", c, after)
		}
	})
}
