package reconcile_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/syncd/syncd/internal/benchgroups"
	"github.com/syncd/syncd/internal/secret"
	"github.com/syncd/syncd/mapper"
	"github.com/syncd/syncd/reconcile"
	"github.com/syncd/syncd/sink/pingone"
	"github.com/syncd/syncd/sink/pingone/pingonetest"
	"github.com/syncd/syncd/sources/csvsource"
	"github.com/syncd/syncd/state/sqlitestate"
)

// BenchmarkGroupMemberships is the membership bench (README Performance):
// N users (SYNCD_BENCH_GROUP_USERS, default 20,000) in 5 groups each, from
// a CSV's groups column, against the emulator (no rate limit) and SQLite
// state. It checks the call counts exactly — the initial sync costs 5·N
// membership calls plus one per group, the next run none, one member
// added and one removed two — and reports the memberships a plan handles
// per second and the process's peak RSS. It runs once whatever b.N.
//
//	SYNCD_BENCH_GROUP_USERS=100000 go test ./reconcile -run '^$' -bench GroupMemberships -benchtime 1x
func BenchmarkGroupMemberships(b *testing.B) {
	n := 20_000
	if s := os.Getenv("SYNCD_BENCH_GROUP_USERS"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 10 {
			b.Fatalf("SYNCD_BENCH_GROUP_USERS=%q: want a number ≥ 10", s)
		}
		n = v
	}
	const groups, per = 20, 5
	ctx := context.Background()
	dir := b.TempDir()
	csvPath := filepath.Join(dir, "people.csv")
	write := func(edit func(i int, gs []string) []string) {
		f, err := os.Create(csvPath)
		if err != nil {
			b.Fatal(err)
		}
		w := bufio.NewWriter(f)
		fmt.Fprintln(w, "id,uid,mail,groups")
		for i := 0; i < n; i++ {
			gs := make([]string, per)
			for k := range gs {
				gs[k] = fmt.Sprintf("G%02d", (i+k)%groups)
			}
			if edit != nil {
				gs = edit(i, gs)
			}
			fmt.Fprintf(w, "e%07d,user%07d,user%07d@example.com,%s\n", i, i, i, strings.Join(gs, ";"))
		}
		if err := w.Flush(); err != nil {
			b.Fatal(err)
		}
		f.Close()
	}
	write(nil)

	// One request in 100 is validated against the spec (validation costs
	// ~2 ms of CPU a request); the groups tests validate every one.
	emu := pingonetest.NewServer(b, pingonetest.Options{Populations: []string{"Staff"}, SpecFile: pingonetest.SpecPath(b), SpecSample: 100, StrictSpec: true})
	client, err := pingone.New(pingone.Config{
		APIURL: emu.APIURL(), AuthURL: emu.AuthURL(), EnvironmentID: emu.EnvironmentID(),
		ClientID: emu.ClientID(), ClientSecret: secret.New(emu.ClientSecret()), RateLimit: 1e6, Concurrency: 16,
	}, zap.NewNop(), pingone.WithHTTPClient(&http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 32}}))
	if err != nil {
		b.Fatal(err)
	}
	st, err := sqlitestate.Open(ctx, filepath.Join(dir, "state.db"), sqlitestate.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	m, err := mapper.Compile(mapper.Config{Mapping: map[string]string{"username": "uid", "email": "mail"}, Population: mapper.Population{Name: "Staff"}})
	if err != nil {
		b.Fatal(err)
	}
	gm, err := mapper.CompileGroups(mapper.GroupExprs{FromRecords: `split(groups, ";")`})
	if err != nil {
		b.Fatal(err)
	}
	src, err := csvsource.New(csvsource.Config{Path: csvPath, Key: "id"}, zap.NewNop())
	if err != nil {
		b.Fatal(err)
	}
	job := &reconcile.Job{Name: "bench", Source: src, Mapper: m, BatchSize: 1000, Workers: 16, Groups: &reconcile.Groups{Mapper: gm}}
	job.Groups.SetDefaults()
	job.SetDefaults()
	eng := &reconcile.Engine{Store: st, Target: client, Logger: zap.NewNop(), Calls: func() int64 { return client.Stats().Total() }}
	run := func(what string, opts reconcile.Options) *reconcile.Report {
		emu.ResetStats()
		rep, err := eng.Run(ctx, job, opts)
		if err != nil {
			b.Fatalf("%s: %v", what, err)
		}
		return rep
	}

	b.ResetTimer()
	t0 := time.Now()
	rep := run("initial sync", reconcile.Options{})
	initial := time.Since(t0)
	ops := emu.Stats().ByOperation
	if ops["addUserToGroup"] != per*n || ops["createGroup"] != groups || rep.Counts.Failed != 0 {
		b.Fatalf("initial sync: %d membership calls and %d group creates, want %d and %d (failed %d)", ops["addUserToGroup"], ops["createGroup"], per*n, groups, rep.Counts.Failed)
	}
	b.ReportMetric(float64(ops["addUserToGroup"]), "initial-membership-calls")
	b.ReportMetric(initial.Seconds(), "initial-s")

	rep = run("no-op", reconcile.Options{ForceFull: true})
	if c := emu.Stats().Requests - emu.Stats().TokenRequests; c != 0 {
		b.Fatalf("no-op run: %d API calls", c)
	}
	b.ReportMetric(float64(per*n)/rep.Phases.Plan.Seconds(), "plan-memberships/s")
	b.ReportMetric(rep.Phases.Plan.Seconds(), "noop-plan-s")

	write(func(i int, gs []string) []string {
		switch i {
		case 0:
			return append(gs, "G19x") // joins a new group: +1 membership, +1 group
		case 1:
			return gs[1:] // leaves one: -1
		}
		return gs
	})
	run("+1/-1", reconcile.Options{})
	st2 := emu.Stats()
	if st2.ByOperation["addUserToGroup"] != 1 || st2.ByOperation["removeUserFromGroup"] != 1 || st2.Writes != 3 {
		b.Fatalf("+1/-1: %v (writes %d), want one add, one remove and one group create", st2.ByOperation, st2.Writes)
	}
	b.ReportMetric(float64(st2.ByOperation["addUserToGroup"]+st2.ByOperation["removeUserFromGroup"]), "plus1-minus1-membership-calls")
	if rss := peakRSS(); rss > 0 {
		b.ReportMetric(float64(rss)/(1<<20), "peak-RSS-MiB")
	}
}

// peakRSS is the process's VmHWM in bytes (0 when unknown).
func peakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// BenchmarkPlanMemberships measures planning memberships: N users
// (SYNCD_BENCH_GROUP_USERS, default 100,000) in 5 of 20 groups each, with
// a state seeded as if they had all been synced (benchgroups.Seed), then a
// dry run that finds every one of the 5·N memberships unchanged. It
// reports memberships per second of the groups' plan (Phases.Groups:
// loading the membership checkpoints and diffing them) and of the whole
// plan phase (the user diff too), and the process's peak RSS. It fails
// unless the plan is all no-ops. It runs once whatever b.N.
//
//	go test ./reconcile -run '^$' -bench PlanMemberships -benchtime 1x -cpuprofile cpu.out
func BenchmarkPlanMemberships(b *testing.B) {
	n := 100_000
	if s := os.Getenv("SYNCD_BENCH_GROUP_USERS"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 10 {
			b.Fatalf("SYNCD_BENCH_GROUP_USERS=%q: want a number ≥ 10", s)
		}
		n = v
	}
	ctx := context.Background()
	dir := b.TempDir()
	csvPath := filepath.Join(dir, "people.csv")
	if err := benchgroups.WriteCSV(csvPath, n, nil); err != nil {
		b.Fatal(err)
	}
	// One request in 100 is validated against the spec, as above.
	emu := pingonetest.NewServer(b, pingonetest.Options{Populations: []string{"Staff"}, SpecFile: pingonetest.SpecPath(b), SpecSample: 100, StrictSpec: true})
	client, err := pingone.New(pingone.Config{
		APIURL: emu.APIURL(), AuthURL: emu.AuthURL(), EnvironmentID: emu.EnvironmentID(),
		ClientID: emu.ClientID(), ClientSecret: secret.New(emu.ClientSecret()), RateLimit: 1e6, Concurrency: 16,
	}, zap.NewNop())
	if err != nil {
		b.Fatal(err)
	}
	st, err := sqlitestate.Open(ctx, filepath.Join(dir, "state.db"), sqlitestate.Options{AutoMigrate: true})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	m, gm, err := benchgroups.Mappers()
	if err != nil {
		b.Fatal(err)
	}
	src, err := csvsource.New(csvsource.Config{Path: csvPath, Key: "id"}, zap.NewNop())
	if err != nil {
		b.Fatal(err)
	}
	popID, err := client.ResolvePopulation(ctx, "Staff")
	if err != nil {
		b.Fatal(err)
	}
	seeded, err := benchgroups.Seed(ctx, st, "bench", src, m, gm, popID)
	if err != nil {
		b.Fatal(err)
	}
	job := &reconcile.Job{Name: "bench", Source: src, Mapper: m, Groups: &reconcile.Groups{Mapper: gm}}
	job.Groups.SetDefaults()
	job.SetDefaults()
	eng := &reconcile.Engine{Store: st, Target: client, Logger: zap.NewNop()}
	runtime.GC()
	b.ResetTimer()
	rep, err := eng.Run(ctx, job, reconcile.Options{DryRun: true, ForceFull: true})
	if err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	gc := rep.Groups.Counts
	if gc.MembersUnchanged != seeded || seeded != benchgroups.Per*n || len(rep.Groups.Members) != 0 || gc.Unchanged != benchgroups.Groups || rep.Counts.Unchanged != n {
		b.Fatalf("plan over a synced state: %+v, users %+v; want %d memberships unchanged and nothing else", gc, rep.Counts, seeded)
	}
	b.ReportMetric(float64(seeded)/rep.Phases.Groups.Seconds(), "memberships/s")
	b.ReportMetric(float64(seeded)/rep.Phases.Plan.Seconds(), "memberships/s-whole-plan")
	b.ReportMetric(rep.Phases.Groups.Seconds(), "groups-plan-s")
	if rss := peakRSS(); rss > 0 {
		b.ReportMetric(float64(rss)/(1<<20), "peak-RSS-MiB")
	}
}
