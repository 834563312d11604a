package migrations

import (
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"
)

// Versions returns the migration versions fsys holds (the NNNNN prefix of
// each NNNNN_name.sql at its root), in ascending order.
func Versions(fsys fs.FS) ([]int64, error) {
	names, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		return nil, fmt.Errorf("migrations: list: %w", err)
	}
	out := make([]int64, 0, len(names))
	for _, n := range names {
		prefix, _, ok := strings.Cut(n, "_")
		v, err := strconv.ParseInt(prefix, 10, 64)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migrations: %s: want NNNNN_name.sql", n)
		}
		out = append(out, v)
	}
	slices.Sort(out)
	return out, nil
}
