package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestExampleConfigsMapGolden maps a fixture through each example config
// under configs/ with `syncd map` and compares the JSON with a golden file:
// the examples are documentation, and this keeps them true.
func TestExampleConfigsMapGolden(t *testing.T) {
	creds := t.TempDir()
	for _, f := range []string{"pingone-client-secret", "ldap-bind-password"} {
		if err := os.WriteFile(filepath.Join(creds, f), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("CREDENTIALS_DIRECTORY", creds)
	cases := []struct{ name, config, input string }{
		{"demo", "../../configs/demo/syncd.yaml", "../../configs/demo/people.csv"},
		{"csv", "../../configs/csv.yaml", "../../configs/testdata/csv/input.csv"},
		{"openldap", "../../configs/openldap.yaml", "../../configs/testdata/openldap/input.ldif"},
		{"active-directory", "../../configs/active-directory.yaml", "../../configs/testdata/active-directory/input.ldif"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			m := NewMain(strings.NewReader(""), &out, &errb)
			m.Getenv = func(k string) string {
				if k == "SYNCD_PINGONE_CLIENT_SECRET" {
					return "x"
				}
				return ""
			}
			code := m.Run(context.Background(), []string{"map", "--config", c.config, "--input", c.input})
			if code != ExitOK && code != ExitRejected {
				t.Fatalf("exit %d: %s", code, errb.String())
			}
			golden := filepath.Join("testdata", "map-"+c.name+".json")
			if *update {
				if err := os.WriteFile(golden, out.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(out.Bytes(), want) {
				t.Errorf("syncd map output differs from %s (run with -update after checking):\n%s", golden, out.String())
			}
		})
	}
}
