package csvsource

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/syncd/syncd/sources"
)

// BenchmarkRead1M reads a 1M-row, 10-column file (about 150 MB) and reports
// rows/s. Goal: at least 500k rows/s.
func BenchmarkRead1M(b *testing.B) {
	const rows = 1_000_000
	dir := b.TempDir()
	path := writeUsers(b, dir, rows)
	if fi, err := os.Stat(path); err == nil {
		b.SetBytes(fi.Size())
	}
	src := newUsers(b, filepath.Clean(path))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		r, err := src.Open(context.Background(), sources.ReadRequest{})
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for r.Next() {
			if r.Record().Reject != "" {
				b.Fatalf("reject: %s", r.Record().Reject)
			}
			n++
		}
		if err := r.Err(); err != nil {
			b.Fatal(err)
		}
		r.Close()
		if n != rows {
			b.Fatalf("read %d rows, want %d", n, rows)
		}
	}
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
