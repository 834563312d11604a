package reconcile

import (
	"context"
	"time"
)

// A stop comes in two steps. A cancelled run context is a graceful stop:
// no further operation is started, and those in flight finish, through
// their retries, and are checkpointed. When that takes too long (PingOne
// stalls, and each request waits for its timeout and its retries), the
// daemon closes Options.Abort at daemon.shutdown_timeout: the requests in
// flight and their backoff waits are cancelled at once, and what finished
// is checkpointed on a context that outlives the abort by checkpointGrace.
// An operation cut short is recorded as failed: a create among them may
// have reached PingOne, and the next run looks it up by externalId before
// creating it again (pending.go).

// checkpointGrace bounds the state writes of a run once Options.Abort has
// closed: the last batch's checkpoints and journal entries.
const checkpointGrace = 10 * time.Second

// stopContexts returns the contexts an apply phase works under, both
// immune to a graceful stop (ctx cancelled): calls, for PingOne requests,
// ends when abort closes; saves, for checkpoints, checkpointGrace later.
// cancel releases them.
func stopContexts(ctx context.Context, abort <-chan struct{}) (calls, saves context.Context, cancel func()) {
	calls, cancelCalls := context.WithCancel(context.WithoutCancel(ctx))
	saves, cancelSaves := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	if abort != nil {
		go func() {
			select {
			case <-done:
				return
			case <-abort:
			}
			cancelCalls()
			t := time.NewTimer(checkpointGrace)
			defer t.Stop()
			select {
			case <-done:
			case <-t.C:
				cancelSaves()
			}
		}()
	}
	return calls, saves, func() {
		close(done)
		cancelCalls()
		cancelSaves()
	}
}
