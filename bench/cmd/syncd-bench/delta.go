package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"
	"go.uber.org/zap"

	"github.com/syncd/syncd/internal/testenv"
	"github.com/syncd/syncd/mapper"
	"github.com/syncd/syncd/reconcile"
	"github.com/syncd/syncd/sink/pingone/pingonetest"
	"github.com/syncd/syncd/sources"
	"github.com/syncd/syncd/sources/csvsource"
	"github.com/syncd/syncd/sources/ldapsource"
	"github.com/syncd/syncd/state"
)

// DeltaRun is a delta run over a job that already manages many users:
// what it costs, with every request to the emulator counted (reads and
// token requests included).
type DeltaRun struct {
	// Source is "slapd syncrepl" or "scripted" (records handed to the
	// engine as a delta read, over a state seeded from CSV).
	Source   string `json:"source"`
	Managed  int    `json:"managed"`
	Records  int    `json:"records"`
	Changes  int    `json:"changes"` // creates, updates, enables, disables, moves executed
	Requests int    `json:"requests"`
	// ByOperation counts the requests by emulator operation.
	ByOperation map[string]int `json:"by_operation"`
	SeedSeconds float64        `json:"seed_seconds"`
	ReadMS      float64        `json:"read_ms"`
	PlanMS      float64        `json:"plan_ms"`
	ApplyMS     float64        `json:"apply_ms"`
	RunMS       float64        `json:"run_ms"`
	// PlanAllMS is the same delta planned (dry run) by loading every
	// checkpoint, as syncd did before delta runs loaded only the
	// checkpoints of the anchors they read: the figure it improves on.
	PlanAllMS float64 `json:"plan_all_ms,omitempty"`
}

// fillRequests counts the emulator's requests since its last ResetStats.
func (d *DeltaRun) fillRequests(emu *pingonetest.Emulator) {
	d.ByOperation = map[string]int{}
	for _, r := range emu.Requests() {
		d.ByOperation[r.Method+" "+r.Operation]++
		d.Requests++
	}
}

func (d *DeltaRun) fillReport(rep *reconcile.Report, took time.Duration) {
	c := rep.Counts
	d.Records, d.Changes = c.Records, c.Created+c.Adopted+c.Updated+c.Enabled+c.Disabled+c.Moved
	ms := func(t time.Duration) float64 { return float64(t.Microseconds()) / 1000 }
	d.ReadMS, d.PlanMS, d.ApplyMS, d.RunMS = ms(rep.Phases.Read), ms(rep.Phases.Plan), ms(rep.Phases.Apply), ms(took)
}

func (d *DeltaRun) String() string {
	ops := make([]string, 0, len(d.ByOperation))
	for k, n := range d.ByOperation {
		ops = append(ops, fmt.Sprintf("%s=%d", k, n))
	}
	sort.Strings(ops)
	s := fmt.Sprintf("delta over %d managed users (%s): %d records read, %d changes, %d requests %v; read %.1f ms, plan %.1f ms, apply %.1f ms, run %.1f ms",
		d.Managed, d.Source, d.Records, d.Changes, d.Requests, ops, d.ReadMS, d.PlanMS, d.ApplyMS, d.RunMS)
	if d.PlanAllMS > 0 {
		s += fmt.Sprintf(" (plan loading every checkpoint: %.1f ms)", d.PlanAllMS)
	}
	return s
}

// scripted is a source that answers a read with records in the mode it
// is given: the managed delta's changes, handed to the engine as a delta
// read would hand them.
type scripted struct {
	recs []sources.Record
	mode sources.Mode
}

func (s *scripted) Open(context.Context, sources.ReadRequest) (sources.Reader, error) {
	return &scriptedReader{s: s}, nil
}

type scriptedReader struct {
	s *scripted
	i int
}

func (r *scriptedReader) Mode() sources.Mode     { return r.s.mode }
func (r *scriptedReader) Next() bool             { r.i++; return r.i <= len(r.s.recs) }
func (r *scriptedReader) Record() sources.Record { return r.s.recs[r.i-1] }
func (r *scriptedReader) Err() error             { return nil }
func (r *scriptedReader) Cursor() []byte         { return []byte("bench-delta") }
func (r *scriptedReader) Close() error           { return nil }

// noCounter hides the store's state.CheckpointCounter: the engine then
// loads every checkpoint, as before delta runs loaded only the changed
// ones.
type noCounter struct{ state.Store }

// managedDeltaRun seeds a state managing n users (checkpoints written as
// the managed pipeline writes them; the 12 users the delta touches also
// exist in the emulator), makes a complete run over them (all no-ops: it
// saves the cursor a delta resumes from), then times a delta of 10
// modified and 2 deleted users: a real run, every request counted.
func managedDeltaRun(o options, dir string) (*DeltaRun, error) {
	const modified, deleted = 10, 2
	n := o.deltaManaged
	// A dozen requests: the emulator checks every one against the spec.
	e, err := newEnv(dir, pingonetest.Options{}, 1e6, 16, 1)
	if err != nil {
		return nil, err
	}
	defer e.close()
	csvPath := filepath.Join(dir, fmt.Sprintf("delta-%d.csv", n))
	if err := writeCSV(csvPath, n, 0); err != nil {
		return nil, err
	}
	defer os.Remove(csvPath)
	src, err := csvsource.New(csvsource.Config{Path: csvPath, Key: "id"}, zap.NewNop())
	if err != nil {
		return nil, err
	}
	m, err := csvMapper()
	if err != nil {
		return nil, err
	}
	job := newJob(src, m, 16)
	job.FullEvery, job.ConfigDigest = 24*time.Hour, "bench-delta"
	ctx := context.Background()

	// The users the delta touches, spread over the anchors.
	touched := map[string]bool{}
	var mods, dels []int
	for k := range modified + deleted {
		i := (k*n)/(modified+deleted) + k
		if k < modified {
			mods = append(mods, i)
		} else {
			dels = append(dels, i)
		}
		touched[fmt.Sprintf("e%07d", i)] = true
	}
	fmt.Fprintf(os.Stderr, "delta: seeding %d managed users\n", n)
	t0 := time.Now()
	if err := seedManagedWith(e, job, src, m, touched); err != nil {
		return nil, fmt.Errorf("seed state: %w", err)
	}
	rep, err := e.eng.Run(ctx, job, reconcile.Options{})
	if err != nil {
		return nil, fmt.Errorf("complete run over the seeded state: %w", err)
	}
	if rep.Mode != "full" || rep.Counts.Unchanged != n || rep.APICalls != 0 {
		return nil, fmt.Errorf("complete run over the seeded state: mode %s, counts %+v, %d API calls; want %d unchanged, no call", rep.Mode, rep.Counts, rep.APICalls, n)
	}
	dr := &DeltaRun{Source: "scripted", Managed: n, SeedSeconds: time.Since(t0).Seconds()}

	// The delta: the same rows the CSV holds, each modified one with a
	// new title; the deleted ones by anchor.
	delta := &scripted{mode: sources.Delta}
	rows := map[int]bool{}
	for _, i := range mods {
		rows[i] = true
	}
	for _, i := range mods {
		delta.recs = append(delta.recs, sources.Record{Anchor: fmt.Sprintf("e%07d", i), Pos: fmt.Sprintf("entry %d", i), Attrs: map[string][]string{
			"id": {fmt.Sprintf("e%07d", i)}, "uid": {fmt.Sprintf("user%07d", i)}, "mail": {fmt.Sprintf("user%07d@example.com", i)},
			"givenname": {fmt.Sprintf("Given%d", i)}, "sn": {fmt.Sprintf("Family%d", i%997)}, "title": {"Delta Engineer"}, "dept": {fmt.Sprint(i % 50)},
		}})
	}
	for _, i := range dels {
		delta.recs = append(delta.recs, sources.Record{Anchor: fmt.Sprintf("e%07d", i), Deleted: true})
	}
	job.Source = delta

	// Planned by loading every checkpoint (a dry run: nothing written).
	all := &reconcile.Engine{Store: noCounter{e.store}, Target: e.client, Logger: zap.NewNop()}
	rep, err = all.Run(ctx, job, reconcile.Options{DryRun: true})
	if err != nil {
		return nil, fmt.Errorf("delta planned loading every checkpoint: %w", err)
	}
	dr.PlanAllMS = float64(rep.Phases.Plan.Microseconds()) / 1000

	e.emu.ResetStats()
	t0 = time.Now()
	rep, err = e.eng.Run(ctx, job, reconcile.Options{})
	if err != nil {
		return nil, fmt.Errorf("delta run: %w", err)
	}
	dr.fillReport(rep, time.Since(t0))
	dr.fillRequests(e.emu)
	if rep.Mode != "delta" || rep.Counts.Updated != modified || rep.Counts.Disabled != deleted || rep.Counts.Failed != 0 {
		return nil, fmt.Errorf("delta run: mode %s, counts %+v; want %d updated, %d disabled", rep.Mode, rep.Counts, modified, deleted)
	}
	fmt.Fprintln(os.Stderr, dr)
	return dr, specErr(e.emu)
}

// seedManagedWith is seedManaged whose users in touched also exist in the
// emulator (out of band, as PingOne holds the users syncd created), so a
// delta can write to them.
func seedManagedWith(e *env, job *reconcile.Job, src sources.Source, m *mapper.Mapper, touched map[string]bool) error {
	if err := seedManaged(e, job, src, m); err != nil {
		return err
	}
	ctx := context.Background()
	popID, err := e.client.ResolvePopulation(ctx, "Staff")
	if err != nil {
		return err
	}
	var anchors []string
	for a := range touched {
		anchors = append(anchors, a)
	}
	var cps []state.Checkpoint
	err = e.store.CheckpointsFor(ctx, job.Name, anchors, func(cp state.Checkpoint) error {
		cps = append(cps, cp)
		return nil
	})
	if err != nil {
		return err
	}
	if len(cps) != len(anchors) {
		return fmt.Errorf("%d of the %d touched anchors seeded", len(cps), len(anchors))
	}
	for i := range cps {
		cp := &cps[i]
		attrs := map[string]any{"externalId": cp.Anchor, "username": cp.Username, "population": map[string]any{"id": popID}}
		for k, v := range decodeAttrs(cp.Attributes) {
			setPath(attrs, k, v)
		}
		id, err := e.emu.AddUser(attrs)
		if err != nil {
			return fmt.Errorf("add user %s to the emulator: %w", cp.Anchor, err)
		}
		cp.UserID = id
	}
	return e.store.SaveCheckpoints(ctx, job.Name, cps)
}

// decodeAttrs reads a checkpoint's attribute values (a JSON object of
// attribute path -> value).
func decodeAttrs(b []byte) map[string]string {
	m := map[string]string{}
	_ = json.Unmarshal(b, &m) // the engine wrote them
	return m
}

// setPath sets a dotted attribute path ("name.given") in a user object.
func setPath(u map[string]any, path, v string) {
	head, rest, nested := strings.Cut(path, ".")
	if !nested {
		u[path] = v
		return
	}
	sub, _ := u[head].(map[string]any)
	if sub == nil {
		sub = map[string]any{}
		u[head] = sub
	}
	setPath(sub, rest, v)
}

// ldapFixtureDelta prepares the LDAP delta over the shared fixture sub:
// two extra users (deleted by the delta) are added before the first sync,
// and it returns the change to make after the no-op run over n users (10
// users spread over the fixture get a description, which the mapping's
// title prefers; the 2 extra users are deleted) and a cleanup that leaves
// the fixture as it was.
func ldapFixtureDelta(cfg ldapsource.Config, sub string) (change func(n int) error, cleanup func() error, err error) {
	dial := func() (*ldap.Conn, error) {
		c, err := ldap.DialURL(cfg.URL)
		if err != nil {
			return nil, err
		}
		if err := c.Bind(cfg.BindDN, cfg.BindPassword.Reveal()); err != nil {
			c.Close()
			return nil, err
		}
		return c, nil
	}
	tag := strconv.FormatInt(time.Now().UnixNano(), 36)
	var extra []testenv.LDAPEntry
	for i := range 2 {
		e := testenv.UserEntry(sub, 0, map[string][]string{"uid": {fmt.Sprintf("delta-%s-%d", tag, i)}, "mail": {fmt.Sprintf("delta-%s-%d@example.test", tag, i)}})
		e.DN = "uid=" + e.Attrs["uid"][0] + "," + sub
		extra = append(extra, e)
	}
	if err := testenv.AddEntries(dial, extra); err != nil {
		return nil, nil, fmt.Errorf("add the 2 users the delta deletes: %w", err)
	}
	var mod []string
	change = func(n int) error {
		for i := range 10 {
			mod = append(mod, fmt.Sprintf("uid=user%06d,%s", i*((n-len(extra))/10), sub))
		}
		c, err := dial()
		if err != nil {
			return err
		}
		defer c.Close()
		for _, dn := range mod {
			m := ldap.NewModifyRequest(dn, nil)
			m.Replace("description", []string{"Delta " + tag})
			if err := c.Modify(m); err != nil {
				return fmt.Errorf("modify %s: %w", dn, err)
			}
		}
		for _, e := range extra {
			if err := c.Del(ldap.NewDelRequest(e.DN, nil)); err != nil {
				return fmt.Errorf("delete %s: %w", e.DN, err)
			}
		}
		return nil
	}
	cleanup = func() error {
		c, err := dial()
		if err != nil {
			return err
		}
		defer c.Close()
		for _, e := range extra {
			_ = c.Del(ldap.NewDelRequest(e.DN, nil)) // gone already when the delta ran
		}
		for _, dn := range mod {
			m := ldap.NewModifyRequest(dn, nil)
			m.Delete("description", nil)
			_ = c.Modify(m) // no description: never changed
		}
		return nil
	}
	return change, cleanup, nil
}

// ldapDeltaRun is the delta over slapd after the no-op run: job has synced
// the fixture; change makes 10 modifications and 2 deletions; the job's
// next run reads them through syncrepl (full_every 24h) and applies them.
func ldapDeltaRun(ctx context.Context, e *env, job *reconcile.Job, managed int, change func(int) error) (*DeltaRun, error) {
	if err := change(managed); err != nil {
		return nil, fmt.Errorf("change the fixture: %w", err)
	}
	job.FullEvery = 24 * time.Hour
	e.emu.ResetStats()
	t0 := time.Now()
	rep, err := e.eng.Run(ctx, job, reconcile.Options{})
	if err != nil {
		return nil, err
	}
	dr := &DeltaRun{Source: "slapd syncrepl", Managed: managed}
	dr.fillReport(rep, time.Since(t0))
	dr.fillRequests(e.emu)
	// slapd's session log replays deletions from the whole database (other
	// tests delete their subtrees): read, they name no managed user.
	if rep.Mode != "delta" || rep.Counts.Updated != 10 || rep.Counts.Disabled != 2 || rep.Counts.Failed != 0 {
		return nil, fmt.Errorf("delta run: mode %s, counts %+v; want a delta, 10 updated, 2 disabled", rep.Mode, rep.Counts)
	}
	fmt.Fprintln(os.Stderr, dr)
	return dr, nil
}
