package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Period is a length of time that may run to years: a whole number of days
// ("400d"), weeks ("26w") or years of 365 days ("3y"), or a Go duration
// ("36h", "90m").
type Period time.Duration

// Duration returns p as a time.Duration.
func (p Period) Duration() time.Duration { return time.Duration(p) }

// String prints whole days as "Nd", anything else as a Go duration.
func (p Period) String() string {
	d := time.Duration(p)
	if d != 0 && d%(24*time.Hour) == 0 {
		return strconv.FormatInt(int64(d/(24*time.Hour)), 10) + "d"
	}
	return d.String()
}

// maxPeriodDays bounds a Period (about 1000 years) so it cannot overflow.
const maxPeriodDays = 365_000

// ParsePeriod reads "400d", "26w", "3y" or a Go duration. Negative periods
// are refused.
func ParsePeriod(s string) (Period, error) {
	s = strings.TrimSpace(s)
	for suffix, unit := range map[string]int64{"d": 1, "w": 7, "y": 365} {
		if n, ok := strings.CutSuffix(s, suffix); ok && n != "" && strings.Trim(n, "0123456789") == "" {
			v, err := strconv.ParseInt(n, 10, 64)
			if err != nil || v*unit > maxPeriodDays {
				return 0, fmt.Errorf("period %q: too long (at most %d days)", s, maxPeriodDays)
			}
			return Period(time.Duration(v*unit) * 24 * time.Hour), nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("period %q: want a number of days (400d), weeks (26w), years (3y) or a duration (36h)", s)
	}
	if d < 0 {
		return 0, fmt.Errorf("period %q: negative", s)
	}
	return Period(d), nil
}

// UnmarshalYAML reads a Period from a scalar.
func (p *Period) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if err := n.Decode(&s); err != nil {
		return err
	}
	v, err := ParsePeriod(s)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*p = v
	return nil
}

// MarshalYAML writes p as String does.
func (p Period) MarshalYAML() (any, error) { return p.String(), nil }

// DefaultJournalRetention is state.journal_retention's default: 400 days,
// a year of history with a margin, against PingOne's 14 days of audit.
const DefaultJournalRetention = Period(400 * 24 * time.Hour)

// Deprovision is a job's deprovision block: what becomes of the users syncd
// disabled (reconcile/deletes.go).
type Deprovision struct {
	// DeleteAfter deletes a user syncd disabled this long ago and that is
	// still absent from the source, out of the job's scope, or disabled
	// there ("180d", "2y"). Default: never (nil).
	DeleteAfter *Period `yaml:"delete_after"`
}
