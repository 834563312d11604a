package reconcile

// SetDriftHold sets how many drifted users verify keeps whole from its
// listings (negative: none; each is read again by id).
func SetDriftHold(e *Engine, n int) { e.driftHold = n }
