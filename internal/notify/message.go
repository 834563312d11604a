package notify

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/syncd/syncd/reconcile"
)

// maxReasons is how many reasons a message carries.
const maxReasons = 5

// Events returns the events a run's report raises, summary last.
func Events(rep *reconcile.Report) []string {
	var evs []string
	switch {
	case rep.Status == reconcile.StatusGated, len(rep.Held) > 0: // held: the watch's gate
		evs = append(evs, EventGate)
	}
	if rep.Status == reconcile.StatusFailed {
		evs = append(evs, EventFailed)
	}
	if rep.Counts.Rejected > 0 || rep.Counts.Failed > 0 {
		evs = append(evs, EventRejects)
	}
	return append(evs, EventSummary)
}

// Message is the JSON format's body.
type Message struct {
	Event         string           `json:"event"`
	Job           string           `json:"job"`
	RunID         int64            `json:"run_id,omitempty"`
	TransactionID string           `json:"transaction_id,omitempty"`
	Status        string           `json:"status"`
	Counts        reconcile.Counts `json:"counts"`
	// Reasons are the first reasons (the gate's, the run's error, or
	// rejected and failed users by anchor, username and attribute: never a
	// value).
	Reasons []string  `json:"reasons,omitempty"`
	Time    time.Time `json:"time"`
}

// NewMessage builds the message of one event of rep.
func NewMessage(event string, rep *reconcile.Report) Message {
	m := Message{Event: event, Job: rep.Job, RunID: rep.RunID, TransactionID: rep.TransactionID, Status: rep.Status,
		Counts: rep.Counts, Time: rep.FinishedAt.UTC()}
	switch event {
	case EventGate:
		if rep.Gate != nil {
			m.Reasons = append(m.Reasons, clip(rep.Gate.Error(), 500))
		}
		if len(rep.Held) > 0 {
			m.Reasons = append(m.Reasons, clip(rep.Held[0].Gate, 500))
		}
	case EventFailed:
		m.Reasons = append(m.Reasons, clip(rep.Error, 500))
	case EventRejects, EventSummary:
		for _, f := range rep.Failures {
			if len(m.Reasons) == maxReasons {
				break
			}
			m.Reasons = append(m.Reasons, fmt.Sprintf("failed: anchor=%s username=%s (%s)", f.Anchor, f.Username, actions(f.Actions)))
		}
		for _, r := range rep.Rejects {
			if len(m.Reasons) == maxReasons {
				break
			}
			s := "rejected: anchor=" + r.Anchor
			if r.Attribute != "" {
				s += " attribute=" + r.Attribute
			}
			m.Reasons = append(m.Reasons, s)
		}
		if event == EventSummary && rep.Error != "" && len(m.Reasons) < maxReasons {
			m.Reasons = append([]string{clip(rep.Error, 500)}, m.Reasons...)
		}
	}
	return m
}

func actions(as []reconcile.Action) string {
	s := make([]string, len(as))
	for i, a := range as {
		s[i] = string(a)
	}
	return strings.Join(s, "+")
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// Body renders the message of one event in format.
func Body(format, event string, rep *reconcile.Report) ([]byte, error) {
	m := NewMessage(event, rep)
	switch format {
	case FormatSlack:
		return json.Marshal(map[string]string{"text": title(m) + "\n" + text(m)})
	case FormatTeams:
		return json.Marshal(map[string]any{
			"@type": "MessageCard", "@context": "https://schema.org/extensions",
			"summary": title(m), "title": title(m), "text": strings.ReplaceAll(text(m), "\n", "\n\n"),
			"themeColor": map[bool]string{true: "D13438", false: "2EB886"}[event != EventSummary || m.Status != reconcile.StatusSucceeded],
		})
	}
	return json.Marshal(m)
}

func title(m Message) string {
	what := map[string]string{EventGate: "stopped by the safety gate", EventFailed: "failed", EventRejects: "has rejected or failed users", EventSummary: m.Status}[m.Event]
	if m.RunID != 0 {
		return fmt.Sprintf("syncd job %s: run %d %s", m.Job, m.RunID, what)
	}
	return fmt.Sprintf("syncd job %s: %s", m.Job, what)
}

func text(m Message) string {
	c := m.Counts
	var b strings.Builder
	fmt.Fprintf(&b, "created %d, updated %d, enabled %d, disabled %d, moved %d, rejected %d, failed %d",
		c.Created, c.Updated, c.Enabled, c.Disabled, c.Moved, c.Rejected, c.Failed)
	for _, r := range m.Reasons {
		b.WriteString("\n- " + r)
	}
	return b.String()
}
