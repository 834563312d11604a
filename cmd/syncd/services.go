package main

import "sync"

// services holds the service `syncd run` gives new runs, and keeps each
// service a SIGHUP replaced alive until the last run using it has finished:
// its state store, and the job locks taken through that store, belong to
// those runs. Closing the store under a run would lose its checkpoints and
// leave its run record "running" — and, on PostgreSQL, release its advisory
// lock mid-run so that another replica could start the same job.
type services struct {
	mu   sync.Mutex
	cur  *service
	refs map[*service]int
}

func newServices(s *service) *services {
	return &services{cur: s, refs: map[*service]int{}}
}

// acquire returns the current service for one run (or one readiness check);
// the caller must release it.
func (h *services) acquire() *service {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.refs[h.cur]++
	return h.cur
}

// release ends one use of s; a replaced service is closed by its last user.
func (h *services) release(s *service) {
	h.mu.Lock()
	h.refs[s]--
	last := h.refs[s] == 0
	if last {
		delete(h.refs, s)
	}
	retire := last && s != h.cur
	h.mu.Unlock()
	if retire {
		s.close()
	}
}

// swap makes next the service of new runs. The old one is closed now if
// nothing uses it, else by the last run that does.
func (h *services) swap(next *service) {
	h.mu.Lock()
	old := h.cur
	h.cur = next
	idle := h.refs[old] == 0
	h.mu.Unlock()
	if idle {
		old.close()
	}
}

// close closes the current service, at exit. A service still in use (a run
// abandoned at the shutdown timeout) is left to the process's exit.
func (h *services) close() {
	h.mu.Lock()
	s := h.cur
	idle := h.refs[s] == 0
	h.cur = nil
	h.mu.Unlock()
	if idle && s != nil {
		s.close()
	}
}
