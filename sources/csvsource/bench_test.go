package csvsource

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/syncd/syncd/sources"
)

// BenchmarkRead1M reads a 1M-row, 10-column file (about 150 MB) and reports
// rows/s (goal: at least 500k rows/s) and the live heap near the end of the
// first read (the duplicate-key index is what grows with the file).
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
	var heapMB float64
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
			if n == rows-1 && heapMB == 0 {
				b.StopTimer()
				var ms runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&ms)
				heapMB = float64(ms.HeapAlloc) / (1 << 20)
				b.StartTimer()
			}
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
	b.ReportMetric(heapMB, "live-heap-MB")
}
