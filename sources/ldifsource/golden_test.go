package ldifsource

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/syncd/syncd/sources"
)

var update = flag.Bool("update", false, "rewrite testdata/*/want.json from the current output")

// golden is what want.json holds for one case.
type golden struct {
	Records []goldenRecord `json:"records"`
	OpenErr string         `json:"open_error,omitempty"`
	ReadErr string         `json:"read_error,omitempty"`
}

type goldenRecord struct {
	Pos    string              `json:"pos"`
	Anchor string              `json:"anchor,omitempty"`
	DN     string              `json:"dn,omitempty"`
	Attrs  map[string][]string `json:"attrs,omitempty"`
	Reject string              `json:"reject,omitempty"`
}

// TestGolden runs each testdata/<case>/: config.yaml is the LDIF source
// block (path relative to the case), want.json the records and errors.
// Run with -update to rewrite want.json after an intended change.
func TestGolden(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join("testdata", "*", "config.yaml"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no golden cases: %v", err)
	}
	for _, cfgPath := range dirs {
		dir := filepath.Dir(cfgPath)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			raw, err := os.ReadFile(cfgPath)
			if err != nil {
				t.Fatal(err)
			}
			var cfg Config
			dec := yaml.NewDecoder(bytes.NewReader(raw))
			dec.KnownFields(true)
			if err := dec.Decode(&cfg); err != nil {
				t.Fatalf("%s: %v", cfgPath, err)
			}
			cfg.Path = filepath.Join(dir, cfg.Path)
			src, err := New(cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			got := golden{Records: []goldenRecord{}}
			r, err := src.Open(context.Background(), sources.ReadRequest{})
			if err != nil {
				got.OpenErr = err.Error()
			} else {
				for r.Next() {
					rec := r.Record()
					g := goldenRecord{Pos: rec.Pos, Anchor: rec.Anchor, DN: rec.DN, Reject: rec.Reject}
					if len(rec.Attrs) > 0 {
						g.Attrs = make(map[string][]string, len(rec.Attrs))
						for k, v := range rec.Attrs {
							g.Attrs[k] = append([]string(nil), v...)
						}
					}
					got.Records = append(got.Records, g)
				}
				if err := r.Err(); err != nil {
					got.ReadErr = err.Error()
				}
				r.Close()
			}
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			enc.SetIndent("", "  ")
			if err := enc.Encode(got); err != nil {
				t.Fatal(err)
			}
			out := buf.Bytes()
			wantPath := filepath.Join(dir, "want.json")
			if *update {
				if err := os.WriteFile(wantPath, out, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(wantPath)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(out, want) {
				t.Errorf("%s differs from the output (run with -update after an intended change):\n got %s\nwant %s", wantPath, out, want)
			}
		})
	}
}
