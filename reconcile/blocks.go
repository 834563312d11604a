package reconcile

import (
	"sort"
	"strings"
)

// blocks is a list of values kept in fixed blocks of blockSize rather than
// one growing slice: growing a slice of a million values would copy it,
// holding old and new copies at once, several times over. A value's
// address is stable until filter or sortBy moves it.
type blocks[T any] struct {
	b [][]T
	n int
}

const blockSize = 8192

func (s *blocks[T]) add(v T) {
	if s.n%blockSize == 0 {
		s.b = append(s.b, make([]T, 0, blockSize))
	}
	last := &s.b[len(s.b)-1]
	*last = append(*last, v)
	s.n++
}

func (s *blocks[T]) len() int { return s.n }

func (s *blocks[T]) at(i int) *T { return &s.b[i/blockSize][i%blockSize] }

// sortBy sorts the values in place.
func (s *blocks[T]) sortBy(less func(a, b *T) bool) { sort.Sort(blockSorter[T]{s, less}) }

type blockSorter[T any] struct {
	s    *blocks[T]
	less func(a, b *T) bool
}

func (b blockSorter[T]) Len() int           { return b.s.n }
func (b blockSorter[T]) Less(i, j int) bool { return b.less(b.s.at(i), b.s.at(j)) }
func (b blockSorter[T]) Swap(i, j int) {
	x, y := b.s.at(i), b.s.at(j)
	*x, *y = *y, *x
}

// search returns the first index at which f is true (f false, then true).
func (s *blocks[T]) search(f func(*T) bool) int {
	return sort.Search(s.n, func(i int) bool { return f(s.at(i)) })
}

// filter keeps the values for which keep is true, in order.
func (s *blocks[T]) filter(keep func(*T) bool) {
	k := 0
	for i := 0; i < s.n; i++ {
		if v := s.at(i); keep(v) {
			*s.at(k) = *v
			k++
		}
	}
	var zero T
	for i := k; i < s.n; i++ {
		*s.at(i) = zero
	}
	// The blocks left empty are let go: a header kept past the slice's
	// length would keep its block reachable.
	nb := (k + blockSize - 1) / blockSize
	clear(s.b[nb:])
	s.b = s.b[:nb]
	if k%blockSize != 0 {
		last := &s.b[len(s.b)-1]
		*last = (*last)[:k%blockSize]
	}
	s.n = k
}

// arena copies short strings into shared chunks of chunkSize: one
// allocation per chunk rather than one per string. A strings.Builder never
// changes bytes it has written, so the strings stay valid after the chunk
// is replaced.
type arena struct{ chunk strings.Builder }

// chunkSize is the size of one arena chunk.
const chunkSize = 1 << 20

func (a *arena) bytes(b []byte) string {
	if !a.room(len(b)) {
		return string(b)
	}
	start := a.chunk.Len()
	a.chunk.Write(b)
	return a.chunk.String()[start:]
}

func (a *arena) string(s string) string {
	if !a.room(len(s)) {
		return strings.Clone(s)
	}
	start := a.chunk.Len()
	a.chunk.WriteString(s)
	return a.chunk.String()[start:]
}

// room makes room for n bytes in the current chunk, starting a new one when
// needed; false when n is too large to share a chunk.
func (a *arena) room(n int) bool {
	if a.chunk.Cap()-a.chunk.Len() >= n {
		return true
	}
	if n > chunkSize/8 {
		return false
	}
	a.chunk = strings.Builder{}
	a.chunk.Grow(chunkSize)
	return true
}
