package budget

import (
	"context"
	"sync"
)

// Slots caps the requests in flight, handing a freed slot to the waiting
// request of the highest class (so a disable does not queue for a slot
// behind bulk work either).
type Slots struct {
	mu     sync.Mutex
	free   int
	queues [NumClasses][]chan struct{}
}

// NewSlots returns n free slots.
func NewSlots(n int) *Slots { return &Slots{free: max(1, n)} }

// Acquire takes a slot, waiting in class order; Release gives it back.
func (s *Slots) Acquire(ctx context.Context, class Class) error {
	if int(class) >= NumClasses {
		class = ClassUpdate
	}
	s.mu.Lock()
	if s.free > 0 {
		s.free--
		s.mu.Unlock()
		return nil
	}
	ch := make(chan struct{})
	s.queues[class] = append(s.queues[class], ch)
	s.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		q := s.queues[class]
		for i, x := range q {
			if x == ch {
				s.queues[class] = append(q[:i:i], q[i+1:]...)
				s.mu.Unlock()
				return ctx.Err()
			}
		}
		s.mu.Unlock()
		s.Release() // handed over meanwhile: pass it on
		return ctx.Err()
	}
}

// Release frees a slot taken with Acquire.
func (s *Slots) Release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.queues {
		if q := s.queues[c]; len(q) > 0 {
			ch := q[0]
			s.queues[c] = q[1:]
			close(ch)
			return
		}
	}
	s.free++
}
