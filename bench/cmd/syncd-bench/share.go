package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"go.uber.org/zap"

	"github.com/syncd/syncd/internal/secret"
	"github.com/syncd/syncd/internal/testenv"
	"github.com/syncd/syncd/reconcile"
	"github.com/syncd/syncd/sink/pingone"
	"github.com/syncd/syncd/sink/pingone/budget"
	"github.com/syncd/syncd/sink/pingone/pingonetest"
	"github.com/syncd/syncd/sources/csvsource"
	"github.com/syncd/syncd/state/pgstate"
)

// ShareRun is two processes, each syncing its own job into one
// environment, sharing its budget B through one PostgreSQL state.
type ShareRun struct {
	Processes      int     `json:"processes"`
	UsersEach      int     `json:"users_each"`
	Rate           float64 `json:"rate"`
	LatencyMS      float64 `json:"latency_ms"`
	Concurrency    int     `json:"concurrency_each"`
	Creates        int     `json:"creates"`
	Seconds        float64 `json:"apply_seconds"`
	OpsPerSec      float64 `json:"ops_per_sec"`
	OpsPerBudget   float64 `json:"ops_per_budget"`
	RateLimited429 int     `json:"responses_429"`
	// PerProcess is each process's creates.
	PerProcess []int `json:"creates_per_process"`
}

// shareRun starts two children of this program, each running one job of
// -share-n users through its own engine and client against one emulator
// limited to B, with the budget in one PostgreSQL schema, and measures
// the creates the emulator saw from the first to the last.
func shareRun(o options, dir string) (*ShareRun, error) {
	pgURL := testenv.Getenv("SYNCD_TEST_POSTGRES_URL", testenv.DefaultPostgresURL)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pgURL)
	if err != nil {
		return nil, fmt.Errorf("PostgreSQL (SYNCD_TEST_POSTGRES_URL): %w", err)
	}
	defer conn.Close(ctx)
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "syncd_bench_" + hex.EncodeToString(b[:])
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		return nil, err
	}
	defer conn.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE") //nolint:errcheck
	sep := "?"
	if strings.Contains(pgURL, "?") {
		sep = "&"
	}
	stateURL := pgURL + sep + "search_path=" + schema
	st, err := pgstate.Open(ctx, stateURL, pgstate.Options{AutoMigrate: true})
	if err != nil {
		return nil, err
	}
	st.Close()

	emuOpts := pingonetest.Options{
		Populations: []string{"Default", "Staff"}, MaxPageSize: 1000,
		RateLimit: o.rate, Burst: max(1, int(o.rate/10)), Latency: o.latency,
	}
	if err := validateSpec(&emuOpts, o.specSample); err != nil {
		return nil, err
	}
	emu, err := pingonetest.New(emuOpts)
	if err != nil {
		return nil, err
	}
	var (
		mu          sync.Mutex
		first, last time.Time
		creates     int
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		emu.ServeHTTP(sw, r)
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/users") && sw.status == http.StatusCreated {
			now := time.Now()
			mu.Lock()
			if first.IsZero() {
				first = now
			}
			last = now
			creates++
			mu.Unlock()
		}
	}))
	defer srv.Close()
	emu.SetBaseURL(srv.URL + "/v1")

	n := o.shareN
	if n == 0 {
		n = min(o.n, int(10*o.rate))
	}
	conc := max(8, int(math.Ceil(o.rate*(o.latency.Seconds()+0.005)*1.5)))
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(os.Stderr, "share: 2 processes × %d users, one budget of %.0f req/s through PostgreSQL, latency %s, concurrency %d each\n", n, o.rate, o.latency, conc)
	type result struct {
		created int
		err     error
	}
	results := make(chan result, 2)
	for i := range 2 {
		job := fmt.Sprintf("share%d", i)
		cmd := exec.Command(self, "-child", "share", "-child-csv", filepath.Join(dir, job+".csv"),
			"-share-n", fmt.Sprint(n), "-rate", fmt.Sprint(o.rate), "-share-concurrency", fmt.Sprint(conc))
		cmd.Env = append(os.Environ(),
			"SYNCD_BENCH_API="+srv.URL, "SYNCD_BENCH_ENV="+emu.EnvironmentID(), "SYNCD_BENCH_CLIENT="+emu.ClientID(),
			"SYNCD_BENCH_SECRET="+emu.ClientSecret(), "SYNCD_BENCH_STATE="+stateURL, "SYNCD_BENCH_JOB="+job)
		cmd.Stderr = os.Stderr
		go func() {
			out, err := cmd.Output()
			var r struct{ Created int }
			if err == nil {
				err = json.Unmarshal(out, &r)
			}
			results <- result{r.Created, err}
		}()
	}
	sr := &ShareRun{Processes: 2, UsersEach: n, Rate: o.rate, LatencyMS: float64(o.latency) / float64(time.Millisecond), Concurrency: conc}
	for range 2 {
		r := <-results
		if r.err != nil {
			return nil, fmt.Errorf("child: %w", r.err)
		}
		sr.PerProcess = append(sr.PerProcess, r.created)
	}
	st2 := emu.Stats()
	sr.Creates, sr.RateLimited429 = creates, st2.RateLimited
	sr.Seconds = last.Sub(first).Seconds()
	// creates-1 intervals between the first create and the last.
	sr.OpsPerSec = float64(creates-1) / sr.Seconds
	sr.OpsPerBudget = sr.OpsPerSec / o.rate
	if creates != 2*n {
		return nil, fmt.Errorf("the emulator saw %d creates, want %d", creates, 2*n)
	}
	fmt.Fprintf(os.Stderr, "share: %d creates in %.1f s: %.0f ops/s (%.3f of B), %d × 429, per process %v\n",
		creates, sr.Seconds, sr.OpsPerSec, sr.OpsPerBudget, sr.RateLimited429, sr.PerProcess)
	return sr, specErr(emu)
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(s int) { w.status = s; w.ResponseWriter.WriteHeader(s) }

// shareChild is one process of shareRun: one job, wired as `syncd sync`
// wires it, its client drawing on the PostgreSQL budget.
func shareChild(o options) error {
	ctx := context.Background()
	job := os.Getenv("SYNCD_BENCH_JOB")
	f, err := os.Create(o.childCSV)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	fmt.Fprintln(w, "id,uid,mail,givenName,sn,title,dept")
	for i := range o.shareN {
		fmt.Fprintf(w, "%s-%07d,%s.user%07d,%s.user%07d@example.com,Given%d,Family%d,Engineer,%d\n", job, i, job, i, job, i, i, i%997, i%50)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	f.Close()
	st, err := pgstate.Open(ctx, os.Getenv("SYNCD_BENCH_STATE"), pgstate.Options{})
	if err != nil {
		return err
	}
	defer st.Close()
	api, envID := os.Getenv("SYNCD_BENCH_API"), os.Getenv("SYNCD_BENCH_ENV")
	client, err := pingone.New(pingone.Config{
		APIURL: api + "/v1", AuthURL: api, EnvironmentID: envID,
		ClientID: os.Getenv("SYNCD_BENCH_CLIENT"), ClientSecret: secret.New(os.Getenv("SYNCD_BENCH_SECRET")),
		RateLimit: o.rate, Concurrency: o.shareConc,
	}, zap.NewNop(), pingone.WithBudget(budget.NewLimiter(st, strings.ToLower(envID), o.rate, zap.NewNop())))
	if err != nil {
		return err
	}
	src, err := csvsource.New(csvsource.Config{Path: o.childCSV, Key: "id"}, zap.NewNop())
	if err != nil {
		return err
	}
	m, err := csvMapper()
	if err != nil {
		return err
	}
	j := newJob(src, m, o.shareConc)
	j.Name = job
	j.BatchSize = o.batch
	eng := &reconcile.Engine{Store: st, Target: client, Logger: zap.NewNop()}
	rep, err := eng.Run(ctx, j, reconcile.Options{})
	if err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(struct{ Created int }{rep.Counts.Created})
}
