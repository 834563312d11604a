package config

import (
	"time"

	"github.com/syncd/syncd/internal/fielderr"
	"github.com/syncd/syncd/sources/ldapsource"
)

// Watch defaults (jobs[].watch_*).
const (
	DefaultWatchDebounce   = time.Second
	DefaultWatchInterval   = 10 * time.Second
	DefaultWatchStaleAfter = 5 * time.Minute
	DefaultWatchGateWindow = time.Hour
)

// setWatchDefaults fills the watch keys a job leaves out. A key set to 0
// stays 0 (watch_debounce: 0 applies each change at once).
func setWatchDefaults(j *Job) {
	for _, d := range []struct {
		p   **time.Duration
		def time.Duration
	}{
		{&j.WatchDebounce, DefaultWatchDebounce},
		{&j.WatchInterval, DefaultWatchInterval},
		{&j.WatchStaleAfter, DefaultWatchStaleAfter},
		{&j.WatchGateWindow, DefaultWatchGateWindow},
	} {
		if *d.p == nil {
			v := d.def
			*d.p = &v
		}
	}
}

// validateWatch checks a job's watch keys; p is the job's path.
func validateWatch(p string, j *Job, errs *fielderr.List) {
	if j.WatchDebounce != nil && (*j.WatchDebounce < 0 || *j.WatchDebounce > time.Hour) {
		errs.Add(p+".watch_debounce", "want 0..1h, not %s", *j.WatchDebounce)
	}
	if j.WatchInterval != nil && (*j.WatchInterval < time.Second || *j.WatchInterval > 24*time.Hour) {
		errs.Add(p+".watch_interval", "want 1s..24h, not %s", *j.WatchInterval)
	}
	if j.WatchStaleAfter != nil && *j.WatchStaleAfter <= 0 {
		errs.Add(p+".watch_stale_after", "must be longer than 0, not %s", *j.WatchStaleAfter)
	}
	if j.WatchGateWindow != nil && (*j.WatchGateWindow < 0 || *j.WatchGateWindow > 30*24*time.Hour) {
		errs.Add(p+".watch_gate_window", "want 0..720h, not %s", *j.WatchGateWindow)
	}
	if j.Watch && j.Source.LDAP != nil && j.Source.LDAP.Delta == ldapsource.DeltaNone {
		errs.Add(p+".watch", "needs delta reads: source.ldap.delta is none")
	}
}

// Watching holds a job's watch settings with its defaults applied.
type Watching struct {
	Debounce, Interval, StaleAfter, GateWindow time.Duration
}

// WatchSettings returns the job's watch settings (defaults for keys left out).
func (j *Job) WatchSettings() Watching {
	get := func(p *time.Duration, def time.Duration) time.Duration {
		if p == nil {
			return def
		}
		return *p
	}
	return Watching{
		Debounce:   get(j.WatchDebounce, DefaultWatchDebounce),
		Interval:   get(j.WatchInterval, DefaultWatchInterval),
		StaleAfter: get(j.WatchStaleAfter, DefaultWatchStaleAfter),
		GateWindow: get(j.WatchGateWindow, DefaultWatchGateWindow),
	}
}
