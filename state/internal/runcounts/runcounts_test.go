package runcounts

import "testing"

func TestMarshal(t *testing.T) {
	for _, tt := range []struct {
		in   map[string]int
		want string
	}{
		{nil, "{}"},
		{map[string]int{}, "{}"},
		{map[string]int{"updated": 2, "created": 1}, `{"created":1,"updated":2}`},
	} {
		if got, err := Marshal(tt.in); err != nil || got != tt.want {
			t.Errorf("Marshal(%v) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}
