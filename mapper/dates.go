package mapper

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/syncd/syncd/sources"
)

// HR dates. date(value, layout) turns a date as an HR export writes it into
// ISO 8601 ("2026-12-24"); today(), daysUntil(d) and daysSince(d) read the
// Mapper's clock. Dates are calendar dates: "today" is the clock's date in
// the clock's time zone, and day counts never see a daylight-saving hour.
//
// Expressions never see the clock: the compiler rewrites today(),
// daysUntil(d) and daysSince(d) into hidden calls taking $env, which
// carries the day of the evaluation (Mapper.MapOn maps on any day).

// Hidden clock functions (rewrite targets).
const (
	fnToday     = "__today"
	fnDaysUntil = "__daysUntil"
	fnDaysSince = "__daysSince"
)

// clockFuncs maps the user-facing clock functions to their hidden targets.
var clockFuncs = map[string]string{"today": fnToday, "daysUntil": fnDaysUntil, "daysSince": fnDaysSince}

// Option adjusts a Mapper built by Compile.
type Option func(*Mapper)

// WithClock sets the clock today(), daysUntil and daysSince read (default
// time.Now, in the local time zone).
func WithClock(now func() time.Time) Option { return func(m *Mapper) { m.now = now } }

// UsesClock reports whether an expression of the mapping reads the date
// (today, daysUntil, daysSince): its result may then change from one day
// to the next with no change in the source.
func (m *Mapper) UsesClock() bool { return m.usesClock }

// Today returns the mapper's current calendar date (midnight UTC of the
// clock's local date).
func (m *Mapper) Today() time.Time { return civil(m.clock()) }

func (m *Mapper) clock() time.Time {
	if m.now != nil {
		return m.now()
	}
	return time.Now()
}

// MapOn maps rec as Map does, as if today were day's calendar date.
func (m *Mapper) MapOn(rec sources.Record, day time.Time) Result {
	return m.mapRecordOn(rec, nil, civil(day))
}

// civil is t's calendar date as midnight UTC, so that dates subtract to
// whole days.
func civil(t time.Time) time.Time {
	y, mo, d := t.Date()
	return time.Date(y, mo, d, 0, 0, 0, 0, time.UTC)
}

// isoDay is the layout of the dates the functions return.
const isoDay = "2006-01-02"

// namedLayouts are date layouts HR exports and directories use, by name.
var namedLayouts = map[string]string{
	"iso":         isoDay,
	"rfc3339":     time.RFC3339,
	"generalized": "20060102150405Z0700", // LDAP generalizedTime, e.g. 20261224000000Z
}

// tokenLayout translates an HR-style layout (YYYY, YY, MM, M, DD, D, and
// literal separators) into a Go layout. A layout without those tokens is
// taken as a Go layout ("02/01/2006").
func tokenLayout(layout string) string {
	if l, ok := namedLayouts[strings.ToLower(layout)]; ok {
		return l
	}
	var b strings.Builder
	for i := 0; i < len(layout); {
		rest := layout[i:]
		switch {
		case strings.HasPrefix(rest, "YYYY"):
			b.WriteString("2006")
			i += 4
		case strings.HasPrefix(rest, "YY"):
			b.WriteString("06")
			i += 2
		case strings.HasPrefix(rest, "MM"):
			b.WriteString("01")
			i += 2
		case strings.HasPrefix(rest, "DD"):
			b.WriteString("02")
			i += 2
		case rest[0] == 'M':
			b.WriteString("1")
			i++
		case rest[0] == 'D':
			b.WriteString("2")
			i++
		default:
			b.WriteByte(rest[0])
			i++
		}
	}
	return b.String()
}

// excelEpoch is day 0 of Excel's 1900 date system (serial 1 is 1900-01-01,
// shifted by Excel's phantom 1900-02-29).
var excelEpoch = time.Date(1899, 12, 30, 0, 0, 0, 0, time.UTC)

// fileTimeEpoch is where Active Directory's 100-ns FILETIME counts from.
var fileTimeEpoch = time.Date(1601, 1, 1, 0, 0, 0, 0, time.UTC)

// parseDate reads value in layout: a named layout (iso, rfc3339,
// generalized, excel, filetime), an HR token layout (DD/MM/YYYY,
// MM/DD/YYYY, DD.MM.YYYY, YYYYMMDD, D/M/YY, ...) or a Go layout. It
// returns the calendar date.
func parseDate(value, layout string) (time.Time, error) {
	value = strings.TrimSpace(value)
	switch strings.ToLower(layout) {
	case "excel":
		f, err := strconv.ParseFloat(value, 64)
		if err != nil || f < 1 || f > 2958465 { // 9999-12-31
			return time.Time{}, fmt.Errorf("%q is not an Excel date serial number", value)
		}
		return excelEpoch.AddDate(0, 0, int(f)), nil
	case "filetime":
		n, err := strconv.ParseInt(value, 10, 64)
		if err != nil || n <= 0 || n == 1<<63-1 {
			// 0 and 0x7FFFFFFFFFFFFFFF mean "never" in accountExpires.
			return time.Time{}, fmt.Errorf("%q is not a FILETIME date (0 and 9223372036854775807 mean never)", value)
		}
		days := n / (864_000_000_000)
		return fileTimeEpoch.AddDate(0, 0, int(days)), nil
	}
	t, err := time.Parse(tokenLayout(layout), value)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q does not match the layout %q", value, layout)
	}
	return civil(t), nil
}

// parseDay reads a date the functions accept without a layout: ISO
// (2026-12-24), an RFC 3339 time, YYYYMMDD or an LDAP generalizedTime.
func parseDay(value string) (time.Time, error) {
	value = strings.TrimSpace(value)
	if value == "" {
		return time.Time{}, fmt.Errorf("empty date (test it first: d == \"\" || ...)")
	}
	for _, l := range []string{isoDay, time.RFC3339, "20060102", "20060102150405Z0700", "20060102150405.0Z0700"} {
		if t, err := time.Parse(l, value); err == nil {
			return civil(t), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not an ISO date (2026-12-24): convert it with date(value, layout)", value)
}

// dateFn is date(value, layout): "" for "", else the ISO date.
func dateFn(args ...any) (any, error) {
	v, err := strArg("date", args, 0)
	if err != nil {
		return nil, err
	}
	layout, err := strArg("date", args, 1)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(v) == "" {
		return "", nil
	}
	t, err := parseDate(v, layout)
	if err != nil {
		return nil, fmt.Errorf("date: %w", err)
	}
	return t.Format(isoDay), nil
}

// dayOf returns the evaluation's day from $env.
func dayOf(args []any) (time.Time, error) {
	e, err := envArg(args)
	if err != nil {
		return time.Time{}, err
	}
	if e.today.IsZero() {
		return time.Time{}, fmt.Errorf("internal: expression evaluated without its day")
	}
	return e.today, nil
}

// daysBetween counts calendar days from a to b.
func daysBetween(a, b time.Time) int { return int(b.Sub(a) / (24 * time.Hour)) }

func clockFunctions() []function {
	days := func(name string, until bool) func(args ...any) (any, error) {
		return func(args ...any) (any, error) {
			today, err := dayOf(args)
			if err != nil {
				return nil, err
			}
			s, err := strArg(name, args, 1)
			if err != nil {
				return nil, err
			}
			d, err := parseDay(s)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			if until {
				return daysBetween(today, d), nil
			}
			return daysBetween(d, today), nil
		}
	}
	return []function{
		{name: fnToday, types: []any{new(func(any) string)}, fn: func(args ...any) (any, error) {
			today, err := dayOf(args)
			if err != nil {
				return nil, err
			}
			return today.Format(isoDay), nil
		}},
		{name: fnDaysUntil, types: []any{new(func(any, string) int)}, fn: days("daysUntil", true)},
		{name: fnDaysSince, types: []any{new(func(any, string) int)}, fn: days("daysSince", false)},
		{name: "today", types: []any{new(func() string)}, fn: notRewritten("today"),
			doc: `today(): the current date, ISO ("2026-12-05"), in the clock's time zone`},
		{name: "daysUntil", types: []any{new(func(string) int)}, fn: notRewritten("daysUntil"),
			doc: `daysUntil(d): days from today to the ISO date d (negative once it has passed); fails on "" and on a date that is not ISO (convert it with date)`},
		{name: "daysSince", types: []any{new(func(string) int)}, fn: notRewritten("daysSince"),
			doc: `daysSince(d): days from the ISO date d to today (negative before it); fails on "" and on a date that is not ISO`},
		{name: "date", types: []any{new(func(string, string) string)}, fn: dateFn,
			doc: `date(value, layout): value as an ISO date ("" for ""); layout is DD/MM/YYYY, MM/DD/YYYY, DD.MM.YYYY, YYYYMMDD, D/M/YY (any separators), iso, rfc3339, generalized (LDAP), excel (serial number), filetime (AD accountExpires) or a Go layout`},
	}
}

// DayOf returns t's calendar date in the clock's time zone.
func (m *Mapper) DayOf(t time.Time) time.Time { return civil(t.In(m.clock().Location())) }
