package reconcile

import "testing"

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
