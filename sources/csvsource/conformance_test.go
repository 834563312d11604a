package csvsource

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/syncd/syncd/sources"
	"github.com/syncd/syncd/sources/sourcetest"
)

// writeUsers writes a CSV file of n generated users in the suite's shape,
// the last column quoted so a truncation can land inside a quoted field.
func writeUsers(t testing.TB, dir string, n int) string {
	t.Helper()
	p := filepath.Join(dir, fmt.Sprintf("users-%d.csv", n))
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	fmt.Fprintln(w, "EntryUUID,Mail,givenName,sn,department,title,groups,phone,city,note")
	for i := range n {
		fmt.Fprintf(w, "%s,%s,Given%d,Family%d,Dept %d,Engineer,staff;dev%d,+1 555 %07d,Springfield,\"note %d, with a comma\"\n",
			sourcetest.Anchor(i), sourcetest.Mail(i), i, i, i%17, i%5, i, i)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return p
}

func newUsers(t testing.TB, path string) *Source {
	t.Helper()
	src, err := New(Config{Path: path, Key: "entryuuid", MultiValueSeparator: ";"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return src
}

func TestConformance(t *testing.T) {
	newSrc := func(t *testing.T, n int) sources.Source {
		return newUsers(t, writeUsers(t, t.TempDir(), n))
	}
	t.Run("TruncatedInQuotedField", func(t *testing.T) {
		sourcetest.Run(t, sourcetest.Harness{
			New: newSrc,
			// The file is cut inside the quoted note of row `after`.
			Failing: func(t *testing.T, n, after int) sources.Source {
				p := writeUsers(t, t.TempDir(), n)
				data, err := os.ReadFile(p)
				if err != nil {
					t.Fatal(err)
				}
				line := 0
				for i, c := range data {
					if c == '\n' {
						line++
					}
					if line == after+1 && c == '"' {
						data = data[:i+3]
						break
					}
				}
				if err := os.WriteFile(p, data, 0o600); err != nil {
					t.Fatal(err)
				}
				return newUsers(t, p)
			},
			Large: 100_000,
		})
	})
	t.Run("IOErrorMidRead", func(t *testing.T) {
		sourcetest.Run(t, sourcetest.Harness{
			New: newSrc,
			Failing: func(t *testing.T, n, after int) sources.Source {
				p := writeUsers(t, t.TempDir(), n)
				src := newUsers(t, p)
				src.open = failAfterOpener(int64(after) * 150) // rows are ~150 bytes
				return src
			},
			Large: 10_000,
		})
	})
}
