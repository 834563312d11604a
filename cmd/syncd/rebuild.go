package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/syncd/syncd/reconcile"
	"github.com/syncd/syncd/sink/pingone"
	"github.com/syncd/syncd/state"
)

// runRebuild rebuilds a job's state from PingOne: the users in the job's
// populations that carry an externalId become checkpoints, PingOne's current
// values taken as last applied. A normal run then continues with no
// duplicate user and no mass update: only real differences are written.
func (m *Main) runRebuild(ctx context.Context, g *globalFlags, args []string) int {
	fs := m.flagSet("state rebuild", g)
	if _, err := m.parse(fs, g, args); err != nil {
		return m.usageErr(err)
	}
	if len(g.jobs) != 1 {
		return m.usageErr(errors.New("state rebuild: name one job with --job NAME"))
	}
	cfg, jobs, log, err := m.setup(ctx, g)
	if err != nil {
		return m.fail(err)
	}
	j := jobs[0]
	st, err := openStore(ctx, cfg, log, cfg.State.Migrate())
	if err != nil {
		return m.fail(err)
	}
	defer st.Close()
	unlock, err := st.Lock(ctx, j.Name)
	if err != nil {
		return m.fail(fmt.Errorf("job %s: %w", j.Name, err))
	}
	defer unlock(context.WithoutCancel(ctx)) //nolint:errcheck // released with the connection anyway
	client, err := newClient(cfg, log, nil)
	if err != nil {
		return m.fail(usageError{err})
	}

	managed := j.Mapper.ManagedAttributes()
	var cps []state.Checkpoint
	total := 0
	flush := func() error {
		if len(cps) == 0 {
			return nil
		}
		err := st.SaveCheckpoints(ctx, j.Name, cps)
		total += len(cps)
		cps = cps[:0]
		return err
	}
	seen := map[string]bool{}
	for _, p := range populationConstants(j.Population) {
		id, err := client.ResolvePopulation(ctx, p)
		if err != nil {
			return m.fail(fmt.Errorf("job %s: population %q: %w", j.Name, p, err))
		}
		if seen[id] {
			continue
		}
		seen[id] = true
		err = client.FindUsers(ctx, pingone.Eq("population.id", id), func(u pingone.User) error {
			ext := u.Attributes["externalId"]
			if ext == "" {
				return nil // not created by syncd nor adopted: not ours
			}
			cps = append(cps, rebuiltCheckpoint(u, ext, managed, time.Now()))
			if len(cps) == 500 {
				return flush()
			}
			return nil
		})
		if err == nil {
			err = flush()
		}
		if err != nil {
			return m.fail(fmt.Errorf("job %s: rebuild from population %q: %w", j.Name, p, err))
		}
	}
	fmt.Fprintf(m.Stdout, "job %s: rebuilt %d checkpoints from PingOne\n", j.Name, total)
	return ExitOK
}

func rebuiltCheckpoint(u pingone.User, anchor string, managed []string, now time.Time) state.Checkpoint {
	attrs := map[string]string{}
	for _, k := range managed {
		if v := u.Attributes[k]; v != "" {
			attrs[k] = v
		}
	}
	status := state.StatusActive
	if !u.Enabled {
		status = state.StatusDisabled
	}
	return state.Checkpoint{
		Anchor: anchor, UserID: u.ID, Username: u.Attributes["username"], PopulationID: u.PopulationID,
		Enabled: u.Enabled, Attributes: reconcile.EncodeAttributes(attrs), Status: status,
		FirstSeen: now, LastSeen: now, LastSynced: now,
		// No hash: the next run compares field by field, then records it.
	}
}
