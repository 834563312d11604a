package main

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/syncd/syncd/mapper"
	"github.com/syncd/syncd/reconcile"
	"github.com/syncd/syncd/sink/pingone"
	"github.com/syncd/syncd/sources"
	"github.com/syncd/syncd/state"
)

// runRebuild rebuilds a job's state from PingOne: the users in the job's
// populations whose externalId the job's mapping produces from a current
// read of its source become checkpoints, PingOne's current values taken as
// last applied. A normal run then continues with no duplicate user and no
// mass update: only real differences are written.
//
// A user carrying an externalId the job does not produce (another tool's,
// another job's export) is never claimed, nor is one another job sharing
// the state database manages. When the source cannot be read, rebuild
// refuses; --force claims every user carrying an externalId in the job's
// populations (the old, trusting behaviour), still leaving other jobs'
// users alone.
func (m *Main) runRebuild(ctx context.Context, g *globalFlags, args []string) int {
	fs := m.flagSet("state rebuild", g)
	force := fs.Bool("force", false, "when the source cannot be read, claim every user carrying an externalId in the job's populations")
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
	client, err := newEnvironments(cfg, log, nil, budgetPool(st, false)).client(j)
	if err != nil {
		return m.fail(usageError{err})
	}

	// Which externalIds does the job produce today, and under which anchor?
	produced, readErr := func() (map[string]string, error) {
		src, err := newSource(j, log)
		if err != nil {
			return nil, err
		}
		return producedExternalIDs(ctx, src, j.Mapper)
	}()
	if readErr != nil {
		if !*force {
			return m.fail(fmt.Errorf("job %s: state rebuild: read the source: %w; nothing rebuilt: without the source syncd cannot tell its users from others carrying an externalId (re-run with --force to claim every user carrying one in the job's populations)", j.Name, readErr))
		}
		fmt.Fprintf(m.Stderr, "syncd: job %s: the source could not be read (%v): --force claims every user carrying an externalId in the job's populations\n", j.Name, readErr)
		produced = nil
	}

	managed := j.Mapper.ManagedAttributes()
	now := time.Now()
	var cps []state.Checkpoint
	notProduced := 0
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
			anchor := ext
			if produced != nil {
				a, ok := produced[ext]
				if !ok {
					notProduced++
					return nil
				}
				anchor = a
			}
			cps = append(cps, rebuiltCheckpoint(u, anchor, managed, now))
			return nil
		})
		if err != nil {
			return m.fail(fmt.Errorf("job %s: rebuild from population %q: %w", j.Name, p, err))
		}
	}

	cps, ambiguous := dropAmbiguous(cps)
	cps, owned, err := dropOwnedElsewhere(ctx, st, j.Name, cps)
	if err != nil {
		return m.fail(fmt.Errorf("job %s: rebuild: %w", j.Name, err))
	}
	total := 0
	for len(cps) > 0 {
		n := min(len(cps), 500)
		if err := st.SaveCheckpoints(ctx, j.Name, cps[:n]); err != nil {
			return m.fail(fmt.Errorf("job %s: rebuild: %w", j.Name, err))
		}
		total += n
		cps = cps[n:]
	}
	fmt.Fprintf(m.Stdout, "job %s: rebuilt %d checkpoints from PingOne\n", j.Name, total)
	if notProduced > 0 {
		fmt.Fprintf(m.Stdout, "job %s: left %d users alone whose externalId the job's mapping does not produce from the source\n", j.Name, notProduced)
	}
	if ambiguous > 0 {
		fmt.Fprintf(m.Stdout, "job %s: left %d users alone that share an externalId with another user (keep one, then rebuild again)\n", j.Name, ambiguous)
	}
	for _, o := range owned {
		fmt.Fprintf(m.Stdout, "job %s: left PingOne user %s alone: managed by job %q\n", j.Name, o.userID, o.job)
	}
	if j.Groups == nil {
		return ExitOK
	}
	if readErr != nil {
		fmt.Fprintf(m.Stdout, "job %s: groups and memberships not rebuilt: they need the source (the next run records a membership it finds in PingOne as preexisting, never removed)\n", j.Name)
		return ExitOK
	}
	// Groups and memberships: those syncd manages, from PingOne and the
	// source (reconcile/groups_rebuild.go).
	rj, err := newJob(j, cfg, log)
	if err != nil {
		return m.fail(err)
	}
	eng := &reconcile.Engine{Store: st, Target: client, Logger: log}
	res, err := eng.RebuildGroups(ctx, rj)
	if err != nil {
		return m.fail(fmt.Errorf("job %s: %w", j.Name, err))
	}
	fmt.Fprintf(m.Stdout, "job %s: rebuilt %d groups (%d adopted by name), %d memberships and %d nesting links from PingOne\n",
		j.Name, res.Groups, res.Adopted, res.Memberships, res.Links)
	if len(res.Missing) > 0 {
		fmt.Fprintf(m.Stdout, "job %s: %d source groups are not in PingOne (the next run creates them): %s\n", j.Name, len(res.Missing), listSome(res.Missing))
	}
	if len(res.Unclaimed) > 0 {
		fmt.Fprintf(m.Stdout, "job %s: left %d groups alone that carry their anchor at another level than groups.population: %s\n", j.Name, len(res.Unclaimed), listSome(res.Unclaimed))
	}
	return ExitOK
}

// listSome lists up to five names.
func listSome(names []string) string {
	if len(names) <= 5 {
		return strings.Join(names, ", ")
	}
	return strings.Join(names[:5], ", ") + fmt.Sprintf(" and %d more", len(names)-5)
}

// producedExternalIDs reads the source completely and maps every record:
// the externalIds the job would give its users, each with its anchor.
func producedExternalIDs(ctx context.Context, src sources.Source, mp *mapper.Mapper) (map[string]string, error) {
	r, err := src.Open(ctx, sources.ReadRequest{Full: true, Attributes: mp.SourceAttributes()})
	if err != nil {
		return nil, err
	}
	defer r.Close()
	out := map[string]string{}
	for r.Next() {
		rec := r.Record()
		if rec.Deleted {
			continue
		}
		if res := mp.Map(rec); res.Outcome == mapper.Mapped {
			out[res.Desired.Attributes["externalId"]] = res.Desired.Anchor
		}
	}
	if err := r.Err(); err != nil {
		return nil, err
	}
	if r.Mode() != sources.Full {
		return nil, errors.New("the source gave a delta read, not a complete one")
	}
	return out, nil
}

// dropAmbiguous leaves out the users of an anchor that several users claim.
func dropAmbiguous(cps []state.Checkpoint) ([]state.Checkpoint, int) {
	n := map[string]int{}
	for _, c := range cps {
		n[c.Anchor]++
	}
	kept := cps[:0]
	dropped := 0
	for _, c := range cps {
		if n[c.Anchor] > 1 {
			dropped++
			continue
		}
		kept = append(kept, c)
	}
	return kept, dropped
}

type ownedUser struct{ userID, job string }

// dropOwnedElsewhere leaves out the users another job sharing the state
// database manages: a user has one owner.
func dropOwnedElsewhere(ctx context.Context, st state.Store, job string, cps []state.Checkpoint) ([]state.Checkpoint, []ownedUser, error) {
	o, ok := st.(state.Owners)
	if !ok || len(cps) == 0 {
		return cps, nil, nil
	}
	jobs, err := o.Jobs(ctx)
	if err != nil {
		return nil, nil, err
	}
	ids := make([]string, len(cps))
	for i, c := range cps {
		ids[i] = c.UserID
	}
	owner := map[string]string{}
	for _, other := range jobs {
		if other == job {
			continue
		}
		err := o.CheckpointsOfUsers(ctx, other, ids, func(c state.Checkpoint) error {
			if _, ok := owner[c.UserID]; !ok {
				owner[c.UserID] = other
			}
			return nil
		})
		if err != nil {
			return nil, nil, err
		}
	}
	var owned []ownedUser
	kept := cps[:0]
	for _, c := range cps {
		if other, ok := owner[c.UserID]; ok {
			owned = append(owned, ownedUser{c.UserID, other})
			continue
		}
		kept = append(kept, c)
	}
	sort.Slice(owned, func(i, j int) bool { return owned[i].userID < owned[j].userID })
	return kept, owned, nil
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
	cp := state.Checkpoint{
		Anchor: anchor, UserID: u.ID, Username: u.Attributes["username"], PopulationID: u.PopulationID,
		Enabled: u.Enabled, Attributes: reconcile.EncodeAttributes(attrs), Status: status,
		FirstSeen: now, LastSeen: now, LastSynced: now,
		// No hash: the next run compares field by field, then records it.
	}
	if !u.Enabled {
		// When syncd disabled it is lost with the state: a grace period of
		// deprovision.delete_after counts from the rebuild, never earlier.
		cp.DisabledAt = now
	}
	return cp
}
