package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// SyncdBinary builds cmd/syncd once per test process, for tests that need
// real processes, real signals and kill -9. SYNCD_BIN names a prebuilt
// binary instead.
func SyncdBinary(tb testing.TB) string {
	tb.Helper()
	buildOnce.Do(func() {
		if p := os.Getenv("SYNCD_BIN"); p != "" {
			binPath = p
			return
		}
		dir, err := os.MkdirTemp("", "syncd-test-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "syncd")
		out, err := exec.Command("go", "build", "-o", binPath, "github.com/syncd/syncd/cmd/syncd").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		tb.Fatal(buildErr)
	}
	return binPath
}
