package stateurl

import (
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
		{"postgres://u:s3%zz@db/x?password=p", "postgres://u:xxxxx@db/x?xxxxx"},
		{"sqlite:///var/lib/syncd/state.db", "sqlite:///var/lib/syncd/state.db"},
		{"sqlite://syncd.db", "sqlite://syncd.db"},
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
