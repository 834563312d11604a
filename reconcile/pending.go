package reconcile

import (
	"context"
	"fmt"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/syncd/syncd/sink/pingone"
	"github.com/syncd/syncd/state"
)

// No duplicate, ever (DESIGN invariant 6). A create's intent is committed
// to state, as a pending checkpoint, before its request is sent, one
// transaction per batch of creates. Whatever stops syncd between the POST
// and the checkpoint of its outcome (SIGKILL, a lost state database
// connection, a stop that abandons requests in flight), and whatever the
// outcome of a create whose retries ran out, the anchor's checkpoint then
// says that a user may exist in PingOne. Before creating such an anchor
// again, or disabling it once it left the source, the run looks the user
// up by externalId (one GET with a filter) and adopts it: a username
// changed in the source in between cannot lead to a second user. A fresh
// anchor has no checkpoint, so its create stays one call.

// mayExist reports whether an earlier create of cp's anchor may have
// reached PingOne without syncd recording the user's id: the create is
// pending (its outcome was never recorded) or failed (a timeout or 5xx
// whose retries ran out may still have created it).
func mayExist(cp *state.Checkpoint) bool {
	return cp != nil && cp.UserID == "" && (cp.Status == state.StatusPending || cp.Status == state.StatusFailed)
}

// intent is the checkpoint recorded before op's create is sent: what is
// about to be created, with no user id yet.
func intent(op *Op, now time.Time) state.Checkpoint {
	var cp state.Checkpoint
	if op.cp != nil {
		cp = *op.cp
	} else {
		cp = state.Checkpoint{Anchor: op.Anchor(), FirstSeen: now}
	}
	cp.UserID, cp.Username, cp.PopulationID, cp.Enabled = "", op.Username(), op.ToPopulation, op.desired.enabled
	cp.Hash, cp.Attributes = "", encodeAttrs(op.desired.attributes())
	cp.LastSeen, cp.Status = now, state.StatusPending
	cp.LastError = "create sent, outcome not recorded (syncd stopped before its checkpoint): the next run looks the user up by externalId"
	return cp
}

// recordIntents commits the intents of the creates among the next
// operations of todo, up to batch of them, in one transaction, and returns
// how many entries of todo that covers. Nothing of them may be sent before
// it returns nil.
func (e *Engine) recordIntents(ctx context.Context, job *Job, ops []Op, todo []int, batch int) (int, error) {
	now := e.now()
	var cps []state.Checkpoint
	n := 0
	for n < len(todo) && len(cps) < batch {
		if op := &ops[todo[n]]; op.Has(ActCreate) {
			cps = append(cps, intent(op, now))
		}
		n++
	}
	if err := e.Store.SaveCheckpoints(ctx, job.Name, cps); err != nil {
		return 0, fmt.Errorf("record the intent of %d creates before sending them (none was sent): %w", len(cps), err)
	}
	return n, nil
}

// externalIDOf is the externalId an earlier create of cp's anchor sent:
// the one its intent recorded, else the anchor (the default mapping).
func externalIDOf(cp *state.Checkpoint) string {
	if v := decodeAttrs(cp.Attributes)["externalId"]; v != "" {
		return v
	}
	return cp.Anchor
}

// findCreated looks up the user carrying externalId ext: one GET with a
// filter. It returns nil when there is none.
func (e *Engine) findCreated(ctx context.Context, ext string) (*pingone.User, error) {
	var found []pingone.User
	err := e.Target.FindUsers(ctx, pingone.Eq("externalId", ext), func(u pingone.User) error {
		// PingOne's eq may ignore case; the anchor does not.
		if u.Attributes["externalId"] == ext {
			found = append(found, u)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("look up externalId %q: %w", ext, err)
	}
	switch len(found) {
	case 0:
		return nil, nil
	case 1:
		return &found[0], nil
	}
	ids := make([]string, len(found))
	for i, u := range found {
		ids[i] = u.ID
	}
	return nil, fmt.Errorf("look up externalId %q: %d PingOne users carry it (%s): keep one, delete the others", ext, len(found), strings.Join(ids, ", "))
}

// adoptCreated turns op's create into the adoption of u, the user an
// earlier create of the same anchor made.
func adoptCreated(op *Op, u pingone.User) {
	*op = adoptOp(op, u, MatchExternalID)
	op.Why = "found by externalId: an earlier create reached PingOne"
}

// disableCreated handles an anchor that left the source while an earlier
// create of it may have reached PingOne: the user, if PingOne holds one,
// is disabled and from then on managed as any other; if not, the
// checkpoint is settled as never created.
func (e *Engine) disableCreated(ctx context.Context, job *Job, op *Op, cp state.Checkpoint, log *zap.Logger) (state.Checkpoint, error) {
	u, err := e.findCreated(ctx, externalIDOf(&cp))
	if err != nil {
		return cp, err
	}
	now := e.now()
	cp.LastError, cp.Failures, cp.LastSynced, cp.Hash = "", 0, now, ""
	if u != nil {
		// A user another job manages is not this anchor's earlier create.
		why, err := e.claim(ctx, job, op, *u, "")
		if err != nil {
			return cp, err
		}
		if why != "" {
			op.Actions, op.Why = Actions(ActNoop), "never created by this job: "+why
			cp.Status, cp.Enabled = state.StatusDisabled, false
			return cp, nil
		}
	}
	if u == nil {
		op.Actions, op.Why = Actions(ActNoop), "never created in PingOne (looked up by externalId)"
		cp.Status, cp.Enabled = state.StatusDisabled, false
		return cp, nil
	}
	managed := map[string]string{}
	for _, k := range job.Mapper.ManagedAttributes() {
		if v := u.Attributes[k]; v != "" {
			managed[k] = v
		}
	}
	cp.UserID, cp.PopulationID, cp.Username = u.ID, u.PopulationID, u.Attributes["username"]
	cp.Attributes, cp.Enabled = encodeAttrs(managed), u.Enabled
	op.setUserID(u.ID)
	if u.Enabled {
		if err := e.Target.SetEnabled(ctx, u.ID, false); err != nil {
			return cp, fmt.Errorf("set enabled=false user anchor=%s id=%s: %w", op.Anchor(), u.ID, err)
		}
		log.Info("user disabled", zap.String("anchor", op.Anchor()), zap.String("user_id", u.ID))
	} else {
		op.Actions, op.Why = Actions(ActNoop), "already disabled (found by externalId)"
	}
	cp.Enabled, cp.Status = false, state.StatusDisabled
	return cp, nil
}
