package statetest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/syncd/syncd/state"
)

// BenchAttributes is a typical attributes JSON (about 250 bytes): what the
// benchmarks write through the API, and what backends' seed SQL should store.
const BenchAttributes = `{"email":"ann.example@example.com","name":{"family":"Example","formatted":"Ann Example","given":"Ann"},` +
	`"title":"Senior Engineer","department":"Platform Engineering","mobilePhone":"+33 6 12 34 56 78","locale":"fr-FR","username":"ann.example"}`

// benchCheckpoint is checkpoint i as the save benchmark writes it.
func benchCheckpoint(i int) state.Checkpoint {
	cp := checkpoint(i)
	cp.Attributes = []byte(BenchAttributes)
	cp.Hash = fmt.Sprintf("%064x", i) // a sha256 hex digest's length
	return cp
}

// ServerCPU returns the CPU time the database server has spent serving the
// store so far, for a backend whose server is a separate process; nil when
// not measurable. With it the benchmarks report CPU per row on both sides,
// which unlike rows/s does not depend on how busy a shared machine is.
type ServerCPU func() time.Duration

// BenchSave measures SaveCheckpoints: each iteration writes 100,000 new
// checkpoints in batches of 500 to a fresh job. It reports rows/s, CPU
// microseconds per row (client, and server when serverCPU is not nil), and
// the peak Go heap, which includes the 100,000 prepared checkpoints.
func BenchSave(b *testing.B, s state.Store, serverCPU ServerCPU) {
	const total, batchSize = 100_000, 500
	batches := make([][]state.Checkpoint, 0, total/batchSize)
	for start := 0; start < total; start += batchSize {
		cps := make([]state.Checkpoint, batchSize)
		for i := range cps {
			cps[i] = benchCheckpoint(start + i)
		}
		batches = append(batches, cps)
	}
	ctx := context.Background()
	peak := startPeak()
	cpu := startCPU(serverCPU)
	iter := 0
	for b.Loop() {
		job := fmt.Sprintf("bench-save-%d", iter)
		iter++
		for _, cps := range batches {
			if err := s.SaveCheckpoints(ctx, job, cps); err != nil {
				b.Fatalf("SaveCheckpoints: %v", err)
			}
		}
	}
	cpu(b, total*iter)
	heap, rss := peak()
	b.ReportMetric(float64(total*iter)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(heap, "peak-heap-MiB")
	b.ReportMetric(rss, "peak-rss-MiB")
}

// BenchLoad measures Checkpoints: each iteration streams job's n
// checkpoints (seeded by the backend's own SQL beforehand) to a callback
// that keeps nothing. It reports rows/s, CPU microseconds per row, and the
// peak Go heap and RSS while streaming, which is what the store itself holds.
func BenchLoad(b *testing.B, s state.Store, job string, n int, serverCPU ServerCPU) {
	ctx := context.Background()
	runtime.GC()
	peak := startPeak()
	cpu := startCPU(serverCPU)
	rows, attrBytes := 0, 0
	for b.Loop() {
		rows = 0
		err := s.Checkpoints(ctx, job, func(cp state.Checkpoint) error {
			rows++
			attrBytes += len(cp.Attributes)
			return nil
		})
		if err != nil {
			b.Fatalf("Checkpoints: %v", err)
		}
		if rows != n {
			b.Fatalf("streamed %d checkpoints, want %d", rows, n)
		}
	}
	cpu(b, rows*b.N)
	heap, rss := peak()
	if attrBytes == 0 {
		b.Fatal("no attributes streamed")
	}
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(heap, "peak-heap-MiB")
	b.ReportMetric(rss, "peak-rss-MiB")
}

// startPeak resets the process's peak RSS (Linux) and samples the Go heap
// in use until the returned func is called; that func returns the peak heap
// in MiB and the peak RSS in MiB (0 where /proc is missing).
func startPeak() func() (heapMiB, rssMiB float64) {
	// "5" resets VmHWM to the current RSS (proc(5), clear_refs).
	os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
	var (
		mu      sync.Mutex
		maxHeap uint64
		stop    = make(chan struct{})
		done    = make(chan struct{})
	)
	sample := func() {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		mu.Lock()
		maxHeap = max(maxHeap, ms.HeapInuse)
		mu.Unlock()
	}
	go func() {
		defer close(done)
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				sample()
			}
		}
	}()
	return func() (float64, float64) {
		close(stop)
		<-done
		sample()
		mu.Lock()
		defer mu.Unlock()
		return float64(maxHeap) / (1 << 20), float64(vmHWM()) / (1 << 20)
	}
}

// vmHWM returns the process's peak resident set in bytes, or 0.
func vmHWM() uint64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}

// startCPU notes this process's CPU time (and the server's, when
// measurable); the returned func reports both per row since.
func startCPU(server ServerCPU) func(b *testing.B, rows int) {
	client0 := processCPU()
	var server0 time.Duration
	if server != nil {
		server0 = server()
	}
	return func(b *testing.B, rows int) {
		if rows == 0 {
			return
		}
		if c := processCPU(); c > 0 {
			b.ReportMetric(float64((c-client0).Microseconds())/float64(rows), "client-cpu-us/row")
		}
		if server != nil {
			b.ReportMetric(float64((server()-server0).Microseconds())/float64(rows), "server-cpu-us/row")
		}
	}
}

// processCPU returns the user+system CPU time of this process, or 0.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
