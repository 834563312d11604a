package sources

import "context"

// Rechecker is implemented by Readers whose source can change after the
// read ends without the read noticing (a CSV file rewritten in place). A
// complete read decides which users are absent; Recheck, called by the
// engine just before the first disable it sends, returns an error when
// the source no longer holds what was read, and then nothing is disabled.
// It may be called after Close.
type Rechecker interface {
	Recheck(ctx context.Context) error
}
