package config

import (
	"testing"
	"time"
)

func TestParsePeriod(t *testing.T) {
	t.Parallel()
	day := 24 * time.Hour
	for _, tt := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"400d", 400 * day, true},
		{"180d", 180 * day, true},
		{"2w", 14 * day, true},
		{"2y", 730 * day, true},
		{"1000y", 365_000 * day, true},
		{"1001y", 0, false},
		{"36h", 36 * time.Hour, true},
		{" 1d ", day, true},
		{"0d", 0, true},
		{"d", 0, false},
		{"-3d", 0, false},
		{"-1h", 0, false},
		{"1.5d", 0, false},
		{"400", 0, false},
		{"99999999999999999999d", 0, false},
		{"365001d", 0, false},
		{"", 0, false},
	} {
		got, err := ParsePeriod(tt.in)
		if (err == nil) != tt.ok || (tt.ok && got.Duration() != tt.want) {
			t.Errorf("ParsePeriod(%q) = %v, %v; want %v, ok=%v", tt.in, got.Duration(), err, tt.want, tt.ok)
		}
	}
	if s := Period(400 * day).String(); s != "400d" {
		t.Errorf("String = %q", s)
	}
}

func FuzzParsePeriod(f *testing.F) {
	for _, s := range []string{"400d", "26w", "36h", "1h30m", "-1d", "d", "9223372036854775807d", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePeriod(s)
		if err != nil {
			return
		}
		if p < 0 {
			t.Fatalf("ParsePeriod(%q) = %v: negative", s, p.Duration())
		}
		back, err := ParsePeriod(p.String())
		if err != nil || back != p {
			t.Fatalf("ParsePeriod(%q) = %v, which prints %q and reads back as %v, %v", s, p.Duration(), p.String(), back.Duration(), err)
		}
	})
}
