package csvsource

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
	"go.uber.org/zap"

	"github.com/syncd/syncd/sources"
)

// DefaultWatchSettle is how long a watched file must be left unchanged
// before a change starts a run, when source.csv.settle is 0.
const DefaultWatchSettle = 2 * time.Second

// Watcher watches a CSV export for `syncd run` (jobs[].watch): it listens
// to file system notifications on the file's directory, so an export
// replaced by a rename (written beside, then moved over: the usual way),
// rewritten in place, or swapped behind a symlink (a Kubernetes ConfigMap
// or Secret volume) is seen. Any event in the directory makes it compare
// the file's size, modification time and inode with what it last saw;
// a difference is a change once the file has stayed unchanged for the
// settle time, so a run never reads an export half written.
type Watcher struct {
	path   string
	settle time.Duration
	logger *zap.Logger
}

// NewWatcher returns a watcher of cfg's file.
func NewWatcher(cfg Config, logger *zap.Logger) (*Watcher, error) {
	if cfg.Path == "" {
		return nil, errors.New("csv watch: path: required")
	}
	if logger == nil {
		logger = zap.NewNop()
	}
	settle := cfg.Settle
	if settle <= 0 {
		settle = DefaultWatchSettle
	}
	return &Watcher{path: cfg.Path, settle: settle, logger: logger}, nil
}

// statFile returns the file's identity; ok is false when it is not a
// regular file (missing, for instance).
func statFile(path string) (st fileStat, ok bool) {
	fi, err := os.Stat(path) // follows symlinks: the export, not the link
	if err != nil || !fi.Mode().IsRegular() {
		return fileStat{}, false
	}
	return statOf(fi), true
}

// Watch reports changes of the file to n until ctx ends. The first report
// comes at once: a file replaced while syncd was not running is read by
// that run (the source's fingerprint makes it a no-op when nothing
// changed).
func (w *Watcher) Watch(ctx context.Context, n sources.Notify) error {
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("csv watch %s: %w", w.path, err)
	}
	defer fw.Close()
	dir := filepath.Dir(w.path)
	if err := fw.Add(dir); err != nil {
		return fmt.Errorf("csv watch %s: watch directory %s: %w", w.path, dir, err)
	}
	n.Connected(true, nil)
	w.logger.Info("csv watch listening", zap.String("path", w.path), zap.Duration("settle", w.settle))
	last, _ := statFile(w.path)
	n.Changed(time.Now())

	timer := time.NewTimer(time.Hour)
	timer.Stop()
	var first time.Time // first event of the pending change; zero: none
	for {
		select {
		case <-ctx.Done():
			return nil
		case err, ok := <-fw.Errors:
			if !ok {
				return fmt.Errorf("csv watch %s: notifications closed", w.path)
			}
			// An overflowed queue lost events: compare anyway.
			w.logger.Warn("csv watch: notification error: checking the file", zap.Error(err))
			if first.IsZero() {
				first = time.Now()
			}
			timer.Reset(w.settle)
		case _, ok := <-fw.Events:
			if !ok {
				return fmt.Errorf("csv watch %s: notifications closed", w.path)
			}
			if first.IsZero() {
				first = time.Now()
			}
			timer.Reset(w.settle)
		case <-timer.C:
			cur, ok := statFile(w.path)
			if !ok || cur.same(last) {
				first = time.Time{} // gone (a run would fail) or unchanged
				continue
			}
			if age := time.Since(cur.MTime); age >= 0 && age < w.settle {
				timer.Reset(w.settle - age) // still being written
				continue
			}
			last = cur
			w.logger.Debug("csv file changed", zap.String("path", w.path), zap.Int64("size", cur.Size))
			n.Changed(first)
			first = time.Time{}
		}
	}
}
