package sources

import (
	"context"
	"time"
)

// Notify is what a watching source tells its caller (`syncd run` with
// jobs[].watch). A source never says what changed: the caller runs an
// ordinary delta run from the job's cursor, which finds out, so a change
// is applied by exactly the code path a scheduled run takes.
type Notify interface {
	// Changed says the source changed, or may have, at received (when the
	// change reached syncd: the start of its lag).
	Changed(received time.Time)
	// Connected says whether the watch is connected (listening or
	// polling successfully); err says why not.
	Connected(up bool, err error)
}

// CursorFunc returns the job's current source cursor (nil when there is
// none): a watch resumes from it after a reconnect or a restart.
type CursorFunc func(ctx context.Context) ([]byte, error)
