package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"go.uber.org/zap"

	"github.com/syncd/syncd/state"
)

// journalEntry is a journal entry as `syncd journal` prints it in JSON.
type journalEntry struct {
	ID            int64           `json:"id"`
	Time          time.Time       `json:"time"`
	RunID         int64           `json:"run_id"`
	Job           string          `json:"job"`
	Anchor        string          `json:"anchor"`
	UserID        string          `json:"user_id,omitempty"`
	GroupID       string          `json:"group_id,omitempty"`
	Op            string          `json:"op"`
	Before        json.RawMessage `json:"before,omitempty"`
	After         json.RawMessage `json:"after,omitempty"`
	Status        int             `json:"status"`
	CorrelationID string          `json:"correlation_id,omitempty"`
	Error         string          `json:"error,omitempty"`
}

func (m *Main) runJournal(ctx context.Context, g *globalFlags, args []string) int {
	fs := m.flagSet("journal", g)
	run := fs.Int64("run", 0, "only this run's writes")
	anchor := fs.String("anchor", "", "only this anchor's writes")
	since := fs.String("since", "", "only writes at or after DATE (2026-01-01, UTC, or an RFC 3339 time)")
	fs.Lookup("output").Usage = "text, json or jsonl (one entry per line, for a SIEM)"
	pos, err := m.parse(fs, g, args)
	if err != nil {
		return m.usageErr(err)
	}
	if len(pos) > 0 {
		return m.usageErr(fmt.Errorf("unexpected argument %q", pos[0]))
	}
	f := state.JournalFilter{RunID: *run, Anchor: *anchor}
	if *since != "" {
		if f.Since, err = parseDay(*since); err != nil {
			return m.usageErr(fmt.Errorf("--since: %w", err))
		}
	}
	cfg, err := m.loadConfig(ctx, g)
	if err != nil {
		return m.fail(err)
	}
	jobs := []string{""} // all jobs
	if len(g.jobs) > 0 {
		sel, err := cfg.Select(g.jobs...)
		if err != nil {
			return m.fail(usageError{err})
		}
		jobs = jobs[:0]
		for _, j := range sel {
			jobs = append(jobs, j.Name)
		}
	}
	log := newLogger(cfg, m.Stderr)
	st, err := openStore(ctx, cfg, log, cfg.State.Migrate())
	if err != nil {
		return m.fail(err)
	}
	defer st.Close()
	jr, ok := st.(state.Journal)
	if !ok {
		return m.fail(fmt.Errorf("state %s keeps no journal", cfg.State.URL))
	}

	out := newJournalWriter(m.Stdout, g.output)
	for _, job := range jobs {
		f.Job = job
		if err := jr.JournalEntries(ctx, f, out.write); err != nil {
			return m.fail(fmt.Errorf("read journal: %w", err))
		}
	}
	if err := out.close(); err != nil {
		return m.fail(fmt.Errorf("write journal: %w", err))
	}
	return ExitOK
}

// parseDay reads a date (midnight UTC) or an RFC 3339 time.
func parseDay(s string) (time.Time, error) {
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q: want a date (2026-01-01) or an RFC 3339 time", s)
	}
	return t, nil
}

// journalWriter prints entries as they stream from the store.
type journalWriter struct {
	format string
	w      io.Writer
	tw     *tabwriter.Writer
	enc    *json.Encoder
	n      int
	err    error
}

func newJournalWriter(w io.Writer, format string) *journalWriter {
	jw := &journalWriter{format: format, w: w}
	switch format {
	case "text":
		jw.tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(jw.tw, "time\trun\tjob\tanchor\tuser\top\tstatus\tchange\tcorrelation\terror")
	default:
		jw.enc = json.NewEncoder(w)
		if format == "json" {
			io.WriteString(w, "[")
		}
	}
	return jw
}

func (jw *journalWriter) write(e state.JournalEntry) error {
	if jw.err != nil {
		return jw.err
	}
	jw.n++
	if jw.tw != nil {
		status := "-"
		if e.Status != 0 {
			status = strconv.Itoa(e.Status)
		}
		user := e.UserID
		if e.GroupID != "" {
			user += " group " + e.GroupID
		}
		_, jw.err = fmt.Fprintf(jw.tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.At.Local().Format("2006-01-02 15:04:05"), e.RunID, e.Job,
			e.Anchor, user, e.Op, status, change(e.Before, e.After), e.CorrelationID, clip(e.Error, 80))
		return jw.err
	}
	if jw.format == "json" && jw.n > 1 {
		if _, jw.err = io.WriteString(jw.w, ","); jw.err != nil {
			return jw.err
		}
	}
	jw.err = jw.enc.Encode(journalEntry{ID: e.ID, Time: e.At, RunID: e.RunID, Job: e.Job, Anchor: e.Anchor, UserID: e.UserID, GroupID: e.GroupID,
		Op: e.Op, Before: e.Before, After: e.After, Status: e.Status, CorrelationID: e.CorrelationID, Error: e.Error})
	return jw.err
}

func (jw *journalWriter) close() error {
	if jw.err != nil {
		return jw.err
	}
	switch {
	case jw.tw != nil:
		if jw.n == 0 {
			fmt.Fprintln(jw.tw, "(no journal entries)")
		}
		return jw.tw.Flush()
	case jw.format == "json":
		_, err := io.WriteString(jw.w, "]\n")
		return err
	}
	return nil
}

// change prints before -> after compactly: "title Engineer -> Manager".
func change(before, after []byte) string {
	var b, a map[string]any
	_ = json.Unmarshal(before, &b) // written by syncd; a bad one prints empty
	_ = json.Unmarshal(after, &a)
	var parts []string
	keys := map[string]bool{}
	for k := range a {
		keys[k] = true
	}
	for k := range b {
		keys[k] = true
	}
	for _, k := range []string{"enabled", "population_id", "attributes"} {
		if !keys[k] {
			continue
		}
		if k != "attributes" {
			parts = append(parts, fmt.Sprintf("%s %v -> %v", k, orDash(b[k]), orDash(a[k])))
			continue
		}
		ba, _ := b[k].(map[string]any)
		aa, _ := a[k].(map[string]any)
		if ba == nil {
			parts = append(parts, fmt.Sprintf("%d attributes", len(aa)))
			continue
		}
		for _, name := range slices.Sorted(maps.Keys(aa)) {
			parts = append(parts, fmt.Sprintf("%s %v -> %v", name, orDash(ba[name]), orDash(aa[name])))
		}
	}
	return clip(strings.Join(parts, "; "), 120)
}

func orDash(v any) any {
	if v == nil || v == "" {
		return "-"
	}
	return v
}

// pruner prunes the journal and the run records for `syncd run`, at most
// once per interval, after a run.
type pruner struct {
	retention time.Duration
	interval  time.Duration
	now       func() time.Time

	mu   sync.Mutex
	last time.Time
}

// prune deletes what is older than the retention, unless it did so less
// than an interval ago. Failures are logged: pruning never fails a run.
func (p *pruner) prune(ctx context.Context, st state.Store, log *zap.Logger) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	if !p.last.IsZero() && now.Sub(p.last) < p.interval {
		return
	}
	jr, ok := st.(state.Journal)
	if !ok {
		return
	}
	p.last = now
	cut := now.Add(-p.retention)
	entries, runs, err := jr.Prune(context.WithoutCancel(ctx), cut)
	if err != nil && !errors.Is(err, context.Canceled) {
		log.Warn("journal prune failed", zap.Error(err))
		return
	}
	if entries+runs > 0 {
		log.Info("journal pruned", zap.Time("before", cut), zap.Int64("entries", entries), zap.Int64("runs", runs))
	}
}
