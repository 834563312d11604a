// Package benchgroups holds the membership bench's fixture, shared by
// reconcile's Go benchmarks and the `make bench` harness
// (bench/cmd/syncd-bench): a CSV of N users in Per of Groups groups each
// (a `groups` column read with from_records), the job that syncs it, and a
// state seeded as if an earlier run had synced every user, group and
// membership, so that a planning run can be measured without first
// spending 5·N API calls.
package benchgroups

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/syncd/syncd/mapper"
	"github.com/syncd/syncd/reconcile"
	"github.com/syncd/syncd/sources"
	"github.com/syncd/syncd/state"
)

// The fixture's shape: every user is in Per of Groups groups, so N users
// make Per·N memberships.
const (
	Groups = 20
	Per    = 5
)

// GroupName is the name (and, with from_records, the anchor) of group k.
func GroupName(k int) string { return fmt.Sprintf("G%02d", k) }

// UserGroups is the group list of user i: Per consecutive groups.
func UserGroups(i int) []string {
	gs := make([]string, Per)
	for k := range gs {
		gs[k] = GroupName((i + k) % Groups)
	}
	return gs
}

// WriteCSV writes n users (id,uid,mail,groups); edit, when not nil, may
// change user i's group list.
func WriteCSV(path string, n int, edit func(i int, gs []string) []string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	fmt.Fprintln(w, "id,uid,mail,groups")
	for i := 0; i < n; i++ {
		gs := UserGroups(i)
		if edit != nil {
			gs = edit(i, gs)
		}
		fmt.Fprintf(w, "e%07d,user%07d,user%07d@example.com,%s\n", i, i, i, strings.Join(gs, ";"))
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Mappers returns the user mapping (population Staff) and the groups
// mapping (from_records: split(groups, ";")) of the fixture.
func Mappers() (*mapper.Mapper, *mapper.GroupMapper, error) {
	m, err := mapper.Compile(mapper.Config{Mapping: map[string]string{"username": "uid", "email": "mail"}, Population: mapper.Population{Name: "Staff"}})
	if err != nil {
		return nil, nil, err
	}
	gm, err := mapper.CompileGroups(mapper.GroupExprs{FromRecords: `split(groups, ";")`})
	if err != nil {
		return nil, nil, err
	}
	return m, gm, nil
}

// Store is what Seed writes to.
type Store interface {
	state.Store
	state.GroupStore
}

// Seed writes, for every record src reads, the user checkpoint, and for
// every group and membership its checkpoint, as an initial sync of the
// job would have left them (PingOne ids are made up: a dry run never
// uses them). popID is the id of the Staff population. It returns the
// number of memberships written.
func Seed(ctx context.Context, st Store, job string, src sources.Source, m *mapper.Mapper, gm *mapper.GroupMapper, popID string) (int, error) {
	attrs := m.SourceAttributes()
	if attrs != nil {
		attrs = append(attrs, gm.SourceAttributes()...)
	}
	r, err := src.Open(ctx, sources.ReadRequest{Full: true, Attributes: attrs})
	if err != nil {
		return 0, err
	}
	defer r.Close()
	now := time.Now()
	var (
		cps     []state.Checkpoint
		members = map[string][]string{} // group name -> member anchors
		n       int
	)
	flush := func() error {
		err := st.SaveCheckpoints(ctx, job, cps)
		cps = cps[:0]
		return err
	}
	for r.Next() {
		rec := r.Record()
		res := m.Map(rec)
		if res.Outcome != mapper.Mapped {
			return 0, fmt.Errorf("seed: record %s not mapped: %v", rec.Anchor, res.Reject)
		}
		d := res.Desired
		n++
		cps = append(cps, state.Checkpoint{
			Anchor: d.Anchor, UserID: fmt.Sprintf("%08x-0000-4000-8000-%012x", n>>16, n), Username: d.Username(),
			PopulationID: popID, Enabled: d.Enabled, Hash: d.Hash, Attributes: reconcile.EncodeAttributes(d.Attributes),
			FirstSeen: now, LastSeen: now, LastSynced: now, Status: state.StatusActive,
		})
		if len(cps) == 5000 {
			if err := flush(); err != nil {
				return 0, err
			}
		}
		names, err := gm.RecordGroups(rec)
		if err != nil {
			return 0, fmt.Errorf("seed: record %s: %w", rec.Anchor, err)
		}
		for _, g := range names {
			members[g] = append(members[g], d.Anchor)
		}
	}
	if err := r.Err(); err != nil {
		return 0, err
	}
	if err := flush(); err != nil {
		return 0, err
	}
	total, k := 0, 0
	for name, anchors := range members {
		k++
		b := state.GroupBatch{Groups: []state.GroupCheckpoint{{
			Anchor: name, GroupID: fmt.Sprintf("%08x-0000-4000-9000-000000000000", k), Name: name,
			Status: state.GroupActive, Members: len(anchors), FirstSeen: now, LastSynced: now,
		}}}
		if err := st.SaveGroups(ctx, job, b); err != nil {
			return 0, err
		}
		for len(anchors) > 0 {
			c := anchors[:min(len(anchors), 10000)]
			anchors = anchors[len(c):]
			b := state.GroupBatch{Add: make([]state.Membership, len(c))}
			for i, a := range c {
				b.Add[i] = state.Membership{Group: name, Member: a, Since: now}
			}
			if err := st.SaveGroups(ctx, job, b); err != nil {
				return 0, err
			}
			total += len(c)
		}
	}
	return total, nil
}
