package reconcile

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/syncd/syncd/sink/pingone"
	"github.com/syncd/syncd/state"
)

// planAdoptions turns planned creates into adoptions where a user already
// exists in PingOne and a match rule allows taking it over (DESIGN invariants
// 3 and 4). It looks at the environment's users only when the job has no
// checkpoints at all — a first run, or a lost state database — since that is
// when pre-existing users are expected; later runs discover a pre-existing
// user from the create's uniqueness violation instead, at no extra call.
//
// env is the environment's listing (envUsers), taken before the source was
// read when the run knew then that the job had no checkpoints; nil lists it
// now. A user created in PingOne after the listing is not in it: its
// record's create meets a uniqueness violation and finds it then
// (resolveExisting), as on any later run.
//
// The creates are indexed by the hashes of the keys the match rules compare
// (12 bytes a create per rule); each listed user is matched against them,
// and each create keeps only its best match (createIndex). The listing's
// summaries then decide what they can (ambiguity, a username taken, a user
// outside the job's populations, a user already holding every value the
// record wants: most adoptions of a lost database); every other match is
// decided on the user read again by id, one GET each.
func (e *Engine) planAdoptions(ctx context.Context, job *Job, ops []Op, checkpoints int, env *envUsers, rep *Report) error {
	if checkpoints > 0 {
		return nil
	}
	ix := newCreateIndex(job.Match, ops, nil)
	if ix == nil {
		return nil
	}
	if env == nil {
		var err error
		if env, err = e.listEnvironment(ctx, job); err != nil {
			return err
		}
	}
	ix.build(env)
	for j := 0; j < env.len(); j++ {
		ix.offer(j)
	}
	ix.keys = [3]*keyIndex{} // matched: what decide allocates may reuse them
	return ix.decide(ctx, job, rep, e.Target.GetUser, job.Workers)
}

// conflict makes op a no-op recorded as a conflict.
func conflict(op *Op, why string) {
	create := op.ToPopulation
	*op = Op{desired: op.desired, Actions: Actions(ActNoop), Why: "conflict: " + why, ToPopulation: create}
	op.cp = &state.Checkpoint{Anchor: op.Anchor(), Status: state.StatusConflict, LastError: why}
}

// createIndex finds the planned creates a listed PingOne user matches, by
// rule.
type createIndex struct {
	ops     []Op
	creates []int32      // indexes in ops of the creates
	state   []adoptState // by position in creates
	rules   []string     // the job's match rules, in order
	keys    [3]*keyIndex // externalId, username (lower-cased), email (lower-cased); nil: unused
	ranks   [3]uint8     // each key's rank + 1: its rule's position in rules, or len(rules) for "username taken"
	env     *envUsers
}

// adoptState is what a create has met so far: the rank (+1; 0: nothing) of
// the best rule that matched, how many users it matched, the first of them
// (a position in the listing), and whether that user sits outside the
// job's populations.
type adoptState struct {
	rank    uint8
	outside bool
	n       uint32
	user    uint32
}

const (
	keyExternalID = iota
	keyUsername
	keyEmail
)

// ruleKey is the key match rule rule compares.
func ruleKey(rule string) int {
	switch rule {
	case MatchExternalID:
		return keyExternalID
	case MatchUsername:
		return keyUsername
	}
	return keyEmail
}

// newCreateIndex indexes the creates of ops for the rules; nil when there
// is none. Its keys are hashed once build gives it the listing.
func newCreateIndex(rules []string, ops []Op, env *envUsers) *createIndex {
	ix := &createIndex{ops: ops, rules: rules}
	isCreate := func(op *Op) bool { return op.Has(ActCreate) && op.desired != nil }
	n := 0
	for i := range ops {
		if isCreate(&ops[i]) {
			n++
		}
	}
	ix.creates = make([]int32, 0, n) // sized once: no copy of a million left behind
	for i := range ops {
		if isCreate(&ops[i]) {
			ix.creates = append(ix.creates, int32(i))
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
	if env != nil {
		ix.build(env)
	}
	return ix
}

// build hashes the creates' keys as env hashes its users'.
func (ix *createIndex) build(env *envUsers) {
	ix.env = env
	for k := range ix.keys {
		if ix.ranks[k] != 0 {
			ix.keys[k] = ix.buildKey(k)
		}
	}
}

func (ix *createIndex) op(c int) *Op { return &ix.ops[ix.creates[c]] }

// key returns create c's key of kind k ("" when it has none).
func (ix *createIndex) key(c int, k int) string {
	m := ix.op(c).desired.matchKey()
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

func (ix *createIndex) buildKey(k int) *keyIndex {
	x := &keyIndex{h: make([]uint64, 0, len(ix.creates)), c: make([]int32, 0, len(ix.creates))}
	for c := range ix.creates {
		if v := ix.key(c, k); v != "" {
			x.h = append(x.h, ix.env.hashKey(v))
			x.c = append(x.c, int32(c))
		}
	}
	sort.Sort(x)
	return x
}

// offer matches listed user j against the creates, by the hashes of its
// keys, and records it in each create it matches better than what that
// create met so far.
func (ix *createIndex) offer(j int) {
	u := ix.env.at(j)
	for k, x := range ix.keys {
		if x == nil || !u.has(k) {
			continue
		}
		h := u.keys[k]
		for i := sort.Search(len(x.h), func(i int) bool { return x.h[i] >= h }); i < len(x.h) && x.h[i] == h; i++ {
			ix.fold(int(x.c[i]), ix.ranks[k], j)
		}
	}
}

// fold records that user j matches create c at rank (+1): the first user
// of the best rule decides, a second one under that rule makes the match
// ambiguous.
func (ix *createIndex) fold(c int, rank uint8, j int) {
	s := &ix.state[c]
	switch {
	case s.rank != 0 && rank > s.rank:
	case rank == s.rank:
		s.n++
	default:
		*s = adoptState{rank: rank, n: 1, user: uint32(j)}
	}
}

// getUser reads one PingOne user by id (Target.GetUser).
type getUser func(ctx context.Context, id string) (pingone.User, error)

// decide turns each create into what its best match makes of it: an
// adoption, a conflict, a reject (a user outside the job's populations),
// or still a create. What the summaries cannot decide is decided on the
// user read again by id, workers at a time.
//
// A summary compares hashes, not values, so two values may hash alike (one
// chance in 2^64 per pair, with a seed drawn for each run). Nothing is
// adopted on a hash alone: a user read by id is checked value by value
// (fetched), and one adopted without being read holds, by its digest, the
// record's very values for every managed attribute — externalId, username
// and email among them — so adopting the wrong user would take a 64-bit
// and a 128-bit collision at once. What the hashes decide alone writes
// nothing to any user: an ambiguity, a username taken or a user outside
// the populations is a conflict or a reject, which a collision could at
// worst report wrongly, retried when the record changes.
func (ix *createIndex) decide(ctx context.Context, job *Job, rep *Report, get getUser, workers int) error {
	env := ix.env
	var fetch []int32 // creates decided on their user read by id
	for c := range ix.creates {
		s := &ix.state[c]
		if s.rank == 0 {
			continue // no match: created
		}
		op := ix.op(c)
		d := op.desired
		j := int(s.user)
		if int(s.rank) > len(ix.rules) {
			conflict(op, fmt.Sprintf("username %q is taken by PingOne user %s that syncd does not manage and no match rule allows adopting (add %q to match to adopt it)",
				d.username(), env.id(j), MatchUsername))
			continue
		}
		if s.n > 1 {
			conflict(op, fmt.Sprintf("match rule %s is ambiguous: %d PingOne users match", ix.rules[s.rank-1], s.n))
			continue
		}
		rule := ix.rules[s.rank-1]
		u := env.at(j)
		ext := d.matchKey().externalID
		if u.has(keyExternalID) && (ext == "" || u.keys[keyExternalID] != env.hashKey(ext)) {
			fetch = append(fetch, int32(c)) // another record's externalId: the conflict names it
			continue
		}
		// Only a user inside the job's populations may be adopted; one
		// another job manages is rejected later (checkOwners).
		id, pop := env.id(j), env.population(j)
		why, err := job.reach.outside(pingone.User{ID: id, PopulationID: pop}, rule)
		if err != nil {
			return err
		}
		if why != "" {
			op.Why, s.outside = why, true
			continue
		}
		if values, ok := env.recordValues(d); !ok || values != u.values {
			fetch = append(fetch, int32(c)) // the update needs the values the user holds
			continue
		}
		*op = adoptAs(op, id, pop, u.flags&euEnabled != 0, rule, nil)
	}
	if err := ix.fetch(ctx, job, fetch, get, workers); err != nil {
		return err
	}
	// A user outside the job's populations is a reject. Recorded as a
	// conflict, so that later runs, which list no users, know it:
	// unchanged, it stays as it is; changed, its create looks the
	// externalId up first (execute).
	for c := range ix.creates {
		if ix.state[c].outside {
			op := ix.op(c)
			why := op.Why
			reject(rep, op, "population", why)
			op.cp = &state.Checkpoint{Anchor: op.Anchor(), Status: state.StatusConflict, LastError: why}
		}
	}
	return nil
}

// fetch reads the matched user of each create in cs by id, workers at a
// time, and decides the create on it (fetched).
func (ix *createIndex) fetch(ctx context.Context, job *Job, cs []int32, get getUser, workers int) error {
	if len(cs) == 0 {
		return nil
	}
	type got struct {
		c    int
		u    pingone.User
		gone bool
		err  error
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ids := make([]string, len(cs))
	for i, c := range cs {
		ids[i] = ix.env.id(int(ix.state[c].user))
	}
	feed, out := make(chan int), make(chan got)
	var wg sync.WaitGroup
	for range max(1, min(workers, len(cs))) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range feed {
				u, err := get(ctx, ids[i])
				g := got{c: int(cs[i]), u: u}
				switch {
				case pingone.IsNotFound(err):
					g.gone = true
				case err != nil:
					g.err = fmt.Errorf("read PingOne user %s matched for anchor=%s: %w", ids[i], ix.op(int(cs[i])).Anchor(), err)
				}
				select {
				case out <- g:
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	go func() {
		defer close(feed)
		for i := range cs {
			select {
			case feed <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	go func() { wg.Wait(); close(out) }()
	var first error
	for g := range out {
		if first != nil {
			continue
		}
		switch {
		case g.err != nil:
			first = g.err
			cancel()
		case g.gone:
			// Deleted since the listing: the record is created.
		default:
			if err := ix.fetched(job, g.c, &g.u); err != nil {
				first = err
				cancel()
			}
		}
	}
	return first
}

// fetched decides create c on u, its best match read again by id. u must
// still match under the rule that found it — value by value now — or the
// create stays a create: the user changed since the listing (or two values
// hashed alike), and should it still hold the username, the create's
// uniqueness violation finds it (resolveExisting).
func (ix *createIndex) fetched(job *Job, c int, u *pingone.User) error {
	s := &ix.state[c]
	op := ix.op(c)
	rule := ix.rules[s.rank-1]
	k := ruleKey(rule)
	have := [3]string{u.Attributes["externalId"], strings.ToLower(u.Attributes["username"]), strings.ToLower(u.Attributes["email"])}[k]
	if want := ix.key(c, k); want == "" || have != want {
		return nil
	}
	m := op.desired.matchKey()
	if other := u.Attributes["externalId"]; other != "" && other != m.externalID {
		conflict(op, fmt.Sprintf("PingOne user %s matched by %s carries externalId %q of another record", u.ID, rule, other))
		return nil
	}
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
