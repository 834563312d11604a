package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/syncd/syncd/config"
	"github.com/syncd/syncd/mapper"
	"github.com/syncd/syncd/sink/pingone"
	"github.com/syncd/syncd/sink/pingone/budget"
	"github.com/syncd/syncd/state"
	"github.com/syncd/syncd/state/backend"
)

func (m *Main) runMigrate(ctx context.Context, g *globalFlags, args []string) int {
	fs := m.flagSet("migrate", g)
	if _, err := m.parse(fs, g, args); err != nil {
		return m.usageErr(err)
	}
	cfg, err := m.loadConfig(ctx, g)
	if err != nil {
		return m.fail(err)
	}
	log := newLogger(cfg, m.Stderr)
	st, err := openStore(ctx, cfg, log, true)
	if err != nil {
		return m.fail(err)
	}
	defer st.Close()
	fmt.Fprintln(m.Stdout, "state schema is up to date")
	return ExitOK
}

func (m *Main) runStatus(ctx context.Context, g *globalFlags, args []string) int {
	fs := m.flagSet("status", g)
	limit := fs.Int("runs", 5, "recent runs to show per job")
	if _, err := m.parse(fs, g, args); err != nil {
		return m.usageErr(err)
	}
	cfg, jobs, log, err := m.setup(ctx, g)
	if err != nil {
		return m.fail(err)
	}
	st, err := openStore(ctx, cfg, log, cfg.State.Migrate())
	if err != nil {
		return m.fail(err)
	}
	defer st.Close()

	type jobStatus struct {
		Job     string               `json:"job"`
		Objects map[state.Status]int `json:"objects"`
		Runs    []state.Run          `json:"runs"`
		// Rejected lists the records that stand rejected: every run of
		// the job exits 4 until the source fixes them.
		Rejected []state.Reject `json:"rejected"`
		// Held lists the disables the watch's safety gate held: only a
		// run with --allow-mass-disable applies them.
		Held []state.HeldDisable `json:"held"`
	}
	var out []jobStatus
	for _, j := range jobs {
		counts, err := st.CountByStatus(ctx, j.Name)
		if err != nil {
			return m.fail(fmt.Errorf("job %s: %w", j.Name, err))
		}
		runs, err := st.Runs(ctx, j.Name, *limit)
		if err != nil {
			return m.fail(fmt.Errorf("job %s: %w", j.Name, err))
		}
		js := jobStatus{Job: j.Name, Objects: counts, Runs: runs, Rejected: []state.Reject{}, Held: []state.HeldDisable{}}
		if hs, ok := st.(state.Held); ok {
			held, err := hs.HeldDisables(ctx, j.Name)
			if err != nil {
				return m.fail(fmt.Errorf("job %s: %w", j.Name, err))
			}
			js.Held = append(js.Held, held...)
		}
		if rs, ok := st.(state.Rejects); ok {
			err := rs.StandingRejects(ctx, j.Name, func(r state.Reject) error {
				js.Rejected = append(js.Rejected, r)
				return nil
			})
			if err != nil {
				return m.fail(fmt.Errorf("job %s: %w", j.Name, err))
			}
		}
		out = append(out, js)
	}
	if g.output == "json" {
		enc := json.NewEncoder(m.Stdout)
		enc.SetIndent("", "  ")
		_ = enc.Encode(map[string]any{"jobs": out})
		return ExitOK
	}
	for _, s := range out {
		fmt.Fprintf(m.Stdout, "job %s: %d active, %d disabled, %d failed, %d conflict, %d pending, %d gone, %d rejected\n", s.Job,
			s.Objects[state.StatusActive], s.Objects[state.StatusDisabled], s.Objects[state.StatusFailed], s.Objects[state.StatusConflict],
			s.Objects[state.StatusPending], s.Objects[state.StatusGone], len(s.Rejected))
		for i, r := range s.Rejected {
			if i == maxOpLines {
				fmt.Fprintf(m.Stdout, "  … %d more rejected records (--output json lists them all)\n", len(s.Rejected)-i)
				break
			}
			where := r.Anchor
			if where == "" {
				where = r.Pos
			}
			if r.Attribute != "" {
				where += " " + r.Attribute
			}
			fmt.Fprintf(m.Stdout, "  ! rejected since %s: %s: %s\n", r.FirstSeen.Local().Format("2006-01-02 15:04"), where, r.Reason)
		}
		if len(s.Held) > 0 {
			fmt.Fprintf(m.Stdout, "  ! safety gate: %d disables held by the watch, applied only by `syncd sync --allow-mass-disable`:\n", len(s.Held))
		}
		for i, h := range s.Held {
			if i == maxOpLines {
				fmt.Fprintf(m.Stdout, "  … %d more held disables (--output json lists them all)\n", len(s.Held)-i)
				break
			}
			fmt.Fprintf(m.Stdout, "  ! held since %s (run %d): %s %s: %s\n", h.HeldAt.Local().Format("2006-01-02 15:04"), h.RunID, h.Anchor, h.Username, h.Reason)
		}
		tw := tabwriter.NewWriter(m.Stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  run\tmode\tstarted\tduration\tstatus\tchanges\terror")
		for _, r := range s.Runs {
			d := "running"
			if !r.FinishedAt.IsZero() {
				d = r.FinishedAt.Sub(r.StartedAt).Round(time.Millisecond).String()
			}
			fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.Mode, r.StartedAt.Local().Format("2006-01-02 15:04:05"), d, r.Status, changes(r.Counts), clip(r.Error, 60))
		}
		_ = tw.Flush()
		if len(s.Runs) == 0 {
			fmt.Fprintln(m.Stdout, "  no runs yet")
		}
	}
	return ExitOK
}

func changes(c map[string]int) string {
	var parts []string
	for _, k := range []string{"created", "adopted", "updated", "enabled", "disabled", "deleted", "moved", "rejected", "failed"} {
		if c[k] > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", k, c[k]))
		}
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, ", ")
}

func (m *Main) runValidate(ctx context.Context, g *globalFlags, args []string) int {
	fs := m.flagSet("validate", g)
	online := fs.Bool("online", false, "also check the LDAP bind, the PingOne token, populations and custom attributes")
	if _, err := m.parse(fs, g, args); err != nil {
		return m.usageErr(err)
	}
	cfg, err := m.loadConfig(ctx, g)
	if err != nil {
		return m.fail(err)
	}
	if !*online {
		fmt.Fprintf(m.Stdout, "config %s is valid: %d job(s)\n", cfg.Path, len(cfg.Jobs))
		return ExitOK
	}
	log := newLogger(cfg, m.Stderr)
	var problems []string
	check := func(what string, err error) {
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", what, err))
			fmt.Fprintf(m.Stdout, "FAIL  %s: %v\n", what, err)
			return
		}
		fmt.Fprintf(m.Stdout, "ok    %s\n", what)
	}
	// A check that was not made is said so, never "ok".
	notChecked := func(what, why string) {
		fmt.Fprintf(m.Stdout, "not checked  %s: %s\n", what, why)
	}
	st, err := openStore(ctx, cfg, log, false)
	if err == nil {
		err = st.Ping(ctx)
		st.Close()
	} else if cfg.State.Migrate() && errors.Is(err, state.ErrSchemaOutdated) {
		err = nil // reachable; the first run applies the pending migrations (state.auto_migrate)
	}
	// The URL's password never shows, nor any of it the driver echoes
	// (pgstate scrubs its errors).
	check("state "+backend.Redact(cfg.State.URL), err)

	envs := newEnvironments(cfg, log, nil, budget.NewMemory())
	type schema struct {
		known map[string]bool
		err   error
	}
	schemas := map[*pingone.Client]schema{}
	for _, j := range cfg.Jobs {
		client, err := envs.client(&j)
		if err != nil {
			return m.fail(usageError{err})
		}
		sc, seen := schemas[client]
		if !seen {
			attrs, err := client.SchemaAttributes(ctx)
			what := "pingone token and schema"
			if name, _ := cfg.Environment(&j); name != config.DefaultEnvironment {
				what = "pingone environment " + name + ": token and schema"
			}
			check(what, err)
			sc = schema{known: map[string]bool{}, err: err}
			for _, a := range attrs {
				sc.known[a.Name] = true
			}
			schemas[client] = sc
		}
		known, schemaErr := sc.known, sc.err
		what := fmt.Sprintf("job %s: %s source", j.Name, j.Source.Kind())
		src, err := newSource(&j, log)
		if err != nil {
			check(what, err)
		} else if c, ok := src.(interface{ Check(context.Context) error }); ok {
			switch j.Source.Kind() {
			case "ldap":
				what += " (dial, TLS, bind)"
			case "csv":
				what += " (file opens)"
			}
			check(what, c.Check(ctx))
		} else {
			notChecked(what, "this source has no online check")
		}
		for _, p := range populationConstants(j.Population) {
			_, err := client.ResolvePopulation(ctx, p)
			check(fmt.Sprintf("job %s: population %q", j.Name, p), err)
		}
		for _, ca := range j.CustomAttributes {
			what := fmt.Sprintf("job %s: custom attribute %q", j.Name, ca)
			if schemaErr != nil {
				notChecked(what, "the PingOne user schema could not be read")
				continue
			}
			var err error
			if !known[ca] {
				err = errors.New("not defined in the PingOne user schema: create it (Directory > User Attributes) or remove it from custom_attributes")
			}
			check(what, err)
		}
	}
	if len(problems) > 0 {
		return ExitFailed
	}
	return ExitOK
}

func (m *Main) runState(ctx context.Context, g *globalFlags, args []string) int {
	if len(args) == 0 || args[0] != "rebuild" {
		return m.usageErr(errors.New("usage: syncd state rebuild --job NAME"))
	}
	return m.runRebuild(ctx, g, args[1:])
}

func populationConstants(p mapper.Population) []string {
	if p.Name != "" {
		return []string{p.Name}
	}
	var out []string
	seen := map[string]bool{}
	for _, r := range p.Rules {
		if !seen[r.Population] {
			seen[r.Population] = true
			out = append(out, r.Population)
		}
	}
	return out
}
