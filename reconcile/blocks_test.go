package reconcile

import (
	"testing"

	"github.com/syncd/syncd/state"
)

// Filtering keeps the values in order and lets go of the blocks it
// empties: the run drops most of a million summaries that way (dropSeen)
// and counts on the GC to take their memory back.
func TestBlocksFilterReleasesEmptiedBlocks(t *testing.T) {
	t.Parallel()
	var b blocks[int]
	n := 3*blockSize + 5
	for i := 0; i < n; i++ {
		b.add(i)
	}
	b.filter(func(v *int) bool { return *v%blockSize == 7 || *v == n-1 })
	want := []int{7, blockSize + 7, 2*blockSize + 7, n - 1}
	if b.len() != len(want) {
		t.Fatalf("len = %d, want %d", b.len(), len(want))
	}
	for i, w := range want {
		if got := *b.at(i); got != w {
			t.Errorf("at(%d) = %d, want %d", i, got, w)
		}
	}
	for i, blk := range b.b[len(b.b):cap(b.b)] {
		if blk != nil {
			t.Errorf("block %d emptied by filter is still referenced (%d values)", len(b.b)+i, cap(blk))
		}
	}
	b.filter(func(*int) bool { return false })
	if b.len() != 0 || len(b.b) != 0 {
		t.Fatalf("after dropping all: len = %d, %d blocks", b.len(), len(b.b))
	}
	for i, blk := range b.b[:cap(b.b)] {
		if blk != nil {
			t.Errorf("block %d is still referenced after every value was dropped", i)
		}
	}
	b.add(42)
	if b.len() != 1 || *b.at(0) != 42 {
		t.Errorf("add after filter: len %d, at(0) %d", b.len(), *b.at(0))
	}
}

// Once the listings are done, verify holds only the managed users they did
// not find: those are still found by id (to read them again, or in a later
// listing), the others are not, as a user the job does not manage.
func TestManagedUsersDropSeenKeepsOnlyTheUnseen(t *testing.T) {
	t.Parallel()
	m := newManagedUsers()
	ids := []string{"u3", "u1", "u4", "u2"}
	for _, id := range ids {
		m.add(&state.Checkpoint{Anchor: "a-" + id, UserID: id, PopulationID: "p", Enabled: true, Attributes: []byte(`{"title":"T"}`)}, "a-"+id)
	}
	m.add(&state.Checkpoint{Anchor: "a-none", PopulationID: "p"}, "a-none") // no user: not held
	m.seal()
	for _, id := range []string{"u1", "u4"} {
		m.find(id).flags |= muSeen
	}
	m.dropSeen()
	if m.list.len() != 2 {
		t.Fatalf("%d users held after dropSeen, want 2 (u2, u3)", m.list.len())
	}
	for _, id := range []string{"u2", "u3"} {
		if mu := m.find(id); mu == nil || mu.anchor != "a-"+id {
			t.Errorf("find(%s) = %+v after dropSeen, want a-%s", id, mu, id)
		}
	}
	for _, id := range []string{"u1", "u4"} {
		if mu := m.find(id); mu != nil {
			t.Errorf("find(%s) = %+v after dropSeen, want nil (found by a listing)", id, mu)
		}
	}
}
