package state

import (
	"context"
	"time"
)

// Reject is a source record a job rejected, kept until a run reads the
// record again and accepts it (DESIGN invariant 11: a standing problem
// keeps its exit code until it is fixed).
type Reject struct {
	// Anchor is the record's anchor; empty when the source could not
	// identify the record (then Pos tells where it is).
	Anchor    string
	Pos       string
	Attribute string
	Reason    string
	// FirstSeen is when a run first rejected the record (kept while it
	// stands); LastSeen when a run last did.
	FirstSeen time.Time
	LastSeen  time.Time
}

// Rejects is the part of a store that keeps each job's standing rejects.
// Both backends implement it.
type Rejects interface {
	// SaveRejects records what one run found, in one transaction. After a
	// complete read the job's standing rejects become rs. After a delta
	// read rs are added (or replace the standing reject of their anchor),
	// and the standing rejects of the anchors in accepted — read this run
	// and accepted, out of scope or deleted — are removed; the others
	// stand. Rejects without an anchor are keyed by Pos and go only with
	// a complete read.
	SaveRejects(ctx context.Context, job string, complete bool, rs []Reject, accepted []string) error
	// StandingRejects streams the job's standing rejects to fn, by anchor
	// (anonymous ones last). An error from fn stops the stream.
	StandingRejects(ctx context.Context, job string, fn func(Reject) error) error
	// CountRejects returns how many rejects stand for the job.
	CountRejects(ctx context.Context, job string) (int, error)
}

// RejectKey is the key a store files r under: its anchor, or "@" and its
// position for a record without one.
func RejectKey(r Reject) string {
	if r.Anchor != "" {
		return r.Anchor
	}
	return "@" + r.Pos
}
