package reconcile

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"go.uber.org/zap"

	"github.com/syncd/syncd/mapper"
	"github.com/syncd/syncd/sink/pingone"
	"github.com/syncd/syncd/sink/pingone/budget"
	"github.com/syncd/syncd/state"
)

// candidates indexes PingOne users that syncd may adopt, by match rule.
type candidates struct {
	byExternalID map[string][]pingone.User
	byUsername   map[string][]pingone.User // lower-cased
	byEmail      map[string][]pingone.User // lower-cased
}

func (c *candidates) add(u pingone.User) {
	if v := u.Attributes["externalId"]; v != "" {
		c.byExternalID[v] = append(c.byExternalID[v], u)
	}
	if v := u.Attributes["username"]; v != "" {
		c.byUsername[strings.ToLower(v)] = append(c.byUsername[strings.ToLower(v)], u)
	}
	if v := u.Attributes["email"]; v != "" {
		c.byEmail[strings.ToLower(v)] = append(c.byEmail[strings.ToLower(v)], u)
	}
}

// match applies the job's match rules in order to find the one existing user
// a desired user may be linked to. It returns a conflict reason when a user
// holds the username but no rule allows linking it, or when a rule is
// ambiguous. managed maps PingOne user ids to the anchors the job already
// manages them under: those are never adopted for another anchor.
func match(rules []string, d matchKey, c *candidates, managed map[string]string) (*pingone.User, string, string) {
	ext := d.externalID
	for _, rule := range rules {
		var found []pingone.User
		switch rule {
		case MatchExternalID:
			found = c.byExternalID[ext]
		case MatchUsername:
			found = c.byUsername[strings.ToLower(d.username)]
		case MatchEmail:
			if d.email != "" {
				found = c.byEmail[strings.ToLower(d.email)]
			}
		}
		if len(found) == 0 {
			continue
		}
		if len(found) > 1 {
			return nil, "", fmt.Sprintf("match rule %s is ambiguous: %d PingOne users match", rule, len(found))
		}
		u := found[0]
		if other, ok := managed[u.ID]; ok && other != d.anchor {
			return nil, "", fmt.Sprintf("PingOne user %s matched by %s is managed for anchor %s", u.ID, rule, other)
		}
		if other := u.Attributes["externalId"]; other != "" && other != ext {
			return nil, "", fmt.Sprintf("PingOne user %s matched by %s carries externalId %q of another record", u.ID, rule, other)
		}
		return &u, rule, ""
	}
	if us := c.byUsername[strings.ToLower(d.username)]; len(us) > 0 {
		return nil, "", fmt.Sprintf("username %q is taken by PingOne user %s that syncd does not manage and no match rule allows adopting (add %q to match to adopt it)",
			d.username, us[0].ID, MatchUsername)
	}
	return nil, "", ""
}

// adoptOp plans taking over u: only the attributes that differ from what the
// user holds now are sent, plus the population and enabled flag if needed.
func adoptOp(op *Op, u pingone.User, rule string) Op {
	want := op.desired.attributes()
	current := make(map[string]string, len(want))
	for k := range want {
		current[k] = u.Attributes[k]
	}
	return adoptAs(op, u.ID, u.PopulationID, u.Enabled, rule, attrChanges(current, want))
}

// adoptAs plans taking over the user id, in population pop and enabled or
// not, with these attribute changes.
func adoptAs(op *Op, id, pop string, enabled bool, rule string, changes []Change) Op {
	d := op.desired
	n := Op{desired: d, cp: op.cp, Actions: Actions(ActAdopt), Why: adoptedWhy(rule)}
	n.setUserID(id)
	n.setChanges(changes)
	if op.ToPopulation != "" && op.ToPopulation != pop {
		n.ToPopulation = op.ToPopulation
		n.setFrom(pop)
		n.Actions = n.Actions.With(ActMove)
	} else {
		n.ToPopulation = pop
	}
	if d.enabled != enabled {
		if d.enabled {
			n.Actions = n.Actions.With(ActEnable)
		} else {
			n.Actions = n.Actions.With(ActDisable)
		}
	}
	return n
}

// adoptedWhy is an adoption's reason: one string per rule, shared by the
// million ops of a lost database's first run.
func adoptedWhy(rule string) string {
	switch rule {
	case MatchExternalID:
		return "pre-existing PingOne user matched by " + MatchExternalID
	case MatchUsername:
		return "pre-existing PingOne user matched by " + MatchUsername
	case MatchEmail:
		return "pre-existing PingOne user matched by " + MatchEmail
	}
	return "pre-existing PingOne user matched by " + rule
}

// apply executes the plan's writes and checkpoints their results in
// batches of job.BatchSize, one state transaction each (DESIGN invariant 6).
//
// Workers take operations one after the other whatever batch they belong
// to, so the request budget stays in use across batch boundaries: no batch
// waits for its slowest request, nor for the previous batch's commit. A
// crash loses at most the batch being collected and the operations in
// flight; the next run finds their users by externalId.
//
// A cancelled ctx stops handing out operations: those in flight finish and
// everything applied is checkpointed before apply returns (graceful stop).
func (e *Engine) apply(ctx context.Context, job *Job, ops []Op, rep *Report, opts Options, guard *firstDisable, log *zap.Logger) error {
	e = e.journaling() // every write below is journaled (journal.go)
	var todo []int
	for i := range ops {
		if ops[i].writes() {
			todo = append(todo, i)
		}
	}
	// Conflicts found while planning are recorded even though they cost no
	// call, so that the next run knows them.
	var pending []state.Checkpoint
	for i := range ops {
		if cp := ops[i].cp; cp != nil && cp.Status == state.StatusConflict && cp.UserID == "" && ops[i].desired != nil && cp.Hash == "" {
			c := *cp
			c.Hash, c.Username, c.FirstSeen, c.LastSeen = ops[i].desired.hashString(), ops[i].Username(), rep.StartedAt, rep.StartedAt
			pending = append(pending, c)
		}
	}
	// A user found unchanged field by field but whose checkpoint has no
	// (or an old) hash — after `state rebuild`, or a population renamed in
	// the config — gets its hash recorded, so the next run takes the fast
	// path. It costs no API call.
	for i := range ops {
		op := &ops[i]
		if cp, d := op.cp, op.desired; op.Has(ActNoop) && cp != nil && d != nil && cp.UserID != "" &&
			!d.hashIs(cp.Hash) && cp.Status != state.StatusConflict {
			c := *cp
			c.Hash, c.Attributes, c.Username = d.hashString(), encodeAttrs(d.attributes()), d.username()
			if c.Status == state.StatusFailed {
				c.Status, c.LastError, c.Failures = state.StatusActive, "", 0
				if !c.Enabled {
					c.Status = state.StatusDisabled
				}
			}
			pending = append(pending, c)
		}
	}
	if len(pending) > 0 {
		if err := e.Store.SaveCheckpoints(context.WithoutCancel(ctx), job.Name, pending); err != nil {
			return fmt.Errorf("checkpoint conflicts: %w", err)
		}
	}

	total := len(todo)
	if total == 0 {
		return nil
	}
	orderByClass(ops, todo) // disables first (priority.go)
	nb := (total + job.BatchSize - 1) / job.BatchSize
	// Operations in flight finish after a stop, unless it is cut short
	// (Options.Abort, stop.go); checkpoints outlive the abort briefly.
	bctx, sctx, stopCtxs := stopContexts(ctx, job.abort)
	defer stopCtxs()
	feed := make(chan int)
	type result struct {
		k       int
		cp      state.Checkpoint
		failure string
		cut     bool // cancelled in flight by Options.Abort
		entries []state.JournalEntry
	}
	results := make(chan result, job.BatchSize)
	stop := make(chan struct{})
	stopFeeding := sync.OnceFunc(func() { close(stop) })
	defer stopFeeding()

	var (
		fatalOnce sync.Once
		fatalErr  error // read after the workers are done
	)
	var wg sync.WaitGroup
	for w := 0; w < min(job.Workers, total); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range feed {
				if guard.allow(bctx, &ops[k]) != nil {
					stopFeeding() // not sent: counted as not applied
					continue
				}
				j := &opJournal{op: &ops[k]}
				cp, failure, cut := e.execute(budget.WithClass(withOpJournal(bctx, j), ops[k].class()), job, &ops[k], log), "", false
				stampDisabled(&cp, e.now()) // deletes.go
				if j.fatal != nil {
					fatalOnce.Do(func() { fatalErr = j.fatal })
					stopFeeding() // every further call would fail the same way
				}
				switch {
				case ops[k].failed() && bctx.Err() != nil:
					// Its outcome is unknown: a create among these is
					// looked up by externalId next run (pending.go).
					cut = true
					cp.LastError = shorten("cancelled in flight at the shutdown deadline, outcome unknown: "+cp.LastError, 1000)
					failure = cp.LastError
				case ops[k].failed():
					failure = cp.LastError
				case ops[k].result == planned:
					ops[k].result = applied
				}
				results <- result{k, cp, failure, cut, j.entries}
			}
		}()
	}
	var intentErr error // set by the feeder before it closes feed
	go func() {
		defer close(feed)
		recorded := 0 // todo[:recorded] have their creates' intents committed
		for i, k := range todo {
			if i >= recorded && ops[k].Has(ActCreate) {
				if ctx.Err() != nil {
					return
				}
				n, err := e.recordIntents(sctx, job, ops, todo[i:], job.BatchSize)
				if err != nil {
					intentErr = err
					return
				}
				recorded = i + n
			}
			select {
			case <-stop:
				return
			case <-ctx.Done():
				return
			case feed <- k:
			}
		}
	}()
	go func() { wg.Wait(); close(results) }()

	var (
		batch           []state.Checkpoint
		batchOps        []result
		entries         []state.JournalEntry
		done, failed, b int
		cut             int
		saveErr, limErr error
	)
	flush := func() {
		if len(batch) == 0 {
			return
		}
		b++
		if err := e.saveBatch(sctx, job.Name, rep.RunID, batch, entries); err != nil {
			saveErr = fmt.Errorf("checkpoint batch %d/%d: %w (its PingOne changes will be found by externalId next run)", b, nb, err)
			stopFeeding()
			return
		}
		for _, r := range batchOps {
			if r.failure != "" {
				failed++
				op := &ops[r.k]
				rep.Failures = append(rep.Failures, Failure{Anchor: op.Anchor(), Username: op.Username(), Actions: op.Actions.List(), Error: r.failure})
			}
			if r.cut {
				cut++
			}
		}
		done += len(batch)
		batch, batchOps, entries = batch[:0], batchOps[:0], entries[:0]
		report(opts, Progress{Phase: "apply", Records: rep.Counts.Records, Done: done, Total: total})
		log.Debug("batch checkpointed", zap.Int("batch", b), zap.Int("batches", nb), zap.Int("done", done))
		if limErr == nil && bctx.Err() == nil && job.Safety.failuresExceeded(failed, total) {
			limErr = fmt.Errorf("apply batch %d/%d: %d of %d operations failed, above safety.max_failures=%s; stopping (first: %s)",
				b, nb, failed, total, job.Safety.MaxFailures, rep.Failures[0].Error)
			stopFeeding() // what is in flight still gets checkpointed
		}
	}
	for r := range results {
		if saveErr != nil {
			continue // state is gone: drain the workers, record nothing more
		}
		batch, batchOps, entries = append(batch, r.cp), append(batchOps, result{k: r.k, failure: r.failure, cut: r.cut}), append(entries, r.entries...)
		if len(batch) == job.BatchSize {
			flush()
		}
	}
	if saveErr == nil {
		flush()
	}
	rep.Counts.Failed = failed
	sort.Slice(rep.Failures, func(i, j int) bool { return rep.Failures[i].Anchor < rep.Failures[j].Anchor })
	switch {
	case saveErr != nil:
		return saveErr
	case intentErr != nil:
		return intentErr
	case bctx.Err() != nil && (done < total || cut > 0):
		return fmt.Errorf("stopped at the shutdown deadline after %d of %d operations, all of them checkpointed; %d cut short in flight (outcome unknown: a create among them is looked up by externalId next run): %w",
			done, total, cut, context.Canceled)
	case fatalErr != nil:
		return fmt.Errorf("stopped after %d of %d operations, all of them checkpointed: PingOne refused syncd's credentials: %w", done, total, fatalErr)
	case limErr != nil:
		return limErr
	case guard.failed() != nil:
		return fmt.Errorf("%d of %d operations applied and checkpointed: %w", done, total, guard.failed())
	case done < total && ctx.Err() != nil:
		return fmt.Errorf("stopped after %d of %d operations, all of them checkpointed: %w", done, total, ctx.Err())
	}
	return nil
}

// execute performs one op with the fewest calls that do it and returns the
// checkpoint that records the outcome. Failures are data: the op's failure
// field and the checkpoint's status say what happened.
func (e *Engine) execute(ctx context.Context, job *Job, op *Op, log *zap.Logger) state.Checkpoint {
	now := e.now()
	var cp state.Checkpoint
	if op.cp != nil {
		cp = *op.cp
	} else {
		cp = state.Checkpoint{Anchor: op.Anchor(), FirstSeen: now}
	}
	cp.LastSeen = now
	var d *mapper.Desired
	if op.desired != nil {
		d = op.desired.desired()
	}

	fail := func(err error, status state.Status) state.Checkpoint {
		op.result = failedOp
		cp.Status, cp.LastError = status, shorten(err.Error(), 1000)
		cp.Failures++
		if status == state.StatusFailed {
			cp.Hash = "" // diff field by field next run
		} else if d != nil {
			cp.Hash = d.Hash
		}
		log.Warn("operation failed", zap.String("anchor", op.Anchor()), zap.Stringer("actions", op.Actions), zap.Error(err))
		var authErr *pingone.AuthError
		if j, _ := ctx.Value(opJournalKey{}).(*opJournal); j != nil && errors.As(err, &authErr) {
			j.fatal = err
		}
		return cp
	}
	// A 404 on a user syncd manages: an admin deleted it in PingOne. That
	// is recorded, not retried forever (it would fail every run).
	gone := func(call string, err error) state.Checkpoint {
		op.result = goneOp
		op.Why = fmt.Sprintf("deleted in PingOne outside syncd (%s found 404): recorded as gone", call)
		cp.LastError = shorten(fmt.Sprintf("deleted in PingOne outside syncd: %s user id=%s: %v", call, cp.UserID, err), 1000)
		cp.UserID, cp.Status, cp.Hash, cp.Failures, cp.LastSynced = "", state.StatusGone, "", 0, e.now()
		log.Warn("user deleted in PingOne outside syncd", zap.String("anchor", op.Anchor()), zap.String("call", call), zap.Error(err))
		return cp
	}

	if op.Has(ActDelete) {
		c, err := e.deleteUser(ctx, op, cp, log) // deletes.go
		if err != nil {
			// Still a disabled user, as it was: the next complete read
			// finds it again and retries the delete.
			h := cp.Hash
			c = fail(err, state.StatusDisabled)
			c.Hash = h
		}
		return c
	}
	if op.Has(ActCreate) && (mayExist(op.cp) || conflicted(op.cp)) {
		u, err := e.findCreated(ctx, op.desired.matchKey().externalID)
		if err != nil {
			return fail(fmt.Errorf("create user anchor=%s: an earlier create may have reached PingOne: %w", op.Anchor(), err), state.StatusFailed)
		}
		if u != nil {
			rule := "" // the job's own earlier create
			if !mayExist(op.cp) {
				rule = MatchExternalID
			}
			why, err := e.claim(ctx, job, op, *u, rule)
			if err != nil {
				return fail(fmt.Errorf("create user anchor=%s: %w", op.Anchor(), err), state.StatusFailed)
			}
			if why != "" {
				op.Actions, op.Why = Actions(ActNoop), "conflict: "+why
				return fail(errors.New(why), state.StatusConflict)
			}
			log.Info("earlier create found by externalId", zap.String("anchor", op.Anchor()), zap.String("user_id", u.ID))
			adoptCreated(op, *u)
			return e.execute(ctx, job, op, log)
		}
	}
	if op.Has(ActCreate) {
		u, err := e.Target.CreateUser(ctx, op.ToPopulation, d.Attributes)
		if err != nil {
			if !pingone.IsUniquenessViolation(err) {
				return fail(fmt.Errorf("create user anchor=%s: %w", op.Anchor(), err), state.StatusFailed)
			}
			adopted, reason, lerr := e.resolveExisting(ctx, job, op)
			switch {
			case lerr != nil:
				return fail(fmt.Errorf("create user anchor=%s: %w; then look up the existing user: %w", op.Anchor(), err, lerr), state.StatusFailed)
			case reason != "":
				op.Actions, op.Why = Actions(ActNoop), "conflict: "+reason
				return fail(errors.New(reason), state.StatusConflict)
			}
			*op = adopted
			return e.execute(ctx, job, op, log)
		}
		log.Info("user created", zap.String("anchor", op.Anchor()), zap.String("user_id", u.ID))
		op.setUserID(u.ID)
		cp = e.synced(cp, u.ID, d, op.ToPopulation, true)
		if !d.Enabled {
			// create_disabled: PingOne creates users enabled; enabled is
			// set through its own endpoint. Should this fail, the next run
			// plans the disable (the checkpoint says enabled, no hash).
			if err := e.Target.SetEnabled(ctx, u.ID, false); err != nil {
				return fail(fmt.Errorf("create user anchor=%s disabled: set enabled=false id=%s: %w", op.Anchor(), u.ID, err), state.StatusFailed)
			}
			cp.Enabled, cp.Status = false, state.StatusDisabled
			log.Info("user disabled", zap.String("anchor", op.Anchor()), zap.String("user_id", u.ID))
		}
		return cp
	}

	id := op.UserID()
	if id == "" && op.desired == nil && op.Has(ActDisable) && mayExist(op.cp) {
		c, err := e.disableCreated(ctx, job, op, cp, log)
		if err != nil {
			return fail(err, state.StatusFailed)
		}
		return c
	}
	if op.Has(ActAdopt) || op.Has(ActUpdate) {
		set, clear := map[string]string{}, []string(nil)
		for _, c := range op.changes() {
			if c.New == "" {
				clear = append(clear, c.Attribute)
			} else {
				set[c.Attribute] = c.New
			}
		}
		if len(set)+len(clear) > 0 {
			if _, err := e.Target.UpdateUser(ctx, id, set, clear); err != nil {
				if pingone.IsNotFound(err) {
					return gone("update", err)
				}
				return fail(fmt.Errorf("update user anchor=%s id=%s: %w", op.Anchor(), id, err), state.StatusFailed)
			}
		}
		if op.Has(ActAdopt) {
			log.Info("user adopted", zap.String("anchor", op.Anchor()), zap.String("user_id", id))
			cp.UserID = id
			// Until the enable/disable step succeeds, the user is as it was.
			cp.Enabled = d.Enabled
			if op.Has(ActEnable) || op.Has(ActDisable) {
				cp.Enabled = !d.Enabled
			}
		}
		if d != nil {
			cp.Attributes, cp.Username = encodeAttrs(d.Attributes), d.Username()
		} else {
			// Drift repair of a user whose record this read did not carry
			// (a delta read, a rejected record): back to what was applied.
			cp.Attributes = encodeAttrs(applyChanges(decodeAttrs(cp.Attributes), op.changes()))
		}
		if op.Has(ActUpdate) {
			log.Info("user updated", zap.String("anchor", op.Anchor()), zap.String("user_id", id), zap.Int("attributes", len(op.changes())))
		}
	}
	if op.Has(ActMove) {
		if err := e.Target.SetPopulation(ctx, id, op.ToPopulation); err != nil {
			if pingone.IsNotFound(err) && !errors.Is(err, pingone.ErrPopulationNotFound) {
				return gone("move", err)
			}
			return fail(fmt.Errorf("move user anchor=%s id=%s to population %s: %w", op.Anchor(), id, op.ToPopulation, err), state.StatusFailed)
		}
		log.Info("user moved", zap.String("anchor", op.Anchor()), zap.String("user_id", id), zap.String("population_id", op.ToPopulation))
	}
	if op.ToPopulation != "" {
		cp.PopulationID = op.ToPopulation
	}
	if op.Has(ActEnable) || op.Has(ActDisable) {
		enabled := op.Has(ActEnable)
		if err := e.Target.SetEnabled(ctx, id, enabled); err != nil {
			if pingone.IsNotFound(err) {
				return gone(map[bool]string{true: "enable", false: "disable"}[enabled], err)
			}
			return fail(fmt.Errorf("set enabled=%t user anchor=%s id=%s: %w", enabled, op.Anchor(), id, err), state.StatusFailed)
		}
		cp.Enabled = enabled
		if enabled {
			log.Info("user enabled", zap.String("anchor", op.Anchor()), zap.String("user_id", id))
		} else {
			log.Info("user disabled", zap.String("anchor", op.Anchor()), zap.String("user_id", id))
		}
	}
	if d == nil {
		// A user whose record is gone (disabled now) or not in this read
		// (drift repair): keep what was applied, but not the hash.
		cp.Status = state.StatusActive
		if !cp.Enabled {
			cp.Status = state.StatusDisabled
		}
		cp.LastError, cp.Failures, cp.LastSynced, cp.Hash = "", 0, now, ""
		return cp
	}
	return e.synced(cp, id, d, cp.PopulationID, cp.Enabled)
}

func applyChanges(m map[string]string, cs []Change) map[string]string {
	for _, c := range cs {
		if c.New == "" {
			delete(m, c.Attribute)
		} else {
			m[c.Attribute] = c.New
		}
	}
	return m
}

// synced records a fully applied desired user.
func (e *Engine) synced(cp state.Checkpoint, id string, d *mapper.Desired, popID string, enabled bool) state.Checkpoint {
	cp.UserID, cp.Username, cp.PopulationID, cp.Enabled = id, d.Username(), popID, enabled
	cp.Hash, cp.Attributes = d.Hash, encodeAttrs(d.Attributes)
	cp.Status = state.StatusActive
	if !enabled {
		cp.Status = state.StatusDisabled
	}
	cp.LastError, cp.Failures, cp.LastSynced = "", 0, e.now()
	return cp
}

// resolveExisting is called when a create hit a uniqueness violation: a
// user with this username (or, after a lost response, this very user)
// exists. It looks it up by the job's match rules and returns the adoption
// op, or a conflict reason.
func (e *Engine) resolveExisting(ctx context.Context, job *Job, op *Op) (Op, string, error) {
	d := op.desired.matchKey()
	c := &candidates{byExternalID: map[string][]pingone.User{}, byUsername: map[string][]pingone.User{}, byEmail: map[string][]pingone.User{}}
	lookups := []pingone.Filter{pingone.Eq("externalId", d.externalID), pingone.Eq("username", d.username)}
	if d.email != "" {
		for _, r := range job.Match {
			if r == MatchEmail {
				lookups = append(lookups, pingone.Eq("email", d.email))
			}
		}
	}
	seen := map[string]bool{}
	for _, f := range lookups {
		err := e.Target.FindUsers(ctx, f, func(u pingone.User) error {
			if !seen[u.ID] {
				seen[u.ID] = true
				c.add(u)
			}
			return nil
		})
		if err != nil {
			return Op{}, "", err
		}
	}
	u, rule, conflict := match(job.Match, d, c, nil)
	if conflict != "" {
		return Op{}, conflict, nil
	}
	if u == nil {
		return Op{}, "PingOne reports the username as taken but no user matches it; retrying next run", nil
	}
	if why, err := e.claim(ctx, job, op, *u, rule); why != "" || err != nil {
		return Op{}, why, err
	}
	if job.adoptLeft != nil && job.adoptLeft.Add(-1) < 0 {
		// An error, not a conflict: the next run tries again.
		return Op{}, "", fmt.Errorf("PingOne user %s matched by %s not adopted: this run already adopts safety.max_adoptions=%d users (the next run goes on; --allow-mass-adoption adopts them all)",
			u.ID, rule, job.Safety.MaxAdoptions)
	}
	return adoptOp(op, *u, rule), "", nil
}
