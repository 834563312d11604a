package sqlitestate

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// errHeld means another open file description holds the lock.
var errHeld = errors.New("held by another process")

// fileLock is an flock(2) lock on a file beside the database. The kernel
// releases it when the file is closed or the process dies.
type fileLock struct {
	path string
	job  string
	f    *os.File
}

// lockFile takes an exclusive lock on path, creating the file. With wait it
// polls until ctx ends; without, it returns errHeld at once. The lock file
// is never removed: removing it would let two processes lock different
// inodes under one name.
func lockFile(ctx context.Context, path string, wait bool) (*fileLock, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock file: %w", err)
	}
	for {
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, unix.EWOULDBLOCK) && !errors.Is(err, unix.EINTR) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		if !wait {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, errHeld)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("wait for lock %s: %w", path, ctx.Err())
		case <-time.After(50 * time.Millisecond): // flock cannot wait on a context; poll
		}
	}
	// Record the holder for an operator looking at the file; best effort.
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &fileLock{path: path, f: f}, nil
}

// release unlocks and closes the file.
func (l *fileLock) release() error {
	return errors.Join(unix.Flock(int(l.f.Fd()), unix.LOCK_UN), l.f.Close())
}

// sanitize turns a job name into a file-name suffix: letters, digits, '.',
// '_' and '-' are kept; when anything else had to be replaced, a hash of the
// name is appended so distinct jobs never share a lock file.
func sanitize(job string) string {
	var b strings.Builder
	changed := false
	for _, r := range job {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '-', r == '.' && b.Len() > 0:
			b.WriteRune(r)
		default:
			b.WriteByte('_')
			changed = true
		}
		if b.Len() >= 64 {
			changed = true
			break
		}
	}
	if !changed {
		return b.String()
	}
	h := fnv.New32a()
	h.Write([]byte(job))
	return fmt.Sprintf("%s-%08x", b.String(), h.Sum32())
}
