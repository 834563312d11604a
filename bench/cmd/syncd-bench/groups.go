package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"syscall"
	"time"

	"go.uber.org/zap"

	"github.com/syncd/syncd/internal/benchgroups"
	"github.com/syncd/syncd/reconcile"
	"github.com/syncd/syncd/sink/pingone/pingonetest"
	"github.com/syncd/syncd/sources/csvsource"
)

// GroupsRun is the membership bench: -groups-n users in 5 of 20 groups
// each (a CSV groups column, from_records), synced under the budget B,
// with every request counted at the emulator.
type GroupsRun struct {
	Users       int     `json:"users"`
	Groups      int     `json:"groups"`
	Rate        float64 `json:"rate"`
	LatencyMS   float64 `json:"latency_ms"`
	Concurrency int     `json:"concurrency"`
	// Initial sync: users, groups and memberships created.
	InitialSeconds         float64 `json:"initial_seconds"`
	InitialRequests        int     `json:"initial_requests"`
	InitialUserCreates     int     `json:"initial_user_creates"`
	InitialGroupCreates    int     `json:"initial_group_creates"`
	InitialMembershipCalls int     `json:"initial_membership_calls"`
	// NoopRequests counts every API request of the run that follows.
	NoopRequests int `json:"noop_requests"`
	// One user joins a group, another leaves one: every API request.
	PlusMinusRequests        int `json:"plus_minus_requests"`
	PlusMinusMembershipCalls int `json:"plus_minus_membership_calls"`
	RateLimited429           int `json:"responses_429"`
}

// GroupsPlanRun is planning the memberships of a synced state (a dry run
// that finds them all unchanged), in a child process of its own.
type GroupsPlanRun struct {
	Users       int     `json:"users"`
	Memberships int     `json:"memberships"`
	SeedSeconds float64 `json:"seed_seconds"`
	// GroupsPlanSeconds is the run's Phases.Groups: loading the
	// membership checkpoints and diffing them; PlanSeconds the whole
	// plan phase (the user diff too).
	GroupsPlanSeconds float64 `json:"groups_plan_seconds"`
	PlanSeconds       float64 `json:"plan_seconds"`
	MembershipsPerSec float64 `json:"memberships_per_sec"`
	PeakRSSMiB        float64 `json:"peak_rss_mib"`
	Load1             float64 `json:"load1_before"`
	// RunCPUSeconds is the CPU time (user + system) the process spent in
	// the whole dry run (reading and mapping the CSV, the user diff, the
	// groups' plan); MembershipsPerCPUSec divides the memberships by it: a
	// lower bound of the planning rate that a busy machine's other
	// processes do not lower.
	RunCPUSeconds        float64 `json:"run_cpu_seconds"`
	MembershipsPerCPUSec float64 `json:"memberships_per_cpu_sec"`
	// UsersOnlyCPUSeconds is the CPU time of the same dry run without
	// the groups block, run after it; GroupsCPUSeconds the difference:
	// what planning the memberships costs in CPU, whatever the load.
	UsersOnlyCPUSeconds        float64 `json:"users_only_cpu_seconds"`
	GroupsCPUSeconds           float64 `json:"groups_cpu_seconds"`
	MembershipsPerGroupsCPUSec float64 `json:"memberships_per_groups_cpu_sec"`
}

// groupsRun syncs -groups-n users and their memberships under the budget,
// then runs again unchanged, then with one membership added and one
// removed. It fails unless the calls are exactly 5·N memberships + one
// per group, 0, and 2.
func groupsRun(o options, dir string) (*GroupsRun, error) {
	n := o.groupsN
	conc := max(8, int(math.Ceil(o.rate*(o.latency.Seconds()+0.005)*1.5)))
	e, err := newEnv(dir, pingonetest.Options{RateLimit: o.rate, Burst: max(1, int(o.rate/10)), Latency: o.latency}, o.rate, conc, o.specSample)
	if err != nil {
		return nil, err
	}
	defer e.close()
	csvPath := filepath.Join(dir, "groups.csv")
	defer os.Remove(csvPath)
	if err := benchgroups.WriteCSV(csvPath, n, nil); err != nil {
		return nil, err
	}
	m, gm, err := benchgroups.Mappers()
	if err != nil {
		return nil, err
	}
	src, err := csvsource.New(csvsource.Config{Path: csvPath, Key: "id"}, zap.NewNop())
	if err != nil {
		return nil, err
	}
	job := newJob(src, m, conc)
	job.BatchSize = o.batch
	job.Groups = &reconcile.Groups{Mapper: gm}
	job.Groups.SetDefaults()
	ctx := context.Background()
	gr := &GroupsRun{Users: n, Groups: benchgroups.Groups, Rate: o.rate, LatencyMS: float64(o.latency) / float64(time.Millisecond), Concurrency: conc}
	requests := func() int { st := e.emu.Stats(); return st.Requests - st.TokenRequests }

	fmt.Fprintf(os.Stderr, "groups: initial sync of %d users × %d groups at %.0f req/s (ideal %.0f s)\n", n, benchgroups.Per, o.rate, float64(n*(1+benchgroups.Per))/o.rate)
	e.emu.ResetStats()
	t0 := time.Now()
	rep, err := e.eng.Run(ctx, job, reconcile.Options{})
	if err != nil {
		return nil, fmt.Errorf("initial sync: %w", err)
	}
	gr.InitialSeconds = time.Since(t0).Seconds()
	st := e.emu.Stats()
	gr.InitialRequests, gr.RateLimited429 = requests(), st.RateLimited
	gr.InitialUserCreates, gr.InitialGroupCreates, gr.InitialMembershipCalls = st.ByOperation["createUser"], st.ByOperation["createGroup"], st.ByOperation["addUserToGroup"]
	if rep.Counts.Failed != 0 || rep.Groups == nil || rep.Groups.Counts.Failed != 0 {
		return nil, fmt.Errorf("initial sync: %d user and %d group failures", rep.Counts.Failed, rep.Groups.Counts.Failed)
	}
	if gr.InitialMembershipCalls != benchgroups.Per*n || gr.InitialGroupCreates != benchgroups.Groups {
		return nil, fmt.Errorf("initial sync: %d membership calls and %d group creates, want exactly %d and %d",
			gr.InitialMembershipCalls, gr.InitialGroupCreates, benchgroups.Per*n, benchgroups.Groups)
	}

	e.emu.ResetStats()
	if _, err := e.eng.Run(ctx, job, reconcile.Options{ForceFull: true}); err != nil {
		return nil, fmt.Errorf("no-op run: %w", err)
	}
	gr.NoopRequests = requests()

	// User 0 joins a group it was not in (G10), user 1 leaves G01.
	err = benchgroups.WriteCSV(csvPath, n, func(i int, gs []string) []string {
		switch i {
		case 0:
			return append(gs, benchgroups.GroupName(10))
		case 1:
			return gs[1:]
		}
		return gs
	})
	if err != nil {
		return nil, err
	}
	e.emu.ResetStats()
	if _, err := e.eng.Run(ctx, job, reconcile.Options{}); err != nil {
		return nil, fmt.Errorf("+1/-1 run: %w", err)
	}
	st = e.emu.Stats()
	gr.PlusMinusRequests = requests()
	gr.PlusMinusMembershipCalls = st.ByOperation["addUserToGroup"] + st.ByOperation["removeUserFromGroup"]
	gr.RateLimited429 += st.RateLimited
	fmt.Fprintf(os.Stderr, "groups: initial %.1f s, %d requests (%d users, %d groups, %d memberships); no-op %d requests; +1/-1 %d requests\n",
		gr.InitialSeconds, gr.InitialRequests, gr.InitialUserCreates, gr.InitialGroupCreates, gr.InitialMembershipCalls, gr.NoopRequests, gr.PlusMinusRequests)
	return gr, specErr(e.emu)
}

// groupsPlanInChild plans -groups-plan-n users' memberships in a child.
func groupsPlanInChild(o options) (*GroupsPlanRun, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self, "-child", "groups-plan", "-groups-plan-n", fmt.Sprint(o.groupsPlanN), "-profile", o.profile)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, err
	}
	var pr GroupsPlanRun
	if err := json.Unmarshal(out, &pr); err != nil {
		return nil, fmt.Errorf("child output %q: %w", out, err)
	}
	return &pr, nil
}

// groupsPlanChild seeds a state as if every user, group and membership
// had been synced, then times a dry run that plans them all unchanged.
func groupsPlanChild(o options) error {
	n := o.groupsPlanN
	dir, err := os.MkdirTemp("", "syncd-bench-child-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	e, err := newEnv(dir, pingonetest.Options{}, 1e6, 8, o.specSample)
	if err != nil {
		return err
	}
	defer e.close()
	csvPath := filepath.Join(dir, "groups.csv")
	if err := benchgroups.WriteCSV(csvPath, n, nil); err != nil {
		return err
	}
	m, gm, err := benchgroups.Mappers()
	if err != nil {
		return err
	}
	src, err := csvsource.New(csvsource.Config{Path: csvPath, Key: "id"}, zap.NewNop())
	if err != nil {
		return err
	}
	ctx := context.Background()
	popID, err := e.client.ResolvePopulation(ctx, "Staff")
	if err != nil {
		return err
	}
	t := time.Now()
	seeded, err := benchgroups.Seed(ctx, e.store, "bench", src, m, gm, popID)
	if err != nil {
		return fmt.Errorf("seed state: %w", err)
	}
	pr := GroupsPlanRun{Users: n, Memberships: seeded, SeedSeconds: time.Since(t).Seconds()}
	job := newJob(src, m, 8)
	job.Groups = &reconcile.Groups{Mapper: gm}
	job.Groups.SetDefaults()
	// The seeding's memory is not the run's (see childMain).
	runtime.GC()
	debug.FreeOSMemory()
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		return fmt.Errorf("reset the peak RSS after seeding: %w", err)
	}
	stop := func() {}
	if o.profile != "" {
		if stop, err = startProfile(o.profile, fmt.Sprintf("groups-plan-%d", n)); err != nil {
			return err
		}
	}
	pr.Load1 = load1()
	cpu0 := cpuSeconds()
	rep, err := e.eng.Run(ctx, job, reconcile.Options{DryRun: true, ForceFull: true})
	pr.RunCPUSeconds = cpuSeconds() - cpu0
	stop()
	if err != nil {
		return err
	}
	gc := rep.Groups.Counts
	if gc.MembersUnchanged != seeded || seeded != benchgroups.Per*n || len(rep.Groups.Members) != 0 {
		return fmt.Errorf("plan over a synced state: %+v; want all %d memberships unchanged", gc, seeded)
	}
	pr.GroupsPlanSeconds, pr.PlanSeconds = rep.Phases.Groups.Seconds(), rep.Phases.Plan.Seconds()
	pr.MembershipsPerSec = float64(seeded) / pr.GroupsPlanSeconds
	pr.MembershipsPerCPUSec = float64(seeded) / pr.RunCPUSeconds
	pr.PeakRSSMiB = peakRSSMiB()

	// The same dry run without the groups: the CPU the groups add.
	job.Groups = nil
	runtime.GC()
	cpu0 = cpuSeconds()
	if _, err := e.eng.Run(ctx, job, reconcile.Options{DryRun: true, ForceFull: true}); err != nil {
		return err
	}
	pr.UsersOnlyCPUSeconds = cpuSeconds() - cpu0
	pr.GroupsCPUSeconds = pr.RunCPUSeconds - pr.UsersOnlyCPUSeconds
	if pr.GroupsCPUSeconds > 0 {
		pr.MembershipsPerGroupsCPUSec = float64(seeded) / pr.GroupsCPUSeconds
	}
	if err := specErr(e.emu); err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(pr)
}

// cpuSeconds is the CPU time (user + system) this process has used.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return math.NaN()
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}
