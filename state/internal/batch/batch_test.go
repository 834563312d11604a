package batch

import (
	"slices"
	"testing"
	"time"

	"github.com/syncd/syncd/state"
)

func TestPrepare(t *testing.T) {
	t.Parallel()
	cp := func(anchor, hash string) state.Checkpoint { return state.Checkpoint{Anchor: anchor, Hash: hash} }
	tests := []struct {
		name    string
		in      []state.Checkpoint
		want    []string // anchor=hash
		wantErr bool
	}{
		{name: "empty", in: nil, want: nil},
		{name: "unique", in: []state.Checkpoint{cp("a", "1"), cp("b", "2")}, want: []string{"a=1", "b=2"}},
		{name: "last wins", in: []state.Checkpoint{cp("a", "1"), cp("b", "2"), cp("a", "3")}, want: []string{"b=2", "a=3"}},
		{name: "empty anchor", in: []state.Checkpoint{cp("a", "1"), cp("", "2")}, wantErr: true},
		{name: "negative failures", in: []state.Checkpoint{{Anchor: "a", Failures: -1}}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in := slices.Clone(tt.in)
			got, err := Prepare(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Prepare error = %v, want error %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			var gotS []string
			for _, c := range got {
				gotS = append(gotS, c.Anchor+"="+c.Hash)
			}
			if !slices.Equal(gotS, tt.want) {
				t.Errorf("Prepare = %v, want %v", gotS, tt.want)
			}
			if !slices.EqualFunc(in, tt.in, func(a, b state.Checkpoint) bool { return a.Anchor == b.Anchor && a.Hash == b.Hash }) {
				t.Error("Prepare modified its input")
			}
		})
	}
}

func TestDedupe(t *testing.T) {
	t.Parallel()
	if got := Dedupe([]string{"a", "b", "a", "c", "b"}); !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Errorf("Dedupe = %v", got)
	}
}

func TestMicros(t *testing.T) {
	t.Parallel()
	if _, ok := Micros(time.Time{}); ok {
		t.Error("Micros(zero) ok")
	}
	at := time.Date(2026, 3, 14, 15, 9, 26, 535897123, time.FixedZone("X", -7200))
	us, ok := Micros(at)
	if !ok || !FromMicros(us).Equal(at.Truncate(time.Microsecond)) || FromMicros(us).Location() != time.UTC {
		t.Errorf("Micros round trip: %v -> %d -> %v", at, us, FromMicros(us))
	}
}
