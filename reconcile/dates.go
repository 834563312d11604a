package reconcile

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/syncd/syncd/mapper"
	"github.com/syncd/syncd/sources"
)

// Dates. A mapping that reads the date (today, daysUntil, daysSince) can
// change a user with no change in the source: a start date arrives, an end
// date passes. Such a job reads its source completely on its first run of
// each day (dateReadDue), so that an unchanged CSV file or an empty delta
// never hides the transition; and `syncd plan --until DATE` lists the
// transitions to come (Options.Until).

// maxUntilDays bounds how far ahead --until looks.
const maxUntilDays = 366

// Transition is a change the mapping will make on a future day with no
// change in the source.
type Transition struct {
	Date     string `json:"date"` // ISO
	Anchor   string `json:"anchor"`
	Username string `json:"username,omitempty"`
	// Change says what changes: "enabled false -> true", "population A ->
	// B", "title", "enters the scope", "leaves the scope", "rejected: …".
	Change string `json:"change"`
}

// dateReadDue reports whether the job's mapping reads the date and the last
// complete read was before today: the run must then read completely.
func dateReadDue(job *Job, lastFull time.Time) bool {
	m := job.Mapper
	return m != nil && m.UsesClock() && m.DayOf(lastFull).Before(m.Today())
}

// transitions maps rec on each day after today up to until and lists what
// changes from one day to the next. today is rec's mapping today.
func transitions(m *mapper.Mapper, rec sources.Record, today mapper.Result, until time.Time) []Transition {
	if !m.UsesClock() || rec.Deleted {
		return nil
	}
	start := m.Today()
	last := m.DayOf(until)
	if d := start.AddDate(0, 0, maxUntilDays); last.After(d) {
		last = d
	}
	var out []Transition
	prev := today
	for day := start.AddDate(0, 0, 1); !day.After(last); day = day.AddDate(0, 0, 1) {
		next := m.MapOn(rec, day)
		for _, c := range resultChanges(prev, next) {
			t := Transition{Date: day.Format("2006-01-02"), Anchor: rec.Anchor, Change: c}
			if next.Outcome == mapper.Mapped {
				t.Username = next.Desired.Username()
			} else if prev.Outcome == mapper.Mapped {
				t.Username = prev.Desired.Username()
			}
			out = append(out, t)
		}
		prev = next
	}
	return out
}

// resultChanges describes how b differs from a, without attribute values
// (reports carry anchors and usernames, not personal data).
func resultChanges(a, b mapper.Result) []string {
	switch {
	case a.Outcome != mapper.Mapped && b.Outcome == mapper.Mapped:
		if a.Outcome == mapper.OutOfScope {
			return []string{"enters the scope"}
		}
		return []string{"no longer rejected"}
	case a.Outcome == mapper.Mapped && b.Outcome == mapper.OutOfScope:
		return []string{"leaves the scope"}
	case b.Outcome == mapper.Rejected && (a.Outcome != mapper.Rejected || a.Reject.Reason != b.Reject.Reason):
		return []string{"rejected: " + b.Reject.Reason}
	case a.Outcome != mapper.Mapped || b.Outcome != mapper.Mapped:
		return nil
	}
	var cs []string
	da, db := a.Desired, b.Desired
	if da.Enabled != db.Enabled {
		cs = append(cs, fmt.Sprintf("enabled %t -> %t", da.Enabled, db.Enabled))
	}
	if da.Population != db.Population {
		cs = append(cs, fmt.Sprintf("population %s -> %s", da.Population, db.Population))
	}
	var attrs []string
	for _, k := range slices.Sorted(maps.Keys(db.Attributes)) {
		if da.Attributes[k] != db.Attributes[k] {
			attrs = append(attrs, k)
		}
	}
	for k := range da.Attributes {
		if _, ok := db.Attributes[k]; !ok {
			attrs = append(attrs, k)
		}
	}
	if len(attrs) > 0 {
		cs = append(cs, "changes "+strings.Join(attrs, ", "))
	}
	return cs
}
