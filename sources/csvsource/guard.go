package csvsource

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"go.uber.org/zap"
)

// Why this file exists: an HR system writing its export in place can be
// read half-way, cut at a line boundary, and a cut file parses as a
// complete, shorter one (a 5,000-row export read at 91 % would disable
// 450 people). So the file's identity — size, modification time, inode —
// is taken when it is opened and compared after the read and again just
// before the first disable is sent (Recheck): any change makes the read
// incomplete. A read of a few milliseconds can fall between two writes,
// so settle (the file must have been left alone that long before it is
// read) and min_records close the remaining gaps.

// fileStat is what identifies one version of the file.
type fileStat struct {
	Size  int64
	MTime time.Time
	Dev   uint64 // 0 where the platform has no inodes
	Ino   uint64
}

func statOf(fi os.FileInfo) fileStat {
	st := fileStat{Size: fi.Size(), MTime: fi.ModTime()}
	st.Dev, st.Ino = inode(fi)
	return st
}

func (a fileStat) same(b fileStat) bool {
	return a.Size == b.Size && a.MTime.Equal(b.MTime) && a.Dev == b.Dev && a.Ino == b.Ino
}

func (a fileStat) String() string {
	return fmt.Sprintf("size %d, mtime %s, inode %d", a.Size, a.MTime.UTC().Format(time.RFC3339Nano), a.Ino)
}

// ChangedError says the file changed while or after it was read: the
// read must not count as complete, and nothing may be disabled from it.
type ChangedError struct {
	Path          string
	When          string // "during the read", "before the first disable"
	Before, After fileStat
}

func (e *ChangedError) Error() string {
	return fmt.Sprintf("csv %s changed %s (was %s, now %s): the file is still being written or was replaced; "+
		"this read is incomplete (set source.csv.settle to wait until the export is left alone)", e.Path, e.When, e.Before, e.After)
}

// TooFewError is a complete read with fewer rows than min_records.
type TooFewError struct {
	Path      string
	Rows, Min int
}

func (e *TooFewError) Error() string {
	return fmt.Sprintf("csv %s has %d data rows, fewer than source.csv.min_records=%d: refusing it as a cut or wrong export", e.Path, e.Rows, e.Min)
}

// maxSettleRounds bounds how often waitSettled waits for a file that keeps
// changing.
const maxSettleRounds = 20

// waitSettled returns once the file has not been modified for at least
// cfg.Settle, waiting (on ctx) while it is younger than that.
func (s *Source) waitSettled(ctx context.Context) error {
	if s.cfg.Settle <= 0 {
		return nil
	}
	for round := 0; ; round++ {
		fi, err := os.Stat(s.cfg.Path)
		if err != nil {
			return nil // the open that follows reports it
		}
		age := s.now().Sub(fi.ModTime())
		if age >= s.cfg.Settle {
			return nil
		}
		if round >= maxSettleRounds {
			return fmt.Errorf("csv %s: still changing after %d waits of settle=%s: not read", s.cfg.Path, round, s.cfg.Settle)
		}
		wait := s.cfg.Settle - age
		s.logger.Info("csv file modified recently, waiting for it to settle", zap.Duration("age", age), zap.Duration("wait", wait))
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("csv %s: waiting %s for the file to settle (modified %s ago): %w", s.cfg.Path, wait, age.Round(time.Millisecond), ctx.Err())
		case <-t.C:
		}
	}
}

// checkStat compares the file at the path with the one opened for the
// read; a reader without a stat of its file (tests' injected readers)
// checks nothing.
func (r *reader) checkStat(when string) error {
	if r.stat == nil {
		return nil
	}
	fi, err := os.Stat(r.path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return &ChangedError{Path: r.path, When: when + " (the file is gone)", Before: *r.stat}
		}
		return fmt.Errorf("csv %s: stat %s: %w", r.path, when, err)
	}
	if now := statOf(fi); !now.same(*r.stat) {
		return &ChangedError{Path: r.path, When: when, Before: *r.stat, After: now}
	}
	return nil
}

// Recheck reports a *ChangedError when the file is no longer the one this
// read parsed (sources.Rechecker): the engine calls it just before the
// first disable it sends.
func (r *reader) Recheck(context.Context) error {
	return r.checkStat("before the first disable")
}
