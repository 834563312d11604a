package ldapsource

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/syncd/syncd/internal/secret"
	"github.com/syncd/syncd/internal/testenv"
	"github.com/syncd/syncd/sources"
)

// benchAttrs is what a typical mapping reads (the anchor comes on top).
var benchAttrs = []string{"uid", "cn", "sn", "givenname", "mail", "telephonenumber", "title",
	"employeenumber", "departmentnumber", "ou", "displayname"}

// benchEntries returns n users below parent with the attributes a
// typical mapping reads.
func benchEntries(parent string, n int) []testenv.LDAPEntry {
	titles := []string{"Engineer", "Senior Engineer", "Manager", "Analyst", "Director"}
	out := make([]testenv.LDAPEntry, n)
	for i := range out {
		out[i] = testenv.UserEntry(parent, i, map[string][]string{
			"telephoneNumber":  {fmt.Sprintf("+1 555 %03d %04d", i/10000%1000, i%10000)},
			"title":            {titles[i%len(titles)]},
			"departmentNumber": {fmt.Sprint(i % 50)},
			"ou":               {"engineering"},
			"displayName":      {fmt.Sprintf("Test User %d", i)},
		})
	}
	return out
}

// BenchmarkRead measures full reads of 10k and 100k users from the test
// slapd (ldap:// on loopback, page size 500, 11 attributes + entryUUID),
// beside ldapsearch doing the same query, and reports entries/s and the
// peak Go heap during the read (which should not grow with the directory).
//
//	go test -run '^$' -bench BenchmarkRead -benchtime 1x ./sources/ldapsource
func BenchmarkRead(b *testing.B) {
	srv := testenv.LDAP(b)
	for _, n := range []int{10_000, 100_000} {
		b.Run(fmt.Sprintf("%dk", n/1000), func(b *testing.B) {
			// Loaded once and kept (100k: ~25-80 s the first time).
			base := srv.Fixture(b, fmt.Sprintf("bench%d", n), "v1", func(p string) []testenv.LDAPEntry {
				return benchEntries(p, n)
			})
			cfg := Config{
				URL: srv.URL, AllowPlaintext: true, BindDN: srv.BindDN, BindPassword: secret.New(srv.Password),
				BaseDN: DNList{base}, Scope: "one", Timeout: 5 * time.Minute,
			}
			src, err := New(cfg, zap.NewNop())
			if err != nil {
				b.Fatal(err)
			}
			runtime.GC()
			var peak atomic.Uint64
			stop := make(chan struct{})
			sampled := make(chan struct{})
			go func() { // sample the heap while reading
				defer close(sampled)
				var ms runtime.MemStats
				t := time.NewTicker(20 * time.Millisecond)
				defer t.Stop()
				for {
					select {
					case <-stop:
						return
					case <-t.C:
						runtime.ReadMemStats(&ms)
						if ms.HeapInuse > peak.Load() {
							peak.Store(ms.HeapInuse)
						}
					}
				}
			}()
			var total time.Duration
			b.ResetTimer()
			for b.Loop() {
				start := time.Now()
				r, err := src.Open(context.Background(), sources.ReadRequest{Attributes: benchAttrs})
				if err != nil {
					b.Fatal(err)
				}
				got := 0
				for r.Next() {
					if r.Record().Anchor == "" {
						b.Fatal("empty anchor")
					}
					got++
				}
				if err := r.Err(); err != nil || got != n {
					b.Fatalf("read %d of %d: %v", got, n, err)
				}
				_ = r.Close()
				total += time.Since(start)
			}
			b.StopTimer()
			close(stop)
			<-sampled
			perRead := total / time.Duration(b.N)
			b.ReportMetric(float64(n)/perRead.Seconds(), "entries/s")
			b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MiB")

			// ldapsearch, same query, same page size, output discarded.
			args := []string{"-x", "-LLL", "-H", srv.URL, "-D", srv.BindDN, "-w", srv.Password,
				"-b", base, "-s", "one", "-E", "pr=500/noprompt", DefaultFilter}
			args = append(args, append(benchAttrs, "entryUUID")...)
			cmd := exec.Command("ldapsearch", args...)
			start := time.Now()
			if err := cmd.Start(); err != nil {
				b.Logf("ldapsearch not run: %v", err)
				return
			}
			// wait4's maxrss would count the Go process's pages the child
			// had between fork and exec: poll VmHWM instead.
			hwm := make(chan int64)
			go func() { hwm <- pollHWM(cmd.Process.Pid) }()
			if err := cmd.Wait(); err != nil {
				b.Fatalf("ldapsearch: %v", err)
			}
			ls := time.Since(start)
			lsRSS := <-hwm
			b.ReportMetric(ls.Seconds(), "ldapsearch-s")
			b.ReportMetric(perRead.Seconds()/ls.Seconds(), "x-ldapsearch")
			var self syscall.Rusage
			_ = syscall.Getrusage(syscall.RUSAGE_SELF, &self)
			b.Logf("n=%d: syncd %s (%.0f entries/s, peak heap %.1f MiB, process maxrss so far %.1f MiB); ldapsearch %s (maxrss %.1f MiB): %s",
				n, perRead.Round(time.Millisecond), float64(n)/perRead.Seconds(), float64(peak.Load())/(1<<20),
				float64(self.Maxrss)/1024, ls.Round(time.Millisecond), float64(lsRSS)/1024, strings.Join(cmd.Args[:3], " "))
		})
	}
}

// pollHWM returns the peak resident set (VmHWM, KiB) of process pid, read
// from /proc every few milliseconds until the process is gone.
func pollHWM(pid int) int64 {
	var peak int64
	for {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		if err != nil {
			return peak
		}
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
				var kb int64
				fmt.Sscan(strings.TrimSuffix(strings.TrimSpace(v), " kB"), &kb)
				peak = max(peak, kb)
			}
			if v, ok := strings.CutPrefix(line, "State:"); ok && strings.Contains(v, "Z") {
				return peak
			}
		}
		time.Sleep(2 * time.Millisecond)
	}
}
