package state

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// GroupStatus is the state of a managed group as syncd last left it.
type GroupStatus string

// Group checkpoint statuses.
const (
	// GroupActive: the group exists in PingOne and syncd manages it.
	GroupActive GroupStatus = "active"
	// GroupPending: syncd is about to create it (intent before write,
	// DESIGN invariant 6); the next run looks it up by externalId before
	// creating it again.
	GroupPending GroupStatus = "pending"
	// GroupFailed: the last operation on it failed; retried next run.
	GroupFailed GroupStatus = "failed"
	// GroupConflict: PingOne holds a group of that name that syncd does
	// not manage (and adopt_by_name is off).
	GroupConflict GroupStatus = "conflict"
)

// GroupCheckpoint is what syncd knows of one managed group.
type GroupCheckpoint struct {
	Anchor       string // the source group's anchor (entryUUID, objectGUID, or the name for from_records)
	GroupID      string // PingOne group id; empty until created
	Name         string
	Description  string
	PopulationID string // "" = environment-level group
	// Adopted is true for a group syncd took over by name (adopt_by_name):
	// syncd never deletes it, and never removes the members it already had.
	Adopted bool
	Status  GroupStatus
	// LastError is why the last operation failed.
	LastError string
	// Members is how many memberships of the group syncd manages after
	// its last run: a complete read that finds the group empty while this
	// is above zero trips the safety gate.
	Members    int
	FirstSeen  time.Time
	LastSynced time.Time
}

// Membership is one (group, member) pair syncd added to PingOne. Member
// is a user anchor, or a group anchor when Nested (a group-in-group link
// of nested: mirror).
type Membership struct {
	Group  string
	Member string
	Nested bool
	// Preexisting is true when PingOne already had the membership when
	// syncd added it (a member added by hand, or an adopted group's
	// member): syncd then never removes it.
	Preexisting bool
	// Pending is an addition's intent, recorded before its POST: the call
	// may or may not have reached PingOne. The next run sends it again,
	// and "already a member" then means syncd added it (not preexisting).
	Pending bool
	Since   time.Time
}

// GroupBatch is what one checkpoint of the group and membership apply
// writes, in one transaction.
type GroupBatch struct {
	// Groups are upserted.
	Groups []GroupCheckpoint
	// DropGroups are the anchors of groups no longer managed: their
	// checkpoints and memberships are deleted.
	DropGroups []string
	// Add are upserted memberships; Remove deleted ones (by Group, Member
	// and Nested).
	Add, Remove []Membership
	// Journal entries of the writes this batch records.
	Journal []JournalEntry
}

// GroupStore is the part of a store that keeps group and membership
// checkpoints. Both backends implement it.
type GroupStore interface {
	// GroupCheckpoints streams the job's group checkpoints to fn.
	GroupCheckpoints(ctx context.Context, job string, fn func(GroupCheckpoint) error) error
	// Memberships streams the job's memberships to fn, ordered by group
	// anchor, then Nested, then member anchor.
	Memberships(ctx context.Context, job string, fn func(Membership) error) error
	// SaveGroups writes b in one transaction: all of it or nothing.
	SaveGroups(ctx context.Context, job string, b GroupBatch) error

	// UserNames streams the job's user name index (how group entries name
	// the users: DN and uid), ordered by anchor.
	UserNames(ctx context.Context, job string, fn func(UserName) error) error
	// SaveUserNames updates the index in one transaction: with replace,
	// set becomes the whole index; otherwise set is upserted and the
	// anchors in drop are deleted.
	SaveUserNames(ctx context.Context, job string, replace bool, set []UserName, drop []string) error
}

// UserName is how a directory's group entries name one managed user: a
// delta read of the users carries only the changed ones, and member DNs
// of every other user must still resolve to their anchors.
type UserName struct {
	Anchor string
	DN     string // normalised
	UID    string // for memberUid
	// Population is the population the mapping gave the user (name or id,
	// as configured).
	Population string
	// Username is the PingOne username last mapped, for reports.
	Username string
}

// Validate refuses what the tables would refuse, before a transaction,
// with a message naming the row.
func (b GroupBatch) Validate() error {
	for _, g := range b.Groups {
		switch {
		case g.Anchor == "":
			return errors.New("group checkpoint with an empty anchor")
		case g.Members < 0:
			return fmt.Errorf("group %s: negative member count", g.Anchor)
		}
		switch g.Status {
		case GroupActive, GroupPending, GroupFailed, GroupConflict:
		default:
			return fmt.Errorf("group %s: unknown status %q", g.Anchor, g.Status)
		}
	}
	for _, ms := range [][]Membership{b.Add, b.Remove} {
		for _, m := range ms {
			if m.Group == "" || m.Member == "" {
				return fmt.Errorf("membership with an empty anchor (group %q, member %q)", m.Group, m.Member)
			}
		}
	}
	return nil
}
