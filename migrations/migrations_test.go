package migrations

import (
	"io/fs"
	"regexp"
	"testing"
)

// TestLayout checks both backends ship the same versions, named as goose
// expects, each with an Up and a Down section.
func TestLayout(t *testing.T) {
	t.Parallel()
	name := regexp.MustCompile(`^(\d{5})_[a-z0-9_]+\.sql$`)
	versions := func(t *testing.T, fsys fs.FS) map[string]bool {
		t.Helper()
		entries, err := fs.ReadDir(fsys, ".")
		if err != nil {
			t.Fatalf("read dir: %v", err)
		}
		got := map[string]bool{}
		for _, e := range entries {
			m := name.FindStringSubmatch(e.Name())
			if m == nil {
				t.Errorf("%s: want NNNNN_name.sql", e.Name())
				continue
			}
			body, err := fs.ReadFile(fsys, e.Name())
			if err != nil {
				t.Fatalf("read %s: %v", e.Name(), err)
			}
			for _, section := range []string{"-- +goose Up", "-- +goose Down"} {
				if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(section) + `$`).Match(body) {
					t.Errorf("%s: no %q section", e.Name(), section)
				}
			}
			got[m[1]] = true
		}
		if len(got) == 0 {
			t.Fatal("no migrations")
		}
		return got
	}
	pg, lite := versions(t, Postgres), versions(t, SQLite)
	for v := range pg {
		if !lite[v] {
			t.Errorf("version %s: in postgres, missing in sqlite", v)
		}
	}
	for v := range lite {
		if !pg[v] {
			t.Errorf("version %s: in sqlite, missing in postgres", v)
		}
	}
}
