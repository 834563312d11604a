package reconcile

import (
	"context"
	"fmt"

	"go.uber.org/zap"

	"github.com/syncd/syncd/sink/pingone"
	"github.com/syncd/syncd/sources"
	"github.com/syncd/syncd/state"
)

// Rebuilding group and membership state (`syncd state rebuild`), and why
// it works this way:
//
//   - A run never reads memberships back (memberships.go), so after a lost
//     state database every membership would be planned as an addition:
//     one POST each, each answered "already a member" and then recorded as
//     preexisting — never removed again when it leaves the source. Rebuild
//     instead records what syncd manages, from PingOne and the source.
//   - A group is claimed by its externalId (the anchor syncd gave it,
//     DESIGN invariant 3), or with adopt_by_name by its name when it
//     carries none; a source group PingOne does not have is left to the
//     next run, which creates it.
//   - A membership is recorded when PingOne lists the user as a member of
//     the group (one paged listing per group, §5a) and the source says the
//     user belongs there: the intersection. Members an admin added by hand
//     that the source does not list stay unmanaged, so syncd never removes
//     them. With nested: mirror, a user listed through a nested group is
//     read once more to see whether the membership is DIRECT, and each
//     nesting link the source has is read back (one GET each).
//   - An adopted group's memberships are recorded as preexisting: syncd
//     cannot tell which of them it added, so it removes none.
//   - The users' checkpoints must be rebuilt first: memberships name users
//     by anchor, and PingOne ids come from those checkpoints.

// GroupRebuild is what RebuildGroups recorded.
type GroupRebuild struct {
	Groups      int // group checkpoints written
	Adopted     int // of them, groups claimed by name (adopt_by_name)
	Memberships int // user memberships recorded
	Links       int // nesting links recorded (mirror)
	// Missing are the source groups PingOne has no group for: the next
	// run creates them.
	Missing []string
	// Unclaimed are the source groups PingOne has under their externalId
	// at another level (population) than groups.population: left alone.
	Unclaimed []string
}

// groupRebuilder reads groups and memberships back from PingOne.
// *pingone.Client implements it.
type groupRebuilder interface {
	memberReader
	GroupsByName(ctx context.Context, name string) ([]pingone.Group, error)
	NestedIn(ctx context.Context, childID, parentID string) (bool, error)
}

var _ groupRebuilder = (*pingone.Client)(nil)

// RebuildGroups rebuilds the job's group and membership checkpoints from
// PingOne and a complete read of its source (users and groups). Call it
// after the users' checkpoints are rebuilt.
func (e *Engine) RebuildGroups(ctx context.Context, job *Job) (GroupRebuild, error) {
	var res GroupRebuild
	if job.Groups == nil {
		return res, nil
	}
	gt, ok := e.Target.(groupRebuilder)
	if !ok {
		return res, fmt.Errorf("rebuild groups: the PingOne target %T cannot read groups back", e.Target)
	}
	gs, ok := e.Store.(state.GroupStore)
	if !ok {
		return res, fmt.Errorf("rebuild groups: the state store %T keeps no groups", e.Store)
	}
	if e.Logger == nil {
		e.Logger = zap.NewNop()
	}
	rep := &Report{Job: job.Name}
	rd, err := e.read(ctx, job, sources.ReadRequest{Full: true, Attributes: job.Groups.UserAttributes(job.Mapper.SourceAttributes()), AnchorsChecked: true}, rep, Options{})
	if err != nil {
		return res, fmt.Errorf("rebuild groups: %w", err)
	}
	if !rd.complete {
		return res, fmt.Errorf("rebuild groups: the source gave an incomplete read (%d records without an anchor?): nothing rebuilt", len(rep.Rejects))
	}
	popIDs, _, err := e.resolvePopulations(ctx, rd, rep, func(int, *record) bool { return true })
	if err != nil {
		return res, fmt.Errorf("rebuild groups: %w", err)
	}
	// Planned against no group state, the plan's additions are every
	// membership the source asks for.
	blank := *e
	blank.Store = noGroupState{e.Store}
	p, err := blank.planGroups(ctx, job, rd, popIDs, nil, rep)
	if err != nil {
		return res, fmt.Errorf("rebuild groups: %w", err)
	}
	users := map[string][]string{} // group anchor -> desired user anchors
	links := map[string][]string{} // group anchor -> desired nested group anchors
	var anchors []string
	for _, m := range p.members {
		if m.Action != MemberAdd {
			continue
		}
		if m.Nested {
			links[m.Group] = append(links[m.Group], m.Member)
		} else {
			users[m.Group] = append(users[m.Group], m.Member)
			anchors = append(anchors, m.Member)
		}
	}
	userIDs := map[string]string{}
	err = e.Store.CheckpointsFor(ctx, job.Name, anchors, func(cp state.Checkpoint) error {
		if cp.UserID != "" && cp.Status != state.StatusConflict {
			userIDs[cp.Anchor] = cp.UserID
		}
		return nil
	})
	if err != nil {
		return res, fmt.Errorf("rebuild groups: read user ids: %w", err)
	}

	// Claim the groups.
	now := e.now()
	var b state.GroupBatch
	found := map[string]state.GroupCheckpoint{}
	for _, op := range p.groups {
		if op.Action != GroupCreate {
			continue
		}
		g, ok, err := gt.GroupByExternalID(ctx, op.Anchor)
		if err != nil {
			return res, fmt.Errorf("rebuild groups: look up group %q externalId=%s: %w", op.Name, op.Anchor, err)
		}
		adopted := false
		if !ok && job.Groups.AdoptByName {
			named, err := gt.GroupsByName(ctx, op.Name)
			if err != nil {
				return res, fmt.Errorf("rebuild groups: look up the group named %q: %w", op.Name, err)
			}
			for _, n := range named {
				if n.ExternalID == "" && n.PopulationID == p.popID {
					g, ok, adopted = n, true, true
				}
			}
		}
		switch {
		case !ok:
			res.Missing = append(res.Missing, op.Name)
			continue
		case g.PopulationID != p.popID:
			res.Unclaimed = append(res.Unclaimed, op.Name)
			continue
		}
		// PingOne's name and description are taken as last applied: the
		// next run updates them only if the source differs.
		cp := state.GroupCheckpoint{Anchor: op.Anchor, GroupID: g.ID, Name: g.Name, Description: g.Description, PopulationID: g.PopulationID,
			Status: state.GroupActive, Adopted: adopted, Members: p.size[op.Anchor], FirstSeen: now, LastSynced: now}
		found[op.Anchor] = cp
		b.Groups = append(b.Groups, cp)
		res.Groups++
		if adopted {
			res.Adopted++
		}
	}

	// Claim the memberships: PingOne's listing ∩ the source.
	listed := map[string]map[string]bool{}
	list := func(groupID string) (map[string]bool, error) {
		if ids, ok := listed[groupID]; ok {
			return ids, nil
		}
		ids := map[string]bool{}
		if err := gt.GroupMembers(ctx, groupID, func(u pingone.User) error { ids[u.ID] = true; return nil }); err != nil {
			return nil, err
		}
		listed[groupID] = ids
		return ids, nil
	}
	for _, op := range p.groups {
		cp, ok := found[op.Anchor]
		if !ok {
			continue
		}
		var via []map[string]bool // mirror: members of the nested groups
		for _, l := range links[op.Anchor] {
			child, ok := found[l]
			if !ok {
				continue
			}
			in, err := gt.NestedIn(ctx, child.GroupID, cp.GroupID)
			if err != nil {
				return res, fmt.Errorf("rebuild groups: read the nesting of %q in %q: %w", child.Name, cp.Name, err)
			}
			if !in {
				continue
			}
			b.Add = append(b.Add, state.Membership{Group: op.Anchor, Member: l, Nested: true, Preexisting: cp.Adopted, Since: now})
			res.Links++
			ids, err := list(child.GroupID)
			if err != nil {
				return res, fmt.Errorf("rebuild groups: list the members of group %q: %w", child.Name, err)
			}
			via = append(via, ids)
		}
		if len(users[op.Anchor]) == 0 {
			continue
		}
		have, err := list(cp.GroupID)
		if err != nil {
			return res, fmt.Errorf("rebuild groups: list the members of group %q: %w", cp.Name, err)
		}
		for _, a := range users[op.Anchor] {
			uid := userIDs[a]
			if uid == "" || !have[uid] {
				continue // not a member in PingOne: the next run adds it
			}
			if indirectPossible(via, uid) {
				direct, err := gt.DirectMember(ctx, uid, cp.GroupID)
				if err != nil {
					return res, fmt.Errorf("rebuild groups: read user %s's membership of group %q: %w", uid, cp.Name, err)
				}
				if !direct {
					continue
				}
			}
			b.Add = append(b.Add, state.Membership{Group: op.Anchor, Member: a, Preexisting: cp.Adopted, Since: now})
			res.Memberships++
		}
	}
	if err := gs.SaveGroups(ctx, job.Name, b); err != nil {
		return res, fmt.Errorf("rebuild groups: save: %w", err)
	}
	if n := p.names; n != nil {
		if err := gs.SaveUserNames(ctx, job.Name, n.replace, n.set, n.drop); err != nil {
			return res, fmt.Errorf("rebuild groups: save the user name index: %w", err)
		}
	}
	return res, nil
}

// noGroupState is a store that has no group or membership state: planned
// against it, every group is new and every membership an addition.
type noGroupState struct{ state.Store }

func (noGroupState) GroupCheckpoints(context.Context, string, func(state.GroupCheckpoint) error) error {
	return nil
}

func (noGroupState) Memberships(context.Context, string, func(state.Membership) error) error {
	return nil
}

func (noGroupState) UserNames(context.Context, string, func(state.UserName) error) error { return nil }

func (noGroupState) SaveGroups(context.Context, string, state.GroupBatch) error {
	return fmt.Errorf("rebuild groups: internal error: planning tried to write")
}

func (noGroupState) SaveUserNames(context.Context, string, bool, []state.UserName, []string) error {
	return fmt.Errorf("rebuild groups: internal error: planning tried to write")
}

var _ state.GroupStore = noGroupState{}
