package stateurl

import (
	"errors"
	"strings"
	"testing"
)

func TestRedact(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string
	}{
		{"postgres://postgres@127.0.0.1:5432/test", "postgres://postgres@127.0.0.1:5432/test"},
		{"postgres://u:s3cret@db:5432/syncd?sslmode=require", "postgres://u:xxxxx@db:5432/syncd?sslmode=require"},
		{"postgresql://u@db/syncd?password=s3cret&sslmode=verify-full", "postgresql://u@db/syncd?password=xxxxx&sslmode=verify-full"},
		{"postgres://u:s3cret@db:badport/x", "postgres://u:xxxxx@db:badport/x"},
		{"postgres://u:s3%zz@db/x?password=p", "postgres://u:xxxxx@db/x?password=xxxxx"},
		{"sqlite:///var/lib/syncd/state.db", "sqlite:///var/lib/syncd/state.db"},
		{"sqlite://syncd.db", "sqlite://syncd.db"},
		// The user info ends at the LAST '@': no tail of the password is
		// left to read as a host.
		{"postgres://syncd:se@cret@127.0.0.1/db", "postgres://syncd:xxxxx@127.0.0.1/db"},
		{"postgres://syncd:a@b@c@db:5432/x?sslmode=disable", "postgres://syncd:xxxxx@db:5432/x?sslmode=disable"},
		{"postgres://syncd:p/ss@db/x", "postgres://syncd:xxxxx@db/x"},
		{"postgres://sy@ncd:pw@db/x", "postgres://xxxxx@db/x"},
		// An '@' in the query moves the cut there: more hidden, nothing shown.
		{"postgres://syncd:pw@db/x?password=p@ss", "postgres://syncd:xxxxx@ss"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			if got := Redact(tt.in); got != tt.want {
				t.Errorf("Redact(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func FuzzRedact(f *testing.F) {
	for _, s := range []string{
		"postgres://u:s3cret@db:5432/syncd?sslmode=require",
		"postgres://u@db/syncd?password=s3cret",
		"postgres://u:s3cret@db:badport/x",
		"sqlite://./state.db",
		"://:s3cret@",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out := Redact(in)
		// A password of at least 6 characters given in user info must not survive.
		if i := strings.Index(in, "://"); i >= 0 {
			rest := in[i+3:]
			at := strings.IndexByte(rest, '@')
			colon := strings.IndexByte(rest, ':')
			if at > 0 && colon >= 0 && colon < at && !strings.ContainsAny(rest[:at], "/?#") {
				pw := rest[colon+1 : at]
				if len(pw) >= 6 && !strings.Contains(pw, redacted) && strings.Contains(out, ":"+pw+"@") {
					t.Fatalf("Redact(%q) = %q keeps the password", in, out)
				}
			}
		}
	})
}

func TestScrubHidesEveryFragment(t *testing.T) {
	t.Parallel()
	raw := "postgres://syncd:Sec%2Fret@tail-part@127.0.0.1/db?password=qpass&sslpassword=sslpw"
	err := Scrub(errors.New("lookup tail-part@127.0.0.1: no such host; password Sec/ret and Sec%2Fret@tail-part, qpass sslpw"), Secrets(raw))
	for _, leak := range []string{"tail-part", "Sec/ret", "Sec%2Fret", "qpass", "sslpw"} {
		if strings.Contains(err.Error(), leak) {
			t.Errorf("scrubbed error keeps %q: %s", leak, err)
		}
	}
	if !strings.Contains(err.Error(), "127.0.0.1: no such host") {
		t.Errorf("scrubbed too much: %s", err)
	}
	if !errors.Is(err, err.(interface{ Unwrap() error }).Unwrap()) || Scrub(nil, []string{"x"}) != nil {
		t.Error("Scrub breaks the chain or a nil error")
	}
}
