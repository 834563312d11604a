package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/syncd/syncd/internal/secret"
	"github.com/syncd/syncd/mapper"
	"github.com/syncd/syncd/reconcile"
	"github.com/syncd/syncd/sink/pingone"
	"github.com/syncd/syncd/sink/pingone/pingonetest"
	"github.com/syncd/syncd/sources"
	"github.com/syncd/syncd/sources/csvsource"
	"github.com/syncd/syncd/state"
	"github.com/syncd/syncd/state/sqlitestate"
)

// ListingRun is a run that reads a whole PingOne environment back, in a
// child process of its own (peak RSS: VmHWM) against an emulator in this
// one holding -listing-n users: `sync --verify` over every one of them
// managed (a few of them edited by hand: drift, repaired), or a first run
// (no state: a lost database) that lists the environment to plan
// adoptions, as a dry run.
type ListingRun struct {
	Kind        string  `json:"kind"` // "verify" or "first-run"
	Users       int     `json:"users"`
	Seconds     float64 `json:"seconds"`
	UsersPerSec float64 `json:"users_per_sec"`
	PeakRSSMiB  float64 `json:"peak_rss_mib"`
	APICalls    int64   `json:"api_calls"`
	// Drift and Repairs: users edited by hand that verify found, and the
	// calls that put them back (one each).
	Drift   int `json:"drift,omitempty"`
	Repairs int `json:"repairs,omitempty"`
	// Adopted is the adoptions a first run plans (every user: the state
	// was lost).
	Adopted   int     `json:"adopted,omitempty"`
	Unchanged int     `json:"unchanged,omitempty"`
	SeedSecs  float64 `json:"seed_seconds,omitempty"`
}

// driftEvery is how often the listing bench edits a user by hand.
const driftEvery = 10_000

// listingRuns seeds an emulator with n users (the CSV's people, as syncd
// would have created them), edits every driftEvery-th user's title by
// hand, and runs the verify and first-run children against it.
func listingRuns(o options, dir string) ([]ListingRun, error) {
	n := o.listingN
	emuOpts := pingonetest.Options{Populations: []string{"Default", "Staff"}, MaxPageSize: 1000}
	if err := validateSpec(&emuOpts, o.specSample); err != nil {
		return nil, err
	}
	emu, err := pingonetest.New(emuOpts)
	if err != nil {
		return nil, err
	}
	srv := httptest.NewServer(emu)
	defer srv.Close()
	emu.SetBaseURL(srv.URL + "/v1")

	csvPath := filepath.Join(dir, fmt.Sprintf("listing-%d.csv", n))
	if err := writeCSV(csvPath, n, 0); err != nil {
		return nil, err
	}
	defer os.Remove(csvPath)
	idsPath := filepath.Join(dir, "listing-ids.txt")
	defer os.Remove(idsPath)
	t0 := time.Now()
	if err := seedEmulator(emu, csvPath, idsPath); err != nil {
		return nil, fmt.Errorf("seed the emulator: %w", err)
	}
	fmt.Fprintf(os.Stderr, "listing: %d users in the emulator (%.0f s)\n", n, time.Since(t0).Seconds())

	var runs []ListingRun
	for _, kind := range strings.Split(o.listingKinds, ",") {
		if kind != "verify" && kind != "first-run" {
			return nil, fmt.Errorf("-listing-kinds: unknown run %q (want verify, first-run)", kind)
		}
		self, err := os.Executable()
		if err != nil {
			return nil, err
		}
		cmd := exec.Command(self, "-child", kind, "-child-csv", csvPath, "-listing-ids", idsPath,
			"-listing-url", srv.URL, "-listing-env", emu.EnvironmentID(), "-profile", o.profile)
		cmd.Stderr = os.Stderr
		out, err := cmd.Output()
		if err != nil {
			return nil, fmt.Errorf("%s child: %w", kind, err)
		}
		var lr ListingRun
		if err := json.Unmarshal(out, &lr); err != nil {
			return nil, fmt.Errorf("%s child output %q: %w", kind, out, err)
		}
		fmt.Fprintf(os.Stderr, "listing: %s over %d users: %.1f s (%.0f users/s), peak RSS %.0f MiB, %d API calls\n",
			kind, lr.Users, lr.Seconds, lr.UsersPerSec, lr.PeakRSSMiB, lr.APICalls)
		runs = append(runs, lr)
	}
	return runs, specErr(emu)
}

// seedEmulator adds every person of the CSV to the emulator as syncd's
// csvMapper would have created them, writing their ids in CSV order, and
// edits every driftEvery-th one's title by hand.
func seedEmulator(emu *pingonetest.Emulator, csvPath, idsPath string) error {
	f, err := os.Open(csvPath)
	if err != nil {
		return err
	}
	defer f.Close()
	out, err := os.Create(idsPath)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(out)
	staff := map[string]any{"id": emu.PopulationID("Staff")}
	sc := bufio.NewScanner(f)
	sc.Scan() // header: id,uid,mail,givenName,sn,title,dept
	for i := 0; sc.Scan(); i++ {
		c := strings.Split(sc.Text(), ",")
		id, err := emu.AddUser(map[string]any{
			"externalId": c[0], "username": c[1], "email": strings.ToLower(c[2]),
			"name": map[string]any{"given": c[3], "family": c[4]}, "title": c[5], "population": staff,
		})
		if err != nil {
			return fmt.Errorf("line %d: %w", i+2, err)
		}
		if i%driftEvery == driftEvery/2 {
			if err := emu.EditUser(id, map[string]any{"title": "Edited By Hand"}); err != nil {
				return err
			}
		}
		fmt.Fprintln(w, id)
	}
	if err := sc.Err(); err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return out.Close()
}

// listingChild runs one ListingRun in this process against the parent's
// emulator and prints it as JSON.
func listingChild(o options) error {
	dir, err := os.MkdirTemp("", "syncd-bench-child-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	client, err := pingone.New(pingone.Config{
		APIURL: o.listingURL + "/v1", AuthURL: o.listingURL, EnvironmentID: o.listingEnv,
		ClientID: "syncd-test-client", ClientSecret: secret.New("syncd-test-secret"), RateLimit: 1e6, Concurrency: 8,
	}, zap.NewNop())
	if err != nil {
		return err
	}
	ctx := context.Background()
	st, err := sqlitestate.Open(ctx, filepath.Join(dir, "state.db"), sqlitestate.Options{AutoMigrate: true})
	if err != nil {
		return err
	}
	defer st.Close()
	eng := &reconcile.Engine{Store: st, Target: client, Logger: zap.NewNop(), Calls: func() int64 { return client.Stats().Total() }}
	src, err := csvsource.New(csvsource.Config{Path: o.childCSV, Key: "id"}, zap.NewNop())
	if err != nil {
		return err
	}
	m, err := csvMapper()
	if err != nil {
		return err
	}
	job := newJob(src, m, 8)
	job.BatchSize = 1000

	lr := ListingRun{Kind: o.child}
	opts := reconcile.Options{DryRun: true, AllowMassAdoption: true} // the state was lost: every user is adopted
	if o.child == "verify" {
		t := time.Now()
		if err := seedFromIDs(ctx, st, client, job, src, m, o.listingIDs); err != nil {
			return fmt.Errorf("seed state: %w", err)
		}
		lr.SeedSecs = time.Since(t).Seconds()
		opts = reconcile.Options{Verify: true}
	}
	// The seeding's memory is not the run's: return it, and restart the
	// peak RSS count (Linux: writing 5 to clear_refs resets VmHWM).
	debug.FreeOSMemory()
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		return fmt.Errorf("reset the peak RSS: %w", err)
	}
	stop := func() {}
	if o.profile != "" {
		if stop, err = startProfile(o.profile, o.child); err != nil {
			return err
		}
	}
	t0 := time.Now()
	rep, err := eng.Run(ctx, job, opts)
	if err != nil {
		return err
	}
	lr.Seconds = time.Since(t0).Seconds()
	stop()
	lr.PeakRSSMiB = peakRSSMiB()
	lr.Users = rep.Counts.Records
	lr.UsersPerSec = float64(lr.Users) / lr.Seconds
	lr.APICalls, lr.Drift, lr.Adopted, lr.Unchanged = rep.APICalls, len(rep.Drift), rep.Counts.Adopted, rep.Counts.Unchanged
	lr.Repairs = rep.Counts.Updated + rep.Counts.Enabled + rep.Counts.Disabled + rep.Counts.Moved + rep.Counts.Created
	return json.NewEncoder(os.Stdout).Encode(lr)
}

// seedFromIDs writes a checkpoint for every record of the CSV, as the run
// that created its PingOne user (ids, in CSV order) would have.
func seedFromIDs(ctx context.Context, st state.Store, client *pingone.Client, job *reconcile.Job, src sources.Source, m *mapper.Mapper, idsPath string) error {
	ids, err := os.Open(idsPath)
	if err != nil {
		return err
	}
	defer ids.Close()
	sc := bufio.NewScanner(ids)
	return seedCheckpoints(ctx, st, client, job, src, m, true, func() (string, error) {
		if !sc.Scan() {
			return "", fmt.Errorf("fewer ids than records: %v", sc.Err())
		}
		return sc.Text(), nil
	})
}
