package reconcile

import (
	"context"
	"fmt"
	"hash/maphash"
	"sort"
	"strings"

	"github.com/syncd/syncd/sink/pingone"
	"github.com/syncd/syncd/state"
)

// planAdoptions turns planned creates into adoptions where a user already
// exists in PingOne and a match rule allows taking it over (DESIGN invariants
// 3 and 4). It lists the environment's users only when the job has no
// checkpoints at all — a first run, or a lost state database — since that is
// when pre-existing users are expected; later runs discover a pre-existing
// user from the create's uniqueness violation instead, at no extra call.
//
// The listing streams: the creates are indexed by the keys the match rules
// compare (12 bytes a create per rule), each PingOne user is matched
// against them as its page arrives and then dropped, and each create keeps
// only its best match so far, folded into its op (an adoption, or the
// conflict that prevents one). Memory grows with the matches, as the plan
// would anyway, never with the size of the environment.
func (e *Engine) planAdoptions(ctx context.Context, job *Job, ops []Op, popIDs map[string]string, checkpoints int, rep *Report) error {
	if checkpoints > 0 {
		return nil
	}
	ix := newCreateIndex(job.Match, ops)
	if ix == nil {
		return nil
	}
	pops := map[string]string{} // one copy of each population id
	err := e.Target.FindUsers(ctx, pingone.Filter{}, func(u pingone.User) error {
		if p, ok := pops[u.PopulationID]; ok {
			u.PopulationID = p
		} else {
			pops[u.PopulationID] = u.PopulationID
		}
		return ix.offer(job, &u, popIDs)
	})
	if err != nil {
		return fmt.Errorf("list PingOne users to find pre-existing ones: %w", err)
	}
	ix.finish(rep)
	return nil
}

// finish settles what the listing left undecided: an ambiguous match is a
// conflict, a user outside the job's populations a reject.
func (ix *createIndex) finish(rep *Report) {
	for k, i := range ix.creates {
		s := ix.state[k]
		op := &ix.ops[i]
		switch {
		case s.rank == 0: // no match: created
		case s.n > 1 && int(s.rank) <= len(ix.rules):
			conflict(op, fmt.Sprintf("match rule %s is ambiguous: %d PingOne users match", ix.rules[s.rank-1], s.n))
		case s.outside:
			// Recorded as a conflict, so that later runs, which list no
			// users, know it: unchanged, it stays as it is; changed, its
			// create looks the externalId up first (execute).
			why := op.Why
			reject(rep, op, "population", why)
			op.cp = &state.Checkpoint{Anchor: op.Anchor(), Status: state.StatusConflict, LastError: why}
		}
	}
}

// conflict makes op a no-op recorded as a conflict.
func conflict(op *Op, why string) {
	create := op.ToPopulation
	*op = Op{desired: op.desired, Actions: Actions(ActNoop), Why: "conflict: " + why, ToPopulation: create}
	op.cp = &state.Checkpoint{Anchor: op.Anchor(), Status: state.StatusConflict, LastError: why}
}

// createIndex finds the planned creates a PingOne user matches, by rule.
type createIndex struct {
	ops     []Op
	creates []int        // indexes in ops of the creates
	state   []adoptState // by position in creates
	rules   []string     // the job's match rules, in order
	keys    [3]*keyIndex // externalId, username (lower-cased), email (lower-cased); nil: unused
	ranks   [3]uint8     // each key's rank + 1: its rule's position in rules, or len(rules) for "username taken"
	seed    maphash.Seed
}

// adoptState is what a create has met so far: the rank (+1; 0: nothing) of
// the best rule that matched, how many users it matched, and whether the
// user folded into the op sits outside the job's populations.
type adoptState struct {
	rank    uint8
	outside bool
	n       uint32
}

const (
	keyExternalID = iota
	keyUsername
	keyEmail
)

func newCreateIndex(rules []string, ops []Op) *createIndex {
	ix := &createIndex{ops: ops, rules: rules, seed: maphash.MakeSeed()}
	for i := range ops {
		if ops[i].Has(ActCreate) && ops[i].desired != nil {
			ix.creates = append(ix.creates, i)
		}
	}
	if len(ix.creates) == 0 {
		return nil
	}
	ix.state = make([]adoptState, len(ix.creates))
	for r, rule := range rules {
		switch rule {
		case MatchExternalID:
			ix.ranks[keyExternalID] = uint8(r + 1)
		case MatchUsername:
			ix.ranks[keyUsername] = uint8(r + 1)
		case MatchEmail:
			ix.ranks[keyEmail] = uint8(r + 1)
		}
	}
	if ix.ranks[keyUsername] == 0 {
		// A username taken by a user no rule adopts is a conflict that
		// names it, whatever the rules.
		ix.ranks[keyUsername] = uint8(len(rules) + 1)
	}
	for k := range ix.keys {
		if ix.ranks[k] != 0 {
			ix.keys[k] = ix.build(k)
		}
	}
	return ix
}

// key returns create c's key of kind k ("" when it has none).
func (ix *createIndex) key(c int, k int) string {
	m := ix.ops[ix.creates[c]].desired.matchKey()
	switch k {
	case keyExternalID:
		return m.externalID
	case keyUsername:
		return strings.ToLower(m.username)
	default:
		return strings.ToLower(m.email)
	}
}

// keyIndex holds the creates (positions in createIndex.creates) sorted by
// the hash of one key.
type keyIndex struct {
	h []uint64
	c []int32
}

func (x *keyIndex) Len() int           { return len(x.h) }
func (x *keyIndex) Less(i, j int) bool { return x.h[i] < x.h[j] }
func (x *keyIndex) Swap(i, j int) {
	x.h[i], x.h[j] = x.h[j], x.h[i]
	x.c[i], x.c[j] = x.c[j], x.c[i]
}

func (ix *createIndex) build(k int) *keyIndex {
	x := &keyIndex{}
	for c := range ix.creates {
		if v := ix.key(c, k); v != "" {
			x.h = append(x.h, maphash.String(ix.seed, v))
			x.c = append(x.c, int32(c))
		}
	}
	sort.Sort(x)
	return x
}

// each calls fn for every create whose key of kind k is v.
func (ix *createIndex) each(k int, v string, fn func(c int) error) error {
	x := ix.keys[k]
	if x == nil || v == "" {
		return nil
	}
	h := maphash.String(ix.seed, v)
	for i := sort.Search(len(x.h), func(i int) bool { return x.h[i] >= h }); i < len(x.h) && x.h[i] == h; i++ {
		if c := int(x.c[i]); ix.key(c, k) == v {
			if err := fn(c); err != nil {
				return err
			}
		}
	}
	return nil
}

// offer matches PingOne user u against the creates and folds it into each
// create it matches better than what it met so far.
func (ix *createIndex) offer(job *Job, u *pingone.User, popIDs map[string]string) error {
	vals := [3]string{u.Attributes["externalId"], strings.ToLower(u.Attributes["username"]), strings.ToLower(u.Attributes["email"])}
	for k := range ix.keys {
		err := ix.each(k, vals[k], func(c int) error { return ix.fold(job, c, ix.ranks[k], u, popIDs) })
		if err != nil {
			return err
		}
	}
	return nil
}

// fold records that u matches create c at rank (+1). It is match and
// adoptOp, one user at a time: the first user of the best rule decides,
// a second one under that rule makes the match ambiguous.
func (ix *createIndex) fold(job *Job, c int, rank uint8, u *pingone.User, popIDs map[string]string) error {
	s := &ix.state[c]
	switch {
	case s.rank != 0 && rank > s.rank:
		return nil
	case rank == s.rank:
		s.n++
		return nil
	}
	*s = adoptState{rank: rank, n: 1}
	op := &ix.ops[ix.creates[c]]
	d := op.desired
	// Start again from the create diff planned.
	*op = Op{desired: d, Actions: Actions(ActCreate), Why: "new in the source", ToPopulation: popIDs[d.population()]}
	if int(rank) > len(ix.rules) {
		conflict(op, fmt.Sprintf("username %q is taken by PingOne user %s that syncd does not manage and no match rule allows adopting (add %q to match to adopt it)",
			d.username(), u.ID, MatchUsername))
		return nil
	}
	rule := ix.rules[rank-1]
	ext := d.matchKey().externalID
	if other := u.Attributes["externalId"]; other != "" && other != ext {
		conflict(op, fmt.Sprintf("PingOne user %s matched by %s carries externalId %q of another record", u.ID, rule, other))
		return nil
	}
	// Only a user inside the job's populations may be adopted; one
	// another job manages is rejected later (checkOwners).
	why, err := job.reach.outside(*u, rule)
	if err != nil {
		return err
	}
	if why != "" {
		op.Why, s.outside = why, true
		return nil
	}
	*op = adoptOp(op, *u, rule)
	return nil
}
