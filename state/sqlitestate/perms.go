package sqlitestate

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"go.uber.org/zap"
)

// sidecars are the files SQLite keeps beside a database: they hold the same
// data (the WAL holds every recent write) and get the same treatment.
var sidecars = []string{"", "-wal", "-shm", "-journal"}

// checkFiles refuses a database path (or sidecar) that exists and is not a
// regular file, before SQLite touches it: on /dev/null SQLite would create
// a world-writable /dev/null-journal, on a FIFO it would hang. Symbolic
// links are followed: a link to a regular file is a regular database.
func checkFiles(name, path string) error {
	for _, suffix := range sidecars {
		fi, err := os.Stat(path + suffix)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			continue
		case err != nil:
			return fmt.Errorf("state %s: %w", name, err)
		case !fi.Mode().IsRegular():
			return fmt.Errorf("state %s: %s is not a regular file (%s): point state.url at a database file", name, path+suffix, fi.Mode().Type())
		}
	}
	return nil
}

// tighten makes the database and its sidecars readable and writable by
// their owner only (0600): they hold every managed user's attributes and
// the journal. A file it cannot chmod (someone else's) is refused.
func tighten(name, path string, log *zap.Logger) error {
	for _, suffix := range sidecars {
		p := path + suffix
		fi, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("state %s: %w", name, err)
		}
		if fi.Mode().Perm()&0o077 == 0 {
			continue
		}
		if err := os.Chmod(p, 0o600); err != nil {
			return fmt.Errorf("state %s: %s is open to others (mode %#o) and cannot be tightened to 0600: %w", name, p, fi.Mode().Perm(), err)
		}
		log.Info("state file permissions tightened", zap.String("path", p), zap.String("was", fmt.Sprintf("%#o", fi.Mode().Perm())), zap.String("now", "0600"))
	}
	return nil
}
