package mapper

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/syncd/syncd/sources"
	"go.yaml.in/yaml/v3"
)

var update = flag.Bool("update", false, "rewrite the golden want.json files of mapper/testdata")

// fixtureRecord is one record in testdata/<case>/records.json. Attribute
// names are folded to lower case on load, as sources do.
type fixtureRecord struct {
	Anchor  string              `json:"anchor"`
	DN      string              `json:"dn,omitempty"`
	Pos     string              `json:"pos,omitempty"`
	Attrs   map[string][]string `json:"attrs"`
	Deleted bool                `json:"deleted,omitempty"`
	Reject  string              `json:"reject,omitempty"`
}

// goldenOutput is want.json: the MapOutput, or the configuration errors.
type goldenOutput struct {
	Errors     []string   `json:"errors,omitempty"`
	Attributes []string   `json:"source_attributes,omitempty"`
	Output     *MapOutput `json:"output,omitempty"`
}

func loadRecords(t *testing.T, path string) []sources.Record {
	t.Helper()
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var frs []fixtureRecord
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&frs); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	recs := make([]sources.Record, len(frs))
	for i, fr := range frs {
		attrs := make(map[string][]string, len(fr.Attrs))
		for k, v := range fr.Attrs {
			attrs[strings.ToLower(k)] = v
		}
		pos := fr.Pos
		if pos == "" {
			pos = fr.DN
		}
		recs[i] = sources.Record{Anchor: fr.Anchor, DN: fr.DN, Pos: pos, Attrs: attrs, Deleted: fr.Deleted, Reject: fr.Reject}
	}
	return recs
}

func loadConfig(t *testing.T, path string) Config {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var cfg Config
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return cfg
}

// TestGolden maps testdata/<case>/records.json with config.yaml and
// compares the result with want.json. Run with -update to rewrite.
func TestGolden(t *testing.T) {
	t.Parallel()
	dirs, err := filepath.Glob("testdata/*/config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) == 0 {
		t.Fatal("no golden cases")
	}
	for _, cfgPath := range dirs {
		dir := filepath.Dir(cfgPath)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			t.Parallel()
			cfg := loadConfig(t, cfgPath)
			var got goldenOutput
			m, err := Compile(cfg)
			if err != nil {
				for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
					got.Errors = append(got.Errors, e.Error())
				}
			} else {
				out := m.MapAll(loadRecords(t, filepath.Join(dir, "records.json")))
				got.Output = &out
				got.Attributes = m.SourceAttributes()
			}
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			enc.SetIndent("", "  ")
			if err := enc.Encode(got); err != nil {
				t.Fatal(err)
			}
			gotJSON := buf.Bytes()
			wantPath := filepath.Join(dir, "want.json")
			if *update {
				if err := os.WriteFile(wantPath, gotJSON, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(wantPath)
			if err != nil {
				t.Fatalf("%v (run go test ./mapper -run TestGolden -update)", err)
			}
			if !bytes.Equal(want, gotJSON) {
				t.Errorf("%s differs from the output (run with -update to accept):\n%s", wantPath, lineDiff(string(want), string(gotJSON)))
			}
		})
	}
}

// lineDiff shows the first differing lines.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(w) || i < len(g); i++ {
		var a, b string
		if i < len(w) {
			a = w[i]
		}
		if i < len(g) {
			b = g[i]
		}
		if a != b {
			return "line " + itoa(i+1) + ":\n- " + a + "\n+ " + b
		}
	}
	return ""
}

func itoa(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}
