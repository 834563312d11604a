package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"

	"github.com/syncd/syncd/state"
)

// runRevert plans the inverse of a run from the journal (`syncd revert RUN`):
// printed for review, saved with --out for `syncd apply`. It writes nothing.
func (m *Main) runRevert(ctx context.Context, g *globalFlags, args []string) int {
	fs := m.flagSet("revert", g)
	f := syncFlags{dryRun: true}
	fs.StringVar(&f.outFile, "out", "", "save the revert plan to FILE for 'syncd apply'")
	fs.StringVar(&f.reportFile, "report", "", "write the JSON plan report to FILE")
	pos, err := m.parse(fs, g, args)
	if err != nil {
		return m.usageErr(err)
	}
	if len(pos) != 1 {
		return m.usageErr(errors.New("revert takes one argument: the id of the run to revert (see 'syncd status' or 'syncd journal')"))
	}
	id, err := strconv.ParseInt(pos[0], 10, 64)
	if err != nil || id <= 0 {
		return m.usageErr(fmt.Errorf("revert %q: want a run id (a positive number)", pos[0]))
	}
	cfg, err := m.loadConfig(ctx, g)
	if err != nil {
		return m.fail(err)
	}
	st, err := openStore(ctx, cfg, newLogger(cfg, m.Stderr), false)
	if err != nil {
		return m.fail(err)
	}
	jr, ok := st.(state.Journal)
	var (
		run   state.Run
		found bool
	)
	if ok {
		run, found, err = jr.Run(ctx, id)
	}
	st.Close()
	switch {
	case err != nil:
		return m.fail(err)
	case !found:
		return m.fail(fmt.Errorf("run %d is not in state %s (pruned after state.journal_retention, or never existed)", id, cfg.State.URL))
	case len(g.jobs) > 0 && !slices.Contains(g.jobs, run.Job):
		return m.usageErr(fmt.Errorf("run %d is a run of job %s, not of --job %s", id, run.Job, g.jobs.String()))
	}
	g.jobs = stringList{run.Job}
	f.revertOf = map[string]int64{run.Job: id}
	return m.syncJobs(ctx, g, f, nil)
}
