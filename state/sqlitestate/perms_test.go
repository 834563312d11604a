package sqlitestate_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/syncd/syncd/state/sqlitestate"
)

// TestStateFilesAreTightened: a database (and WAL) left readable by others
// is tightened to 0600 on open, and the WAL and shared memory SQLite
// creates are 0600 whatever the umask.
func TestStateFilesAreTightened(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	path := filepath.Join(t.TempDir(), "state.db")
	st, err := sqlitestate.Open(context.Background(), path, sqlitestate.Options{AutoMigrate: true})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	for _, p := range []string{path, path + "-wal"} {
		if err := os.Chmod(p, 0o666); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
	st, err = sqlitestate.Open(context.Background(), path, sqlitestate.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, suffix := range []string{"", "-wal", "-shm"} {
		fi, err := os.Stat(path + suffix)
		if err != nil {
			t.Fatalf("%s: %v", suffix, err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("state.db%s mode %#o, want 0600", suffix, fi.Mode().Perm())
		}
	}
}

// TestStatePathThatIsNotARegularFileIsRefused: a device (through a link
// to /dev/null), a FIFO or a directory is refused before SQLite touches
// it: no -journal or -wal appears beside it.
func TestStatePathThatIsNotARegularFileIsRefused(t *testing.T) {
	dir := t.TempDir()
	devnull := filepath.Join(dir, "devnull.db")
	if err := os.Symlink("/dev/null", devnull); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo.db")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	sub := filepath.Join(dir, "sub.db")
	if err := os.Mkdir(sub, 0o700); err != nil {
		t.Fatal(err)
	}
	walDevice := filepath.Join(dir, "ok.db")
	if err := os.Symlink("/dev/null", walDevice+"-wal"); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{devnull, fifo, sub, walDevice} {
		_, err := sqlitestate.Open(context.Background(), p, sqlitestate.Options{})
		if err == nil || !strings.Contains(err.Error(), "not a regular file") {
			t.Errorf("%s: err = %v", filepath.Base(p), err)
		}
	}
	left, _ := filepath.Glob(filepath.Join(dir, "*-journal"))
	if len(left) > 0 {
		t.Errorf("SQLite touched a refused path: %v", left)
	}
}
