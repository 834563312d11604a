package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"go.uber.org/zap"

	"github.com/syncd/syncd/config"
	"github.com/syncd/syncd/mapper"
	"github.com/syncd/syncd/reconcile"
	"github.com/syncd/syncd/sources"
	"github.com/syncd/syncd/sources/csvsource"
	"github.com/syncd/syncd/sources/ldifsource"
)

// mapOutput is what `syncd map` prints: the job's desired users and rejects
// for a fixture, and with --explain how each value was computed.
type mapOutput struct {
	Job string `json:"job"`
	mapper.MapOutput
	// NotSelected counts LDIF entries a live read of the job would not
	// return (outside its base DNs and scope, or not matching its filter):
	// groups, OUs, other people. They are neither mapped nor rejects.
	NotSelected int                             `json:"not_selected,omitempty"`
	Explain     map[string][]mapper.Explanation `json:"explain,omitempty"`
	// Groups are, with --explain on a job with groups, each user's groups
	// and the nested groups a membership comes through.
	Groups map[string][]reconcile.GroupReason `json:"groups,omitempty"`
}

// runMap maps a fixture offline, touching neither PingOne nor state: how an
// admin tests a mapping in CI before it goes live. Exit 0, or 4 when it
// printed rejects, or 2.
func (m *Main) runMap(ctx context.Context, g *globalFlags, args []string) int {
	fs := m.flagSet("map", g)
	input := fs.String("input", "", "fixture: FILE.csv or FILE.ldif")
	explain := fs.Bool("explain", false, "show, per attribute, the expression and the source values it used")
	if _, err := m.parse(fs, g, args); err != nil {
		return m.usageErr(err)
	}
	if *input == "" {
		return m.usageErr(errors.New("map: --input FILE.csv|FILE.ldif is required"))
	}
	cfg, err := m.loadConfig(ctx, g)
	if err != nil {
		return m.fail(err)
	}
	var job *config.Job
	switch {
	case len(g.jobs) == 1:
		if job = cfg.Job(g.jobs[0]); job == nil {
			_, err := cfg.Select(g.jobs[0])
			return m.fail(usageError{err})
		}
	case len(g.jobs) == 0 && len(cfg.Jobs) == 1:
		job = &cfg.Jobs[0]
	default:
		return m.usageErr(errors.New("map: name one job with --job NAME"))
	}
	log := zap.NewNop()
	src, err := fixtureSource(job, *input, log)
	if err != nil {
		return m.fail(usageError{err})
	}
	recs, err := readAll(ctx, src)
	if err != nil {
		return m.fail(usageError{fmt.Errorf("map: read %s: %w", *input, err)})
	}
	users := recs
	if job.Groups != nil && job.Groups.LDAP != nil {
		// Group entries in the fixture are groups, not users to map.
		users = nil
		for _, r := range recs {
			if !reconcile.IsGroupEntry(r) {
				users = append(users, r)
			}
		}
	}
	users, notSelected, err := selectLDIF(job, *input, users)
	if err != nil {
		return m.fail(usageError{fmt.Errorf("map: %w", err)})
	}
	out := mapOutput{Job: job.Name, MapOutput: job.Mapper.MapAll(users), NotSelected: notSelected}
	if *explain {
		out.Explain = map[string][]mapper.Explanation{}
		for _, r := range users {
			if r.Deleted {
				continue
			}
			_, ex := job.Mapper.Explain(r)
			key := r.Anchor
			if key == "" {
				key = r.Pos
			}
			out.Explain[key] = ex
		}
		if job.Groups != nil {
			rg, err := newGroups(job, log)
			if err != nil {
				return m.fail(usageError{err})
			}
			out.Groups = reconcile.ExplainGroups(rg, job.Mapper, recs)
		}
	}
	enc := json.NewEncoder(m.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return m.fail(err)
	}
	if len(out.Rejects) > 0 {
		return ExitRejected
	}
	return ExitOK
}

// fixtureSource reads a fixture with the job's anchor settings: the CSV key
// column, or the LDAP anchor attribute.
func fixtureSource(job *config.Job, path string, log *zap.Logger) (sources.Source, error) {
	anchor := ""
	var csvCfg csvsource.Config
	switch {
	case job.Source.CSV != nil:
		csvCfg = *job.Source.CSV
		anchor = csvCfg.Key
	case job.Source.LDAP != nil:
		anchor = job.Source.LDAP.Anchor
		if anchor == "" {
			anchor = "entryUUID"
		}
		csvCfg = csvsource.Config{Key: anchor}
	}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".csv":
		csvCfg.Path = path
		return csvsource.New(csvCfg, log)
	case ".ldif":
		return ldifsource.New(ldifsource.Config{Path: path, Anchor: anchor}, log)
	}
	return nil, fmt.Errorf("map: --input %s: want a .csv or .ldif file", path)
}

// selectLDIF keeps the LDIF entries a live read of an LDAP job would
// return: under a base DN, in scope, matching the filter (the server does
// this for a live read). It returns the others' count.
func selectLDIF(job *config.Job, path string, recs []sources.Record) ([]sources.Record, int, error) {
	if job.Source.LDAP == nil || !strings.EqualFold(filepath.Ext(path), ".ldif") {
		return recs, 0, nil
	}
	lc := *job.Source.LDAP
	lc.SetDefaults()
	sel, err := ldifsource.NewSelector(lc.BaseDN, lc.Scope, lc.Filter)
	if err != nil {
		return nil, 0, fmt.Errorf("job %s source.ldap: %w", job.Name, err)
	}
	kept := make([]sources.Record, 0, len(recs))
	for _, r := range recs {
		if r.Deleted || sel.Selects(r.DN, r.Attrs) {
			kept = append(kept, r)
		}
	}
	return kept, len(recs) - len(kept), nil
}

// readAll reads a whole (small) fixture, copying each record since a source
// may reuse it.
func readAll(ctx context.Context, src sources.Source) ([]sources.Record, error) {
	r, err := src.Open(ctx, sources.ReadRequest{Full: true})
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var out []sources.Record
	for r.Next() {
		rec := r.Record()
		attrs := make(map[string][]string, len(rec.Attrs))
		for k, v := range rec.Attrs {
			attrs[k] = append([]string(nil), v...)
		}
		rec.Attrs = attrs
		out = append(out, rec)
	}
	return out, r.Err()
}
