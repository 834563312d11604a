// Command syncd-bench is syncd's performance harness. It generates users,
// runs the sync engine (in-process, exactly as `syncd sync` wires it)
// against the in-process PingOne emulator, prints a table and writes the
// figures as JSON.
//
//	go run ./bench/cmd/syncd-bench -n 100000 -rate 1000 -latency 20ms -out bench/results.json
//
// What it measures (README "Performance" lists the goals):
//
//   - pipeline: a dry run (read + map + diff + plan; no API call but the
//     population look-up) over -pipeline sizes of CSV records, each in a
//     child process of its own so that its peak RSS (VmHWM) is its own;
//   - apply: an initial sync of -apply-n users from CSV under an API budget
//     of -rate requests/s (the emulator's limit and the client's
//     rate_limit), then a run updating one attribute of a tenth of them:
//     ops/s ÷ rate, wall time ÷ (N / rate), API calls per create and update;
//   - no-op: against slapd (SYNCD_TEST_LDAP_*, with testenv's defaults;
//     fixture ou=bench100000 from .ci/ldap/seed-bench.sh), an unthrottled
//     initial sync of the fixture, then a timed run that finds nothing to
//     do: wall time and API calls. -ldap auto skips it when slapd or the
//     fixture is missing.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"go.uber.org/zap"

	"github.com/syncd/syncd/internal/secret"
	"github.com/syncd/syncd/internal/testenv"
	"github.com/syncd/syncd/mapper"
	"github.com/syncd/syncd/reconcile"
	"github.com/syncd/syncd/sink/pingone"
	"github.com/syncd/syncd/sink/pingone/pingonetest"
	"github.com/syncd/syncd/sources"
	"github.com/syncd/syncd/sources/csvsource"
	"github.com/syncd/syncd/sources/ldapsource"
	"github.com/syncd/syncd/state"
	"github.com/syncd/syncd/state/sqlitestate"
)

// options are the command line.
type options struct {
	n         int
	rate      float64
	latency   time.Duration
	out       string
	pipeline  string
	applyN    int
	ldap      string
	ldapBase  string
	skipApply bool
	batch     int
	workDir   string
	// child mode: run one pipeline measurement and print it as JSON.
	child    string
	childCSV string
	profile  string
	// managed also measures each pipeline size against a state that
	// already manages every record (a steady-state plan: all no-ops).
	managed      bool
	childManaged bool
	// share measures two processes sharing one budget (share.go).
	share     string
	shareN    int
	shareConc int
	// groups: the membership bench (groups.go).
	groups      string
	groupsN     int
	groupsPlanN int
	// listing: verify and first-run over a large environment (listing.go).
	listingN   int
	listingURL string
	listingEnv string
	listingIDs string
	// listingKinds: which listing runs to make ("verify,first-run").
	listingKinds string
	// specSample: the emulator validates one API request in specSample
	// against the PingOne spec (1: every one; see pingonetest.Options).
	specSample int
	// deltaManaged is the managed users under the scripted delta (0: skip).
	deltaManaged int
	// idle: bin/syncd run watching slapd, measured idle (idle.go).
	idle         string
	idleN        int
	idleBase     string
	idleDelta    string
	idleInterval time.Duration
	idleSettle   time.Duration
	idleWindow   time.Duration
	idleTimeout  time.Duration
	idleStep     time.Duration
	idleRate     float64
	syncdBin     string
	emulatorBin  string
}

// Results is what -out receives.
type Results struct {
	Machine  Machine       `json:"machine"`
	Command  string        `json:"command"`
	Pipeline []PipelineRun `json:"pipeline"`
	Apply    *ApplyRun     `json:"apply,omitempty"`
	Noop     *NoopRun      `json:"noop,omitempty"`
	Share    *ShareRun     `json:"share,omitempty"`
	Groups   *GroupsRun    `json:"groups,omitempty"`
	// GroupsPlan is planning the memberships of a synced state.
	GroupsPlan *GroupsPlanRun `json:"groups_plan,omitempty"`
	// Listing is verify and first-run over -listing-n PingOne users.
	Listing []ListingRun `json:"listing,omitempty"`
	// Delta is a delta of 12 changes over -delta-managed managed users;
	// LDAPDelta the same over the slapd fixture (syncrepl), after the no-op.
	Delta     *DeltaRun `json:"delta,omitempty"`
	LDAPDelta *DeltaRun `json:"ldap_delta,omitempty"`
	// Idle is `syncd run` watching slapd while nothing changes.
	Idle  *IdleRun       `json:"idle,omitempty"`
	Goals []GoalResult   `json:"goals"`
	Extra map[string]any `json:"extra,omitempty"`
}

// Machine describes where the figures come from.
type Machine struct {
	CPUs      int     `json:"cpus"`
	GoVersion string  `json:"go"`
	Load1     float64 `json:"load1_at_start"`
	Time      string  `json:"time"`
}

// PipelineRun is one dry run over CSV records.
type PipelineRun struct {
	Records       int     `json:"records"`
	Seconds       float64 `json:"seconds"`
	RecordsPerSec float64 `json:"records_per_sec"`
	PeakRSSMiB    float64 `json:"peak_rss_mib"`
	APICalls      int64   `json:"api_calls"`
	Planned       int     `json:"planned_creates"`
	// Managed is set for a run against a state that already manages
	// every record: the plan is all no-ops (Unchanged).
	Managed     bool    `json:"managed,omitempty"`
	Unchanged   int     `json:"unchanged,omitempty"`
	SeedSeconds float64 `json:"seed_seconds,omitempty"`
}

// ApplyRun is the rate-limited initial sync and update run.
type ApplyRun struct {
	Users          int     `json:"users"`
	Rate           float64 `json:"rate"`
	LatencyMS      float64 `json:"latency_ms"`
	Concurrency    int     `json:"concurrency"`
	BatchSize      int     `json:"batch_size"`
	InitialSeconds float64 `json:"initial_seconds"`
	InitialIdeal   float64 `json:"initial_ideal_seconds"`
	InitialRatio   float64 `json:"initial_ratio"`
	ApplySeconds   float64 `json:"apply_phase_seconds"`
	OpsPerSec      float64 `json:"ops_per_sec"`
	OpsPerBudget   float64 `json:"ops_per_budget"`
	CallsPerCreate float64 `json:"calls_per_create"`
	Updated        int     `json:"updated"`
	UpdateSeconds  float64 `json:"update_seconds"`
	CallsPerUpdate float64 `json:"calls_per_update"`
	// NestedUpdated and CallsPerNestedUpdate are the same for a change of
	// name.given (a member of a complex attribute), counting every API
	// request the run made.
	NestedUpdated        int     `json:"nested_updated"`
	CallsPerNestedUpdate float64 `json:"calls_per_nested_update"`
	RateLimited429       int     `json:"responses_429"`
	EmulatorRequests     int     `json:"emulator_requests"`
}

// NoopRun is the run over an unchanged directory.
type NoopRun struct {
	Users       int     `json:"users"`
	SeedSeconds float64 `json:"seed_seconds"`
	Seconds     float64 `json:"seconds"`
	APICalls    int64   `json:"api_calls"`
	Unchanged   int     `json:"unchanged"`
	// Changed counts creates, updates, disables and enables the run made:
	// non-zero when the directory changed between the two runs (a shared
	// test slapd), which also explains any API call.
	Changed     int     `json:"changed"`
	ReadSeconds float64 `json:"read_seconds"`
}

// GoalResult compares one figure with its goal.
type GoalResult struct {
	Name  string  `json:"name"`
	Value float64 `json:"value"`
	Goal  string  `json:"goal"`
	Met   bool    `json:"met"`
}

func main() {
	var o options
	flag.IntVar(&o.n, "n", 100000, "users for the apply runs' upper bound and the default pipeline size")
	flag.Float64Var(&o.rate, "rate", 1000, "API budget B in requests/s: the emulator's limit and the client's rate_limit")
	flag.DurationVar(&o.latency, "latency", 20*time.Millisecond, "latency the emulator adds to every API request")
	flag.StringVar(&o.out, "out", "bench/results.json", "JSON results file (\"\": none)")
	flag.StringVar(&o.pipeline, "pipeline", "", "comma-separated record counts for the dry-run pipeline (default: n and 10·n; none: no pipeline run)")
	flag.IntVar(&o.applyN, "apply-n", 0, "users for the rate-limited initial sync (default: min(n, 30·rate): about 30 s)")
	flag.StringVar(&o.ldap, "ldap", "auto", "no-op measurement against slapd (SYNCD_TEST_LDAP_*): on, off, or auto (when slapd answers and holds the fixture)")
	flag.StringVar(&o.ldapBase, "ldap-base", "", "LDAP subtree for the no-op run (default ou=bench100000,<SYNCD_TEST_LDAP_BASE_DN>)")
	flag.IntVar(&o.batch, "batch", 200, "the job's batch_size for the apply runs (syncd's default 200)")
	flag.BoolVar(&o.skipApply, "skip-apply", false, "skip the rate-limited apply runs (the users' and the groups')")
	flag.StringVar(&o.workDir, "dir", "", "work directory (default: a temporary one, removed at the end)")
	flag.StringVar(&o.profile, "profile", "", "write CPU and heap profiles of each pipeline run into this directory")
	flag.StringVar(&o.child, "child", "", "internal: run one measurement in this process (pipeline)")
	flag.StringVar(&o.childCSV, "child-csv", "", "internal: the CSV file of a child run")
	flag.BoolVar(&o.managed, "managed", true, "also run each pipeline size against a state that already manages every record (seeding 1M checkpoints: ~15 s)")
	flag.BoolVar(&o.childManaged, "child-managed", false, "internal: seed the child's state with every record first")
	flag.StringVar(&o.share, "share", "auto", "two processes sharing B through PostgreSQL (SYNCD_TEST_POSTGRES_URL): on, off, or auto (when PostgreSQL answers)")
	flag.IntVar(&o.shareN, "share-n", 0, "users per process for -share (default: min(n, 10·rate))")
	flag.IntVar(&o.shareConc, "share-concurrency", 8, "internal: a share child's concurrency")
	flag.StringVar(&o.groups, "groups", "on", "on, off, or only (no other measurement): the membership bench: an initial sync of -groups-n users in 5 of 20 groups each under B, a no-op run, one member added and one removed; and planning -groups-plan-n users' memberships")
	flag.IntVar(&o.groupsN, "groups-n", 100000, "users of the membership apply runs (5 memberships each; at B=1000 100,000 users take about 10 minutes; 0: none)")
	flag.IntVar(&o.groupsPlanN, "groups-plan-n", 100000, "users whose 5 memberships each the planning run finds unchanged (100,000: 500k memberships)")
	flag.IntVar(&o.listingN, "listing-n", -1, "PingOne users for the verify and first-run memory rows (default 10·n; 0: none)")
	flag.StringVar(&o.listingKinds, "listing-kinds", "verify,first-run", "comma-separated listing runs to make: verify, first-run")
	flag.StringVar(&o.listingURL, "listing-url", "", "internal: the emulator of a listing child")
	flag.StringVar(&o.listingEnv, "listing-env", "", "internal: the environment id of a listing child")
	flag.StringVar(&o.listingIDs, "listing-ids", "", "internal: the PingOne user ids of a listing child's records")
	flag.IntVar(&o.specSample, "spec-sample", 100, "validate one emulator request in this many against the PingOne OpenAPI spec ($SYNCD_PINGONE_SPEC or the vendored copy); 1 validates all (about 2 ms of CPU each, which slows the apply figures)")
	flag.IntVar(&o.deltaManaged, "delta-managed", 1_000_000, "managed users under the delta of 12 changes (seeding 1M checkpoints: ~30 s; 0 skips it)")
	flag.StringVar(&o.idle, "idle", "auto", "on, off, auto (when slapd answers) or only (no other measurement): bin/syncd run watching -idle-n slapd users, each binary a process of its own; once the first run has synced them and syncd has logged nothing for -idle-settle, syncd's and the emulator's CPU, the API requests and the LDAP messages over -idle-window")
	flag.IntVar(&o.idleN, "idle-n", 0, "slapd users of the idle run (default n): the fixture ou=bench<idle-n> (.ci/ldap/seed-bench.sh)")
	flag.StringVar(&o.idleBase, "idle-base", "", "LDAP subtree of the idle run (default ou=bench<idle-n>,<SYNCD_TEST_LDAP_BASE_DN>)")
	flag.StringVar(&o.idleDelta, "idle-delta", "auto", "the idle job's ldap.delta: auto (syncrepl on slapd: a persistent search) or timestamp (a poll every watch_interval)")
	flag.DurationVar(&o.idleInterval, "idle-interval", 0, "the idle job's watch_interval (0: syncd's default, 10s)")
	flag.DurationVar(&o.idleSettle, "idle-settle", 30*time.Second, "after the first run, wait until syncd has logged nothing this long before the window")
	flag.DurationVar(&o.idleWindow, "idle-window", time.Minute, "the measured idle window")
	flag.DurationVar(&o.idleStep, "idle-step", 0, "also print syncd's CPU and the LDAP messages so far every this long during the window (0: no)")
	flag.DurationVar(&o.idleTimeout, "idle-timeout", 20*time.Minute, "give up when the first run and the settling take longer")
	flag.Float64Var(&o.idleRate, "idle-rate", 5000, "the idle job's pingone.rate_limit for its first run (the emulator is unthrottled)")
	flag.StringVar(&o.syncdBin, "syncd-bin", "bin/syncd", "the syncd binary of the idle run (make build)")
	flag.StringVar(&o.emulatorBin, "emulator-bin", "bin/pingone-emulator", "the emulator binary of the idle run (make build)")
	flag.Parse()
	switch o.groups {
	case "on", "off":
	case "only":
		o.pipeline, o.share, o.ldap, o.listingN, o.idle = "none", "off", "off", 0, "off"
	default:
		fmt.Fprintf(os.Stderr, "syncd-bench: -groups %q: want on, off or only\n", o.groups)
		os.Exit(2)
	}
	switch o.idle {
	case "on", "off", "auto":
	case "only":
		o.pipeline, o.share, o.ldap, o.listingN, o.groups, o.skipApply, o.deltaManaged = "none", "off", "off", 0, "off", true, 0
	default:
		fmt.Fprintf(os.Stderr, "syncd-bench: -idle %q: want on, off, auto or only\n", o.idle)
		os.Exit(2)
	}
	if o.listingN < 0 {
		o.listingN = 10 * o.n
	}
	if o.idleN == 0 {
		o.idleN = o.n
	}

	if o.child != "" {
		if err := childMain(o); err != nil {
			fmt.Fprintln(os.Stderr, "syncd-bench child:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "syncd-bench:", err)
		os.Exit(1)
	}
}

func run(o options) error {
	dir := o.workDir
	if dir == "" {
		d, err := os.MkdirTemp("", "syncd-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	res := Results{
		Machine: Machine{CPUs: runtime.NumCPU(), GoVersion: runtime.Version(), Load1: load1(), Time: time.Now().UTC().Format(time.RFC3339)},
		Command: strings.Join(os.Args, " "),
	}

	sizes := []int{o.n, 10 * o.n}
	if o.pipeline == "none" {
		sizes = nil
	} else if o.pipeline != "" {
		sizes = nil
		for _, s := range strings.Split(o.pipeline, ",") {
			v, err := strconv.Atoi(strings.TrimSpace(s))
			if err != nil || v <= 0 {
				return fmt.Errorf("-pipeline %q: want positive counts", o.pipeline)
			}
			sizes = append(sizes, v)
		}
	}
	for _, n := range sizes {
		csvPath := filepath.Join(dir, fmt.Sprintf("people-%d.csv", n))
		if err := writeCSV(csvPath, n, 0); err != nil {
			return err
		}
		for _, managed := range []bool{false, true} {
			if managed && !o.managed {
				continue
			}
			co := o
			co.childManaged = managed
			pr, err := pipelineInChild(co, csvPath)
			if err != nil {
				os.Remove(csvPath)
				return fmt.Errorf("pipeline %d (managed %t): %w", n, managed, err)
			}
			res.Pipeline = append(res.Pipeline, *pr)
			what := "empty state"
			if managed {
				what = "every record managed"
			}
			fmt.Fprintf(os.Stderr, "pipeline %d records, %s: %.0f records/s, peak RSS %.0f MiB\n", n, what, pr.RecordsPerSec, pr.PeakRSSMiB)
		}
		os.Remove(csvPath)
	}

	if !o.skipApply && o.groups != "only" {
		ar, err := applyRun(o, dir)
		if err != nil {
			return fmt.Errorf("apply: %w", err)
		}
		res.Apply = ar
	}
	if o.deltaManaged > 0 {
		dr, err := managedDeltaRun(o, dir)
		if err != nil {
			return fmt.Errorf("delta over %d managed users: %w", o.deltaManaged, err)
		}
		res.Delta = dr
	}
	if o.share != "off" {
		sr, err := shareRun(o, dir)
		switch {
		case err != nil && o.share == "on":
			return fmt.Errorf("share: %w", err)
		case err != nil:
			fmt.Fprintf(os.Stderr, "two processes sharing the budget skipped (-share auto): %v\n", err)
		default:
			res.Share = sr
		}
	}
	if o.groups != "off" {
		pr, err := groupsPlanInChild(o)
		if err != nil {
			return fmt.Errorf("groups plan: %w", err)
		}
		res.GroupsPlan = pr
		fmt.Fprintf(os.Stderr, "groups plan: %d memberships unchanged in %.2f s (%.0f/s, load %.1f); the dry run used %.2f s of CPU, %.2f s without the groups (%.0f memberships per CPU second of the groups); peak RSS %.0f MiB\n",
			pr.Memberships, pr.GroupsPlanSeconds, pr.MembershipsPerSec, pr.Load1, pr.RunCPUSeconds, pr.UsersOnlyCPUSeconds, pr.MembershipsPerGroupsCPUSec, pr.PeakRSSMiB)
		if o.groupsN > 0 && !o.skipApply {
			gr, err := groupsRun(o, dir)
			if err != nil {
				return fmt.Errorf("groups: %w", err)
			}
			res.Groups = gr
		}
	}
	if o.listingN > 0 {
		lr, err := listingRuns(o, dir)
		if err != nil {
			return fmt.Errorf("listing: %w", err)
		}
		res.Listing = lr
	}
	if o.ldap != "off" {
		nr, dr, err := noopRun(o, dir)
		switch {
		case err != nil && o.ldap == "on":
			return fmt.Errorf("no-op over LDAP: %w", err)
		case err != nil:
			fmt.Fprintf(os.Stderr, "no-op over LDAP skipped (-ldap auto): %v\n", err)
		default:
			res.Noop, res.LDAPDelta = nr, dr
		}
	}
	if o.idle != "off" {
		ir, err := idleRun(o, dir)
		switch {
		case err != nil && o.idle != "auto":
			return fmt.Errorf("idle: %w", err)
		case err != nil:
			fmt.Fprintf(os.Stderr, "idle run skipped (-idle auto): %v\n", err)
		default:
			res.Idle = ir
		}
	}
	res.Goals = goals(res)
	printTable(os.Stdout, res)
	if o.out != "" {
		b, err := json.MarshalIndent(res, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(o.out, append(b, '\n'), 0o644); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "wrote %s\n", o.out)
	}
	return nil
}

// writeCSV writes n people; edit changes the title of every edit-th person
// (0: none).
func writeCSV(path string, n, edit int) error { return writeCSVEdit(path, n, edit, 0) }

// writeCSVEdit is writeCSV that also changes the given name of every
// editGiven-th person (0: none).
func writeCSVEdit(path string, n, edit, editGiven int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	fmt.Fprintln(w, "id,uid,mail,givenName,sn,title,dept")
	titles := []string{"Engineer", "Senior Engineer", "Manager", "Analyst", "Director"}
	for i := 0; i < n; i++ {
		title := titles[i%len(titles)]
		if edit > 0 && i%edit == 0 {
			title = "Principal " + title
		}
		given := fmt.Sprintf("Given%d", i)
		if editGiven > 0 && i%editGiven == 0 {
			given = "Renamed" + given
		}
		fmt.Fprintf(w, "e%07d,user%07d,user%07d@example.com,%s,Family%d,%s,%d\n", i, i, i, given, i%997, title, i%50)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func csvMapper() (*mapper.Mapper, error) {
	return mapper.Compile(mapper.Config{
		Mapping: map[string]string{
			"username": "uid", "email": "lower(mail)", "name.given": "givenName", "name.family": "sn", "title": "title",
		},
		Population: mapper.Population{Name: "Staff"},
	})
}

// env is one emulator, client, state and job.
type env struct {
	emu    *pingonetest.Emulator
	srv    *httptest.Server
	client *pingone.Client
	store  *sqlitestate.Store
	eng    *reconcile.Engine
}

func newEnv(dir string, emuOpts pingonetest.Options, rate float64, concurrency, specSample int) (*env, error) {
	emuOpts.Populations = []string{"Default", "Staff"}
	emuOpts.MaxPageSize = 1000
	if err := validateSpec(&emuOpts, specSample); err != nil {
		return nil, err
	}
	emu, err := pingonetest.New(emuOpts)
	if err != nil {
		return nil, err
	}
	srv := httptest.NewServer(emu)
	emu.SetBaseURL(srv.URL + "/v1")
	client, err := pingone.New(pingone.Config{
		APIURL: srv.URL + "/v1", AuthURL: srv.URL, EnvironmentID: emu.EnvironmentID(),
		ClientID: emu.ClientID(), ClientSecret: secret.New(emu.ClientSecret()),
		RateLimit: rate, Concurrency: concurrency,
	}, zap.NewNop())
	if err != nil {
		srv.Close()
		return nil, err
	}
	ctx := context.Background()
	st, err := sqlitestate.Open(ctx, filepath.Join(dir, fmt.Sprintf("state-%d.db", time.Now().UnixNano())), sqlitestate.Options{AutoMigrate: true})
	if err != nil {
		srv.Close()
		return nil, err
	}
	e := &env{emu: emu, srv: srv, client: client, store: st}
	e.eng = &reconcile.Engine{Store: st, Target: client, Logger: zap.NewNop(), Calls: func() int64 { return client.Stats().Total() }}
	return e, nil
}

func (e *env) close() {
	e.store.Close()
	e.srv.Close()
}

// validateSpec makes the emulator check (one in sample of) its requests
// and responses against the PingOne spec: a figure measured on traffic
// PingOne would refuse is worth nothing.
func validateSpec(o *pingonetest.Options, sample int) error {
	spec, err := pingonetest.DefaultSpecPath()
	if err != nil {
		return err
	}
	o.SpecFile, o.SpecSample = spec, sample
	return nil
}

// specErr fails a measurement whose traffic broke the spec.
func specErr(emu *pingonetest.Emulator) error {
	v := emu.SpecViolations()
	if len(v) == 0 {
		return nil
	}
	return fmt.Errorf("%d emulator requests or responses violate the PingOne spec, e.g.:\n%s", len(v), strings.Join(v[:min(len(v), 5)], "\n"))
}

func newJob(src sources.Source, m *mapper.Mapper, workers int) *reconcile.Job {
	j := &reconcile.Job{Name: "bench", Source: src, Mapper: m, Workers: workers}
	j.SetDefaults()
	j.Safety.MaxDisablePercent, j.Safety.MaxDisables = 100, math.MaxInt32
	return j
}

// pipelineInChild re-runs this program as a child for one dry run, so
// the peak RSS it reports is that run's alone.
func pipelineInChild(o options, csvPath string) (*PipelineRun, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self, "-child", "pipeline", "-child-csv", csvPath, "-profile", o.profile, fmt.Sprintf("-child-managed=%t", o.childManaged))
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, err
	}
	var pr PipelineRun
	if err := json.Unmarshal(out, &pr); err != nil {
		return nil, fmt.Errorf("child output %q: %w", out, err)
	}
	return &pr, nil
}

func childMain(o options) error {
	if o.child == "share" {
		return shareChild(o)
	}
	if o.child == "groups-plan" {
		return groupsPlanChild(o)
	}
	if o.child == "verify" || o.child == "first-run" {
		return listingChild(o)
	}
	if o.child != "pipeline" {
		return fmt.Errorf("unknown child mode %q", o.child)
	}
	dir, err := os.MkdirTemp("", "syncd-bench-child-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	e, err := newEnv(dir, pingonetest.Options{}, 1000, 8, 1)
	if err != nil {
		return err
	}
	defer e.close()
	src, err := csvsource.New(csvsource.Config{Path: o.childCSV, Key: "id"}, zap.NewNop())
	if err != nil {
		return err
	}
	m, err := csvMapper()
	if err != nil {
		return err
	}
	job := newJob(src, m, 8)
	var seeded time.Duration
	if o.childManaged {
		t := time.Now()
		if err := seedManaged(e, job, src, m); err != nil {
			return fmt.Errorf("seed state: %w", err)
		}
		seeded = time.Since(t)
		// The seeding's memory is not the run's: return it, and restart
		// the peak RSS count (Linux: writing 5 to clear_refs resets VmHWM).
		debug.FreeOSMemory()
		if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
			return fmt.Errorf("reset the peak RSS after seeding: %w", err)
		}
	}
	stop := func() {}
	if o.profile != "" {
		if stop, err = startProfile(o.profile, filepath.Base(o.childCSV)); err != nil {
			return err
		}
	}
	t0 := time.Now()
	rep, err := e.eng.Run(context.Background(), job, reconcile.Options{DryRun: true})
	if err != nil {
		return err
	}
	secs := time.Since(t0).Seconds()
	stop()
	if os.Getenv("SYNCD_BENCH_MEMSTATS") != "" {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		fmt.Fprintf(os.Stderr, "HeapAlloc %d HeapInuse %d HeapSys %d HeapIdle %d HeapReleased %d Sys %d StackSys %d NumGC %d\n", ms.HeapAlloc>>20, ms.HeapInuse>>20, ms.HeapSys>>20, ms.HeapIdle>>20, ms.HeapReleased>>20, ms.Sys>>20, ms.StackSys>>20, ms.NumGC)
	}
	if err := specErr(e.emu); err != nil {
		return err
	}
	pr := PipelineRun{
		Records: rep.Counts.Records, Seconds: secs, RecordsPerSec: float64(rep.Counts.Records) / secs,
		PeakRSSMiB: peakRSSMiB(), APICalls: rep.APICalls, Planned: rep.Counts.Created,
		Managed: o.childManaged, Unchanged: rep.Counts.Unchanged, SeedSeconds: seeded.Seconds(),
	}
	return json.NewEncoder(os.Stdout).Encode(pr)
}

// seedManaged writes a checkpoint for every record of the CSV, as if an
// earlier run had synced it, so that the measured run plans no-ops.
// Records the mapping rejects are left out.
func seedManaged(e *env, job *reconcile.Job, src sources.Source, m *mapper.Mapper) error {
	n := 0
	return seedCheckpoints(context.Background(), e.store, e.client, job, src, m, false, func() (string, error) {
		n++
		return fmt.Sprintf("%08x-0000-4000-8000-%012x", n>>16, n), nil
	})
}

// seedCheckpoints writes a checkpoint for every mapped record of the CSV,
// as the run that synced it would have, in the population Staff; userID
// gives each record's PingOne user id in turn. With strict, a record the
// mapping rejects is an error; without, it is left out.
func seedCheckpoints(ctx context.Context, st state.Store, client *pingone.Client, job *reconcile.Job, src sources.Source, m *mapper.Mapper, strict bool, userID func() (string, error)) error {
	popID, err := client.ResolvePopulation(ctx, "Staff")
	if err != nil {
		return err
	}
	r, err := src.Open(ctx, sources.ReadRequest{Full: true, Attributes: m.SourceAttributes()})
	if err != nil {
		return err
	}
	defer r.Close()
	now := time.Now()
	var batch []state.Checkpoint
	flush := func() error {
		err := st.SaveCheckpoints(ctx, job.Name, batch)
		batch = batch[:0]
		return err
	}
	for r.Next() {
		res := m.Map(r.Record())
		if res.Outcome != mapper.Mapped {
			if strict {
				return fmt.Errorf("record %s not mapped", r.Record().Anchor)
			}
			continue
		}
		id, err := userID()
		if err != nil {
			return err
		}
		d := res.Desired
		batch = append(batch, state.Checkpoint{
			Anchor: d.Anchor, UserID: id, Username: d.Username(),
			PopulationID: popID, Enabled: d.Enabled, Hash: d.Hash, Attributes: reconcile.EncodeAttributes(d.Attributes),
			FirstSeen: now, LastSeen: now, LastSynced: now, Status: state.StatusActive,
		})
		if len(batch) == 5000 {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := r.Err(); err != nil {
		return err
	}
	return flush()
}

// startProfile starts a CPU profile; the returned func stops it and
// writes a heap profile (in-use and allocated) beside it.
func startProfile(dir, name string) (func(), error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	f, err := os.Create(filepath.Join(dir, name+".cpu.pprof"))
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
		if h, err := os.Create(filepath.Join(dir, name+".heap.pprof")); err == nil {
			_ = pprof.Lookup("heap").WriteTo(h, 0)
			h.Close()
		}
	}, nil
}

// peakRSSMiB reads VmHWM, the process's peak resident set size.
func peakRSSMiB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, l := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / 1024
		}
	}
	return -1
}

func load1() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return -1
	}
	v, _ := strconv.ParseFloat(strings.Fields(string(b))[0], 64)
	return v
}

// applyRun measures the rate-limited initial sync and an update run.
func applyRun(o options, dir string) (*ApplyRun, error) {
	n := o.applyN
	if n == 0 {
		n = min(o.n, int(30*o.rate))
	}
	// Enough requests in flight to fill the budget at this latency, with
	// headroom for the client's own round trip.
	conc := max(8, int(math.Ceil(o.rate*(o.latency.Seconds()+0.005)*1.5)))
	e, err := newEnv(dir, pingonetest.Options{RateLimit: o.rate, Burst: max(1, int(o.rate/10)), Latency: o.latency}, o.rate, conc, o.specSample)
	if err != nil {
		return nil, err
	}
	defer e.close()
	csvPath := filepath.Join(dir, "apply.csv")
	if err := writeCSV(csvPath, n, 0); err != nil {
		return nil, err
	}
	src, err := csvsource.New(csvsource.Config{Path: csvPath, Key: "id"}, zap.NewNop())
	if err != nil {
		return nil, err
	}
	m, err := csvMapper()
	if err != nil {
		return nil, err
	}
	job := newJob(src, m, conc)
	job.BatchSize = o.batch
	ctx := context.Background()

	fmt.Fprintf(os.Stderr, "apply: initial sync of %d users at %.0f req/s, latency %s, concurrency %d (ideal %.1f s)\n", n, o.rate, o.latency, conc, float64(n)/o.rate)
	e.emu.ResetStats()
	t0 := time.Now()
	rep, err := e.eng.Run(ctx, job, reconcile.Options{})
	if err != nil {
		return nil, err
	}
	wall := time.Since(t0).Seconds()
	if rep.Counts.Created != n || rep.Counts.Failed != 0 {
		return nil, fmt.Errorf("initial sync created %d of %d (failed %d)", rep.Counts.Created, n, rep.Counts.Failed)
	}
	st := e.emu.Stats()
	ar := &ApplyRun{
		Users: n, Rate: o.rate, LatencyMS: float64(o.latency) / float64(time.Millisecond), Concurrency: conc, BatchSize: o.batch,
		InitialSeconds: wall, InitialIdeal: float64(n) / o.rate, ApplySeconds: rep.Phases.Apply.Seconds(),
		CallsPerCreate: float64(st.ByOperation["createUser"]) / float64(n),
		RateLimited429: st.RateLimited, EmulatorRequests: st.Requests,
	}
	ar.InitialRatio = ar.InitialSeconds / ar.InitialIdeal
	ar.OpsPerSec = float64(n) / ar.ApplySeconds
	ar.OpsPerBudget = ar.OpsPerSec / o.rate

	// One attribute of a tenth of the users changes: one PATCH each.
	if err := writeCSV(csvPath, n, 10); err != nil {
		return nil, err
	}
	e.emu.ResetStats()
	t0 = time.Now()
	rep, err = e.eng.Run(ctx, job, reconcile.Options{})
	if err != nil {
		return nil, err
	}
	ar.UpdateSeconds = time.Since(t0).Seconds()
	ar.Updated = rep.Counts.Updated
	st = e.emu.Stats()
	writes := st.Requests - st.TokenRequests - st.ByOperation["readAllPopulations"] - st.ByOperation["readPopulation"]
	if ar.Updated > 0 {
		ar.CallsPerUpdate = float64(writes) / float64(ar.Updated)
	}

	// The given name of another tenth changes: name.given is a member of
	// name, still one request each (PATCH, SCIM form). Every API request
	// counts here.
	if err := writeCSVEdit(csvPath, n, 10, 10); err != nil {
		return nil, err
	}
	e.emu.ResetStats()
	rep, err = e.eng.Run(ctx, job, reconcile.Options{})
	if err != nil {
		return nil, err
	}
	ar.NestedUpdated = rep.Counts.Updated
	st = e.emu.Stats()
	if ar.NestedUpdated > 0 {
		ar.CallsPerNestedUpdate = float64(st.Requests-st.TokenRequests) / float64(ar.NestedUpdated)
	}
	fmt.Fprintf(os.Stderr, "apply: %.1f s (%.2f × ideal), %.0f ops/s; update run: %d updates, %.2f calls each; name.given: %d updates, %.2f calls each\n",
		ar.InitialSeconds, ar.InitialRatio, ar.OpsPerSec, ar.Updated, ar.CallsPerUpdate, ar.NestedUpdated, ar.CallsPerNestedUpdate)
	return ar, specErr(e.emu)
}

// noopRun seeds PingOne and state from the slapd fixture without a rate
// limit, then times a run over the unchanged directory, then a delta of 10
// modifications and 2 deletions (ldapDeltaRun).
func noopRun(o options, dir string) (*NoopRun, *DeltaRun, error) {
	base := testenv.Getenv("SYNCD_TEST_LDAP_BASE_DN", "dc=syncd,dc=test")
	sub := o.ldapBase
	if sub == "" {
		sub = "ou=bench100000," + base
	}
	cfg := ldapsource.Config{
		URL:            testenv.Getenv("SYNCD_TEST_LDAP_URL", "ldap://127.0.0.1:3389"),
		BindDN:         testenv.Getenv("SYNCD_TEST_LDAP_BIND_DN", "cn=admin,"+base),
		BindPassword:   secret.New(testenv.Getenv("SYNCD_TEST_LDAP_BIND_PASSWORD", "syncd-test-admin")),
		BaseDN:         ldapsource.DNList{sub},
		Filter:         "(objectClass=inetOrgPerson)",
		Anchor:         "entryUUID",
		PageSize:       1000,
		AllowPlaintext: true,
	}
	if host, ok := strings.CutPrefix(cfg.URL, "ldap://"); ok {
		c, err := net.DialTimeout("tcp", host, 2*time.Second)
		if err != nil {
			return nil, nil, fmt.Errorf("slapd at %s: %w (bash .ci/start-slapd.sh)", cfg.URL, err)
		}
		c.Close()
	}
	src, err := ldapsource.New(cfg, zap.NewNop())
	if err != nil {
		return nil, nil, err
	}
	m, err := mapper.Compile(mapper.Config{
		Mapping: map[string]string{
			"username": "uid", "email": "mail", "name.given": "givenName", "name.family": "sn",
			// The delta sets a description on 10 users: the fixture's
			// titles stay as they are for other tests.
			"title": "coalesce(description, title)",
		},
		Population: mapper.Population{Name: "Staff"},
	})
	if err != nil {
		return nil, nil, err
	}
	change, cleanup, err := ldapFixtureDelta(cfg, sub)
	if err != nil {
		return nil, nil, err
	}
	defer cleanup()
	e, err := newEnv(dir, pingonetest.Options{}, 1e6, 16, o.specSample)
	if err != nil {
		return nil, nil, err
	}
	defer e.close()
	job := newJob(src, m, 16)
	job.BatchSize = 1000
	ctx := context.Background()
	fmt.Fprintf(os.Stderr, "no-op: seeding from %s (unthrottled)\n", sub)
	t0 := time.Now()
	rep, err := e.eng.Run(ctx, job, reconcile.Options{})
	if err != nil {
		return nil, nil, err
	}
	if rep.Counts.Records == 0 {
		return nil, nil, errors.New("the LDAP fixture is empty: run bash .ci/ldap/seed-bench.sh")
	}
	nr := &NoopRun{SeedSeconds: time.Since(t0).Seconds()}
	t0 = time.Now()
	rep, err = e.eng.Run(ctx, job, reconcile.Options{})
	if err != nil {
		return nil, nil, err
	}
	nr.Seconds = time.Since(t0).Seconds()
	nr.Users, nr.APICalls, nr.Unchanged, nr.ReadSeconds = rep.Counts.Records, rep.APICalls, rep.Counts.Unchanged, rep.Phases.Read.Seconds()
	c := rep.Counts
	nr.Changed = c.Created + c.Adopted + c.Updated + c.Enabled + c.Disabled + c.Moved
	fmt.Fprintf(os.Stderr, "no-op: %d users in %.2f s, %d API calls, %d changes (the directory changed meanwhile when > 0)\n", nr.Users, nr.Seconds, nr.APICalls, nr.Changed)
	dr, err := ldapDeltaRun(ctx, e, job, nr.Users, change)
	if err != nil {
		return nil, nil, fmt.Errorf("delta: %w", err)
	}
	return nr, dr, specErr(e.emu)
}

func goals(r Results) []GoalResult {
	var g []GoalResult
	add := func(name string, v float64, goal string, met bool) {
		g = append(g, GoalResult{Name: name, Value: round(v), Goal: goal, Met: met})
	}
	for _, l := range r.Listing {
		what := fmt.Sprintf("sync --verify over %d managed users (%d drifted, %d repairs)", l.Users, l.Drift, l.Repairs)
		if l.Kind == "first-run" {
			what = fmt.Sprintf("first run listing %d PingOne users (%d adoptions planned)", l.Users, l.Adopted)
		}
		add(what+": peak RSS MiB", l.PeakRSSMiB, "<= 512", l.PeakRSSMiB <= 512)
	}
	for _, p := range r.Pipeline {
		what := ""
		if p.Managed {
			what = ", all managed"
		}
		add(fmt.Sprintf("pipeline %d%s records/s", p.Records, what), p.RecordsPerSec, ">= 200000", p.RecordsPerSec >= 200000)
		if p.Records >= 1_000_000 {
			add(fmt.Sprintf("pipeline %d%s peak RSS MiB", p.Records, what), p.PeakRSSMiB, "<= 512", p.PeakRSSMiB <= 512)
		}
	}
	if a := r.Apply; a != nil {
		add("apply ops/s ÷ B", a.OpsPerBudget, ">= 0.95", a.OpsPerBudget >= 0.95)
		add("API calls per create", a.CallsPerCreate, "1.00", a.CallsPerCreate < 1.005)
		add("API calls per update (title)", a.CallsPerUpdate, "1.00", a.CallsPerUpdate < 1.005)
		add("API calls per update (name.given, every request)", a.CallsPerNestedUpdate, "1.00", a.CallsPerNestedUpdate < 1.005)
		add("initial sync ÷ (N/B)", a.InitialRatio, "<= 1.05", a.InitialRatio <= 1.05)
	}
	if s := r.Share; s != nil {
		add("2 processes sharing B: ops/s ÷ B", s.OpsPerBudget, ">= 0.95", s.OpsPerBudget >= 0.95)
		add("2 processes sharing B: 429 responses", float64(s.RateLimited429), "0", s.RateLimited429 == 0)
	}
	if g := r.Groups; g != nil {
		want := float64(5*g.Users + g.Groups)
		add(fmt.Sprintf("groups: initial sync of %d users × 5 groups: membership calls + group creates", g.Users),
			float64(g.InitialMembershipCalls+g.InitialGroupCreates), fmt.Sprintf("%.0f", want), float64(g.InitialMembershipCalls+g.InitialGroupCreates) == want)
		add("groups: no-op run, API requests", float64(g.NoopRequests), "0", g.NoopRequests == 0)
		add("groups: 1 member added + 1 removed, API requests", float64(g.PlusMinusRequests), "2", g.PlusMinusRequests == 2 && g.PlusMinusMembershipCalls == 2)
	}
	if p := r.GroupsPlan; p != nil {
		add(fmt.Sprintf("groups: planning %d memberships, memberships/s", p.Memberships), p.MembershipsPerSec, ">= 200000", p.MembershipsPerSec >= 200000)
		add(fmt.Sprintf("groups: planning %d memberships, per CPU second the groups add", p.Memberships), p.MembershipsPerGroupsCPUSec, ">= 200000", p.MembershipsPerGroupsCPUSec >= 200000)
		add(fmt.Sprintf("groups: planning %d memberships, peak RSS MiB", p.Memberships), p.PeakRSSMiB, "<= 512", p.PeakRSSMiB <= 512)
	}
	if d := r.Delta; d != nil {
		add(fmt.Sprintf("delta of %d changes over %d managed users: plan ms", d.Changes, d.Managed), d.PlanMS, "<= 100", d.PlanMS <= 100)
		add(fmt.Sprintf("delta of %d changes over %d managed users: requests (every one)", d.Changes, d.Managed), float64(d.Requests),
			fmt.Sprintf("%d (one per change)", d.Changes), d.Requests == d.Changes)
	}
	if d := r.LDAPDelta; d != nil {
		add(fmt.Sprintf("syncrepl delta over %d LDAP users: records read", d.Managed), float64(d.Records), "12", d.Records == 12)
		add(fmt.Sprintf("syncrepl delta over %d LDAP users: requests (every one)", d.Managed), float64(d.Requests),
			fmt.Sprintf("%d (one per change)", d.Changes), d.Requests == d.Changes)
	}
	if i := r.Idle; i != nil {
		what := fmt.Sprintf("idle watch over %d LDAP users (delta %s)", i.Users, i.Delta)
		add(what+": syncd CPU % of a core", i.SyncdCPUPercent, "< 1", i.SyncdCPUPercent < 1)
		add(what+": emulator CPU % of a core (not syncd)", i.EmulatorCPUPercent, "-", true)
		add(what+": API requests", float64(i.EmulatorRequests), "0", i.EmulatorRequests == 0 && i.SyncdAPIRequests == 0)
		add(what+": runs started (each a read of the source)", float64(i.SyncdRuns), "0", i.SyncdRuns == 0)
		if i.WatchInterval == "" {
			add(what+": LDAP requests", float64(i.LDAPRequests), "0", i.LDAPRequests == 0)
		} else {
			add(what+": LDAP requests per watch_interval "+i.WatchInterval+" (one poll)", round(float64(i.LDAPRequests)/math.Max(i.WantLDAPQueries, 1)), "1", math.Round(float64(i.LDAPRequests)/math.Max(i.WantLDAPQueries, 1)) <= 1)
		}
	}
	if n := r.Noop; n != nil {
		add(fmt.Sprintf("no-op over %d LDAP users: seconds", n.Users), n.Seconds, "<= 5", n.Seconds <= 5)
		add(fmt.Sprintf("no-op API calls (%d changes meanwhile)", n.Changed), float64(n.APICalls), "0", n.APICalls == 0)
	}
	return g
}

func round(v float64) float64 { return math.Round(v*1000) / 1000 }

func printTable(w io.Writer, r Results) {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "machine\t%d CPUs, %s, load %.1f at start\t\t\n", r.Machine.CPUs, r.Machine.GoVersion, r.Machine.Load1)
	fmt.Fprintf(tw, "measure\tvalue\tgoal\tmet\n")
	for _, g := range r.Goals {
		met := "yes"
		if !g.Met {
			met = "NO"
		}
		fmt.Fprintf(tw, "%s\t%g\t%s\t%s\n", g.Name, g.Value, g.Goal, met)
	}
	tw.Flush()
}
