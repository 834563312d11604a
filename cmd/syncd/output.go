package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/syncd/syncd/reconcile"
)

// maxOpLines bounds the per-operation lines of a text report; the JSON
// report (--output json, --report FILE) always has all of them.
const maxOpLines = 200

func (m *Main) printReports(format string, reports []*reconcile.Report) {
	if format == "json" {
		bw := bufio.NewWriterSize(m.Stdout, 1<<16)
		_ = writeReports(bw, "", reports) // a failed write to stdout has no one to tell
		_ = bw.Flush()
		return
	}
	for _, r := range reports {
		printOps(m.Stdout, r)
	}
	printSummary(m.Stdout, reports)
}

// writeReports writes {"jobs": [report, ...]} (after the members in head,
// if any) streaming each report's operations one per line, so that a
// million-operation report is never built in memory whole.
func writeReports(w io.Writer, head string, reports []*reconcile.Report) error {
	// The report without its operations: the outer field hides the
	// embedded one, and a nil pointer is omitted.
	type withoutOps struct {
		*reconcile.Report
		Operations *struct{} `json:"operations,omitempty"`
	}
	ew := &errWriter{w: w}
	ew.str("{")
	if head != "" {
		ew.str(head + ",")
	}
	ew.str("\"jobs\": [\n")
	for i, r := range reports {
		b, err := json.Marshal(withoutOps{Report: r})
		if err != nil {
			return err
		}
		ew.write(b[:len(b)-1])
		ew.str(",\"operations\": [")
		for k := range r.Operations {
			if k > 0 {
				ew.str(",")
			}
			ew.str("\n  ")
			ob, err := json.Marshal(r.Operations[k])
			if err != nil {
				return err
			}
			ew.write(ob)
		}
		ew.str("\n]}")
		if i < len(reports)-1 {
			ew.str(",")
		}
		ew.str("\n")
	}
	ew.str("]}\n")
	return ew.err
}

// errWriter keeps the first write error.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) write(b []byte) {
	if e.err == nil {
		_, e.err = e.w.Write(b)
	}
}

func (e *errWriter) str(s string) { e.write([]byte(s)) }

var actionMark = map[reconcile.Action]string{
	reconcile.ActCreate: "+", reconcile.ActAdopt: "&", reconcile.ActUpdate: "~", reconcile.ActMove: ">",
	reconcile.ActEnable: "^", reconcile.ActDisable: "-", reconcile.ActDelete: "x", reconcile.ActReject: "!",
}

// mark is the sign of an op's first action.
func mark(s reconcile.ActionSet) string {
	if as := s.List(); len(as) > 0 {
		return actionMark[as[0]]
	}
	return " "
}

func printOps(w io.Writer, r *reconcile.Report) {
	if r.RevertOf != 0 {
		fmt.Fprintf(w, "job %s: %s (revert of run %d, from the journal)\n", r.Job, r.Status, r.RevertOf)
	} else {
		fmt.Fprintf(w, "job %s: %s (%s read, %d records)\n", r.Job, r.Status, r.Mode, r.Counts.Records)
	}
	if len(r.Operations) == 0 && len(r.Rejects) == 0 && !r.Groups.Changes() {
		fmt.Fprintf(w, "  nothing to do: PingOne is in step\n")
	}
	for i, op := range r.Operations {
		if i == maxOpLines {
			fmt.Fprintf(w, "  … %d more operations (use --output json or --report FILE for all)\n", len(r.Operations)-i)
			break
		}
		why := op.Why
		if res := op.Result(); res == "not applied" || res == "failed" {
			why += "; " + res // failures are listed below with their error
		}
		fmt.Fprintf(w, "  %s %-16s %-28s %s  (%s)\n", mark(op.Actions), op.Actions, clip(op.Username(), 28), clip(op.Anchor(), 40), why)
		for _, c := range op.AttributeChanges() {
			switch {
			case c.Old == "":
				fmt.Fprintf(w, "      %s: %q\n", c.Attribute, c.New)
			case c.New == "":
				fmt.Fprintf(w, "      %s: %q → (cleared)\n", c.Attribute, c.Old)
			default:
				fmt.Fprintf(w, "      %s: %q → %q\n", c.Attribute, c.Old, c.New)
			}
		}
		if from := op.FromPopulation(); from != "" && from != op.ToPopulation {
			fmt.Fprintf(w, "      population: %s → %s\n", from, op.ToPopulation)
		}
	}
	printGroupOps(w, r.Groups)
	for i, rj := range r.Rejects {
		if i == maxOpLines {
			fmt.Fprintf(w, "  … %d more rejects\n", len(r.Rejects)-i)
			break
		}
		fmt.Fprintf(w, "  ! rejected         %s\n", rj.Error())
	}
	if n := r.StandingRejects - len(r.Rejects); n > 0 {
		fmt.Fprintf(w, "  ! %d more records stand rejected from earlier runs (not read again; `syncd status` lists them)\n", n)
	}
	for _, d := range r.Drift {
		what := "repaired"
		if !d.Repaired {
			what = "reported"
		}
		fmt.Fprintf(w, "  * drift (%s)    %-28s %s  (changed in PingOne outside syncd)\n", what, clip(d.Username, 28), clip(d.Anchor, 40))
		for _, c := range d.Changes {
			fmt.Fprintf(w, "      %s: %q in PingOne, syncd wants %q\n", c.Attribute, c.Old, c.New)
		}
		if d.Enabled != "" {
			fmt.Fprintf(w, "      enabled: %s\n", d.Enabled)
		}
		if d.Population != "" {
			fmt.Fprintf(w, "      population: %s\n", d.Population)
		}
		if d.Deleted {
			fmt.Fprintf(w, "      deleted in PingOne\n")
		}
	}
	for _, d := range r.MemberDrift {
		what := "repaired"
		if !d.Repaired {
			what = "reported"
		}
		if d.GroupDeleted {
			fmt.Fprintf(w, "  * drift (%s)    group %s deleted in PingOne outside syncd (id %s)\n", what, clip(d.GroupName, 40), d.GroupID)
			continue
		}
		switch {
		case d.Nested && d.Added:
			fmt.Fprintf(w, "  * drift (reported)    nested group %s → %s added in PingOne outside syncd (not syncd's link: left as it is)\n",
				clip(d.MemberName, 40), clip(d.GroupName, 40))
		case d.Nested:
			fmt.Fprintf(w, "  * drift (%s)    nested group %s → %s removed in PingOne outside syncd\n", what, clip(d.MemberName, 40), clip(d.GroupName, 40))
		default:
			fmt.Fprintf(w, "  * drift (%s)    member %s → %s removed in PingOne outside syncd\n", what, clip(d.MemberName, 28), clip(d.GroupName, 40))
		}
	}
	for _, f := range r.Failures {
		fmt.Fprintf(w, "  x failed           anchor=%s %s: %s\n", f.Anchor, f.Username, f.Error)
	}
	printTransitions(w, r)
	for _, wn := range r.Warnings {
		fmt.Fprintf(w, "  warning: %s\n", wn)
	}
	if r.Error != "" {
		fmt.Fprintf(w, "  error: %s\n", r.Error)
	}
	fmt.Fprintln(w)
}

func printSummary(w io.Writer, reports []*reconcile.Report) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "job\tstatus\tcreated\tadopted\tupdated\tenabled\tdisabled\tdeleted\tmoved\tunchanged\trejected\tfailed\tAPI calls\tread\tplan\tapply\t")
	for _, r := range reports {
		c := r.Counts
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%s\t%s\t%s\t\n", r.Job, r.Status,
			c.Created, c.Adopted, c.Updated, c.Enabled, c.Disabled, c.Deleted, c.Moved, c.Unchanged, c.Rejected, c.Failed, r.APICalls,
			dur(r.Phases.Read), dur(r.Phases.Plan), dur(r.Phases.Apply))
	}
	_ = tw.Flush()
}

func dur(d time.Duration) string {
	switch {
	case d == 0:
		return "-"
	case d < time.Millisecond:
		return "<1ms"
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	}
	return d.Round(100 * time.Millisecond).String()
}

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// progress shows a long run's advance on a terminal: records read, then
// operations done out of total with an ETA from the rate budget. It prints
// nothing when stderr is not a terminal.
type progress struct {
	mu    sync.Mutex
	w     io.Writer
	on    bool
	rate  float64
	last  time.Time
	shown bool
}

func newProgress(w io.Writer, rate float64) *progress {
	return &progress{w: w, on: isTerminal(w), rate: rate}
}

func (p *progress) update(pr reconcile.Progress) {
	if !p.on {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if time.Since(p.last) < 200*time.Millisecond && pr.Done != pr.Total {
		return
	}
	p.last, p.shown = time.Now(), true
	switch pr.Phase {
	case "apply":
		eta := ""
		if p.rate > 0 {
			eta = " ETA " + time.Duration(float64(pr.Total-pr.Done)/p.rate*float64(time.Second)).Round(time.Second).String()
		}
		fmt.Fprintf(p.w, "\r\033[Kapply: %d/%d operations%s", pr.Done, pr.Total, eta)
	default:
		fmt.Fprintf(p.w, "\r\033[K%s: %d records", pr.Phase, pr.Records)
	}
}

func (p *progress) done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.shown {
		fmt.Fprint(p.w, "\r\033[K")
	}
}
