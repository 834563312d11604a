package budget

// Waiting returns how many requests wait in l.
func Waiting(l *Limiter) int { l.mu.Lock(); defer l.mu.Unlock(); return l.nwait }

// Fetching reports whether l's fetch loop runs.
func Fetching(l *Limiter) bool { l.mu.Lock(); defer l.mu.Unlock(); return l.fetching }

// SlotWaiters returns how many Acquires wait in s.
func SlotWaiters(s *Slots) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, q := range s.queues {
		n += len(q)
	}
	return n
}
