package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"

	"go.uber.org/zap"

	"github.com/syncd/syncd/config"
	"github.com/syncd/syncd/daemon"
	"github.com/syncd/syncd/reconcile"
	"github.com/syncd/syncd/sources"
	"github.com/syncd/syncd/sources/csvsource"
	"github.com/syncd/syncd/sources/ldapsource"
	"github.com/syncd/syncd/state"
)

// watchHolder names this process to the watch leases: host, pid and a
// random part (two processes in one container namespace share a pid).
func watchHolder() string {
	host, _ := os.Hostname()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b))
}

// daemonWatches builds the watches of cfg's jobs with watch: true. Each
// reads the job's cursor through the service current at the time (svcs),
// so that a reload's new store is used.
func daemonWatches(cfg *config.Config, svcs *services, holder string, log *zap.Logger) ([]daemon.Watch, error) {
	var out []daemon.Watch
	for i := range cfg.Jobs {
		j := &cfg.Jobs[i]
		if !j.Watch {
			continue
		}
		ws := j.WatchSettings()
		name, digest := j.Name, jobDigest(j)
		cursor := func(ctx context.Context) ([]byte, error) {
			s := svcs.acquire()
			defer svcs.release(s)
			return reconcile.SourceCursor(ctx, s.store, &reconcile.Job{Name: name, ConfigDigest: digest})
		}
		jlog := log.With(zap.String("job", j.Name), zap.String("read", "watch"))
		w := daemon.Watch{Job: j.Name, Debounce: ws.Debounce, StaleAfter: ws.StaleAfter, Holder: holder}
		switch {
		case j.Source.LDAP != nil:
			src, err := ldapsource.New(*j.Source.LDAP, jlog)
			if err != nil {
				return nil, fmt.Errorf("job %s: watch: %w", j.Name, err)
			}
			opts := ldapsource.WatchOptions{Interval: ws.Interval, Cursor: cursor}
			w.Source = func(ctx context.Context, n sources.Notify) error { return src.Watch(ctx, opts, n) }
		case j.Source.CSV != nil:
			cw, err := csvsource.NewWatcher(*j.Source.CSV, jlog)
			if err != nil {
				return nil, fmt.Errorf("job %s: watch: %w", j.Name, err)
			}
			w.Source = cw.Watch
		default:
			return nil, fmt.Errorf("job %s: watch: no source configured", j.Name)
		}
		s := svcs.acquire()
		if l, ok := s.store.(daemon.Leaser); ok {
			w.Lease = l
		}
		svcs.release(s)
		out = append(out, w)
	}
	return out, nil
}

// runWatch applies one watch batch of job: an ordinary run of the engine
// (job lock, checkpoints, journal, gate) that reads a delta from the
// job's cursor, under the watch's sliding-window gate.
func (s *service) runWatch(ctx context.Context, name string, b daemon.WatchBatch, abort <-chan struct{}) error {
	j, rj, eng, err := s.engine(name)
	if err != nil {
		return err
	}
	rep, err := eng.Run(ctx, rj, reconcile.Options{Watch: true, WatchGateWindow: j.WatchSettings().GateWindow, Abort: abort})
	if errors.Is(err, state.ErrLocked) {
		return err // the batch is kept and retried
	}
	res := runResult(rep, s.objects(ctx, name))
	res.RejectedRecords = s.standingRejects(ctx, name)
	s.met.ObserveRun(res)
	s.notify.Report(rep)
	s.observeLag(ctx, name, rep.RunID, b)
	var gerr *reconcile.GateError
	if errors.As(err, &gerr) {
		// The engine logged it, notify and metrics have it: retrying
		// would only trip the gate again. The changes wait, unapplied
		// (the cursor did not move), for a run a person allows.
		return nil
	}
	return err
}

// observeLag records syncd_change_lag_seconds for each write the run
// made: from the batch's first change to PingOne's answer (an upper
// bound for the batch's later changes).
func (s *service) observeLag(ctx context.Context, job string, runID int64, b daemon.WatchBatch) {
	jr, ok := s.store.(state.Journal)
	if !ok || runID == 0 {
		return
	}
	err := jr.JournalEntries(ctx, state.JournalFilter{Job: job, RunID: runID}, func(e state.JournalEntry) error {
		if e.Succeeded() {
			s.met.ChangeLag(job, e.At.Sub(b.First))
		}
		return nil
	})
	if err != nil {
		s.log.Warn("change lag not recorded: journal unreadable", zap.String("job", job), zap.Error(err))
	}
}
