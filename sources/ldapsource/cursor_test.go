package ldapsource

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestCursorRoundTrip(t *testing.T) {
	t.Parallel()
	bases := []string{"ou=people,dc=example,dc=com", "ou=staff,dc=example,dc=com"}
	tests := []struct {
		name string
		c    cursor
	}{
		{"syncrepl", cursor{Kind: DeltaSyncrepl, Bases: bases, Cookies: [][]byte{
			[]byte("rid=000,csn=20261126075654.557529Z#000000#000#000000"), {0, 1, 2, 0xff}}}},
		{"usn", cursor{Kind: DeltaUSN, Bases: bases[:1], DC: "CN=NTDS Settings,CN=DC1,CN=Servers,CN=Default-First-Site-Name,CN=Sites,CN=Configuration,DC=ad,DC=test",
			InvocationID: "69d87ee0-ab58-4906-966f-63985b4fa64b", USN: 41236}},
		{"usn zero", cursor{Kind: DeltaUSN, Bases: bases[:1], DC: "x", InvocationID: "y"}},
		{"timestamp", cursor{Kind: DeltaTimestamp, Bases: bases, Since: "20261126075654Z"}},
		{"dirsync", cursor{Kind: DeltaDirSync, Bases: bases, Cookie: []byte("MSDS\x03\x00\x00\x00")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := tt.c.encode()
			if !bytes.HasPrefix(b, []byte(`{"v":1,"kind":"`+tt.c.Kind+`"`)) {
				t.Errorf("encoding %s does not start with version and kind", b)
			}
			got, err := decodeCursor(b)
			if err != nil {
				t.Fatalf("decode %s: %v", b, err)
			}
			tt.c.V = cursorVersion
			if !bytes.Equal(got.encode(), b) || got.usableFor(tt.c.Kind, tt.c.Bases) != "" {
				t.Errorf("round trip: %s -> %+v", b, got)
			}
		})
	}
}

func TestDecodeCursorRejects(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, in, want string }{
		{"empty", ``, "not a cursor"},
		{"csv cursor", `csv1 10 20 abcd`, "not a cursor"},
		{"not an object", `[1,2]`, "not a cursor"},
		{"trailing", `{"v":1,"kind":"timestamp","bases":["o=x"],"since":"20261126075654Z"} {}`, "trailing"},
		{"unknown field", `{"v":1,"kind":"timestamp","bases":["o=x"],"since":"20261126075654Z","x":1}`, "unknown field"},
		{"version", `{"v":2,"kind":"timestamp","bases":["o=x"],"since":"20261126075654Z"}`, "version 2"},
		{"no version", `{"kind":"timestamp","bases":["o=x"],"since":"20261126075654Z"}`, "version 0"},
		{"kind", `{"v":1,"kind":"fancy","bases":["o=x"]}`, `kind "fancy"`},
		{"dirsync without cookie", `{"v":1,"kind":"dirsync","bases":["o=x"]}`, "no cookie"},
		{"no bases", `{"v":1,"kind":"timestamp","since":"20261126075654Z"}`, "no base DN"},
		{"cookie count", `{"v":1,"kind":"syncrepl","bases":["o=x","o=y"],"cookies":["YQ=="]}`, "1 cookies for 2"},
		{"empty cookie", `{"v":1,"kind":"syncrepl","bases":["o=x"],"cookies":[""]}`, "empty cookie"},
		{"bad base64", `{"v":1,"kind":"syncrepl","bases":["o=x"],"cookies":["%%%"]}`, "not a cursor"},
		{"usn without dc", `{"v":1,"kind":"usn","bases":["o=x"],"invocation_id":"a","usn":3}`, "no domain controller"},
		{"negative usn", `{"v":1,"kind":"usn","bases":["o=x"],"dc":"d","invocation_id":"a","usn":-3}`, "negative"},
		{"since missing", `{"v":1,"kind":"timestamp","bases":["o=x"]}`, "since"},
		{"since fraction", `{"v":1,"kind":"timestamp","bases":["o=x"],"since":"20261126075654.5Z"}`, "YYYYMMDDhhmmssZ"},
		{"filter injection", `{"v":1,"kind":"timestamp","bases":["o=x"],"since":"2026)(uid=*"}`, "since"},
		{"huge", `{"v":1,"kind":"timestamp","bases":["` + strings.Repeat("a", maxCursor) + `"]}`, "more than a cursor"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := decodeCursor([]byte(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("decodeCursor(%.60q) = %v, want an error containing %q", tt.in, err, tt.want)
			}
		})
	}
}

func TestCursorUsableFor(t *testing.T) {
	t.Parallel()
	c := cursor{Kind: DeltaUSN, Bases: normBases([]string{"OU=Staff, DC=corp,DC=example"})}
	tests := []struct {
		method string
		bases  []string
		want   string
	}{
		{DeltaUSN, []string{"ou=staff,dc=corp,dc=example"}, ""},
		{DeltaTimestamp, []string{"ou=staff,dc=corp,dc=example"}, "cursor is for usn"},
		{DeltaUSN, []string{"ou=other,dc=corp,dc=example"}, "base DNs changed"},
		{DeltaUSN, []string{"ou=staff,dc=corp,dc=example", "ou=x"}, "base DNs changed"},
	}
	for _, tt := range tests {
		got := c.usableFor(tt.method, normBases(tt.bases))
		if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
			t.Errorf("usableFor(%s, %v) = %q, want %q", tt.method, tt.bases, got, tt.want)
		}
	}
}

func TestParseGenTime(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"20261126075654Z", time.Date(2026, 11, 26, 7, 56, 54, 0, time.UTC), true},
		{"20261126075654.557529Z", time.Date(2026, 11, 26, 7, 56, 54, 557529000, time.UTC), true},
		{"20261126053710.0Z", time.Date(2026, 11, 26, 5, 37, 10, 0, time.UTC), true},
		{"20261126075654", time.Time{}, false},
		{"20261326075654Z", time.Time{}, false},
		{"2026112607565Z", time.Time{}, false},
		{"20261126075654+0100", time.Time{}, false},
	}
	for _, tt := range tests {
		got, err := parseGenTime(tt.in)
		if (err == nil) != tt.ok || !got.Equal(tt.want) {
			t.Errorf("parseGenTime(%q) = %v, %v; want %v ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
	if got := formatGenTime(time.Date(2026, 11, 26, 7, 56, 54, 999e6, time.UTC)); got != "20261126075654Z" {
		t.Errorf("formatGenTime = %q: fractions must be cut, not rounded up", got)
	}
}

func TestTimestampWatermark(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 11, 26, 8, 0, 0, 0, time.UTC)
	w := tsWatermark{start: start, prev: "20261126070000Z"}
	if got := w.since(start.Add(time.Minute)); got != "20261126070000Z" {
		t.Errorf("nothing seen: since %q, want the previous watermark", got)
	}
	for _, ts := range []string{"20261126075000Z", "20261126080010.5Z", "garbage", ""} {
		w.see(recWith("modifytimestamp", ts))
	}
	// latest 08:00:10.5, read took 20 s: 08:00:10.5 - 21 s = 07:59:49.5
	if got := w.since(start.Add(20 * time.Second)); got != "20261126075949Z" {
		t.Errorf("since %q, want 20261126075949Z", got)
	}
}

// FuzzDecodeCursor: the cursor comes from the state database, which may be
// corrupt. decodeCursor must never panic, and whatever it accepts must
// survive a round trip and be safe to put in a filter.
func FuzzDecodeCursor(f *testing.F) {
	f.Add([]byte(`{"v":1,"kind":"syncrepl","bases":["ou=people,dc=example,dc=com"],"cookies":["cmlkPTAwMCxjc249MjAyNjExMjYwNzU2NTQuNTU3NTI5WiMwMDAwMDAjMDAwIzAwMDAwMA=="]}`))
	f.Add([]byte(`{"v":1,"kind":"usn","bases":["dc=ad,dc=test"],"dc":"CN=NTDS Settings,CN=DC1","invocation_id":"69d87ee0-ab58-4906-966f-63985b4fa64b","usn":41236}`))
	f.Add([]byte(`{"v":1,"kind":"timestamp","bases":["o=x"],"since":"20261126075654Z"}`))
	f.Add([]byte(`{"v":1,"kind":"dirsync","bases":["dc=ad,dc=test"],"cookie":"TVNEUwMAAAA="}`))
	f.Add([]byte(`csv1 10 20 abcd`))
	f.Add([]byte(`{"v":1,"kind":"syncrepl","bases":["o=x"],"cookies":[null]}`))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := decodeCursor(b)
		if err != nil {
			return
		}
		again, err := decodeCursor(c.encode())
		if err != nil {
			t.Fatalf("accepted %q, but not its own encoding: %v", b, err)
		}
		if !bytes.Equal(again.encode(), c.encode()) {
			t.Fatalf("round trip changed %q", b)
		}
		if c.Kind == DeltaTimestamp && strings.ContainsAny(c.Since, "()*\\&|=") {
			t.Fatalf("since %q would break the filter", c.Since)
		}
	})
}
