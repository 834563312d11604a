package mapper

import (
	"strings"
	"testing"
	"time"

	"github.com/syncd/syncd/sources"
)

func TestDateFunctions(t *testing.T) {
	t.Parallel()
	// 00:30 in Paris on 5 December is still the 4th in UTC: today()
	// follows the clock's zone.
	paris, _ := time.LoadLocation("Europe/Paris")
	now := time.Date(2026, 12, 5, 0, 30, 0, 0, paris)
	m, err := Compile(Config{
		Mapping: map[string]string{
			"username": "uid", "email": "mail",
			"title": `date(hired, "DD/MM/YYYY") + "|" + date(usDate, "MM/DD/YYYY") + "|" + date(sap, "YYYYMMDD") + "|" + date(de, "D.M.YY") + "|" +
				date(xl, "excel") + "|" + date(ft, "filetime") + "|" + date(gt, "generalized") + "|" + date(empty, "iso") + "|" + today() + "|" +
				string(daysUntil(date(hired, "DD/MM/YYYY"))) + "|" + string(daysSince("2026-12-01"))`,
		},
		Population: Population{Name: "Staff"},
	}, WithClock(func() time.Time { return now }))
	if err != nil {
		t.Fatal(err)
	}
	if !m.UsesClock() {
		t.Error("UsesClock = false for a mapping calling today()")
	}
	rec := sources.Record{Anchor: "a", Attrs: map[string][]string{
		"uid": {"u"}, "mail": {"u@example.com"}, "hired": {"24/12/2026"}, "usdate": {"12/24/2026"}, "sap": {"20261224"},
		"de": {"4.1.27"}, "xl": {"46380"}, "ft": {"134116992000000000"}, "gt": {"20261224000000Z"},
	}}
	res := m.Map(rec)
	if res.Outcome != Mapped {
		t.Fatalf("Map: %+v", res.Reject)
	}
	want := "2026-12-24|2026-12-24|2026-12-24|2027-01-04|2026-12-24|2026-01-01|2026-12-24||2026-12-05|19|4"
	if got := res.Desired.Attributes["title"]; got != want {
		t.Errorf("title = %q\nwant    %q", got, want)
	}
	plain, err := Compile(Config{Mapping: map[string]string{"username": "uid", "email": "mail"}, Population: Population{Name: "Staff"}})
	if err != nil || plain.UsesClock() {
		t.Errorf("UsesClock of a mapping without dates = %v, %v", plain.UsesClock(), err)
	}

	for _, bad := range []struct{ expr, want string }{
		{`date("31/02/2026", "DD/MM/YYYY")`, "does not match"},
		{`date("x", "excel")`, "Excel"},
		{`date("0", "filetime")`, "never"},
		{`string(daysUntil(""))`, "empty date"},
		{`string(daysSince("24/12/2026"))`, "not an ISO date"},
	} {
		m, err := Compile(Config{Mapping: map[string]string{"username": "uid", "email": "mail", "title": bad.expr}, Population: Population{Name: "Staff"}},
			WithClock(func() time.Time { return now }))
		if err != nil {
			t.Fatalf("%s: %v", bad.expr, err)
		}
		res := m.Map(rec)
		if res.Outcome != Rejected || !strings.Contains(res.Reject.Reason, bad.want) {
			t.Errorf("%s: outcome %v, reject %q; want a reject saying %q", bad.expr, res.Outcome, res.Reject.Reason, bad.want)
		}
	}
}

// The example: pre-hires, future leavers and leaves of absence.
func TestDatesDriveEnabled(t *testing.T) {
	t.Parallel()
	m, err := Compile(Config{
		Mapping:    map[string]string{"username": "uid", "email": "mail"},
		Population: Population{Name: "Staff"},
		Enabled:    `daysUntil(startDate) <= 0 && (endDate == "" || daysSince(endDate) < 0)`,
	})
	if err != nil {
		t.Fatal(err)
	}
	rec := func(start, end string) sources.Record {
		return sources.Record{Anchor: "a", Attrs: map[string][]string{"uid": {"u"}, "mail": {"u@example.com"}, "startdate": {start}, "enddate": {end}}}
	}
	day := func(s string) time.Time { t, _ := time.Parse("2006-01-02", s); return t }
	for _, tt := range []struct {
		start, end, on string
		enabled        bool
	}{
		{"2027-01-04", "", "2026-12-05", false}, // pre-hire
		{"2027-01-04", "", "2027-01-03", false},
		{"2027-01-04", "", "2027-01-04", true}, // first day
		{"2026-01-01", "2026-12-31", "2026-12-30", true},
		{"2026-01-01", "2026-12-31", "2026-12-31", false}, // the end date is the first day without access
		{"2026-01-01", "2026-12-31", "2027-01-01", false},
	} {
		res := m.MapOn(rec(tt.start, tt.end), day(tt.on))
		if res.Outcome != Mapped || res.Desired.Enabled != tt.enabled {
			t.Errorf("start %s end %q on %s: %v enabled=%v, want %v (%+v)", tt.start, tt.end, tt.on, res.Outcome, res.Desired.Enabled, tt.enabled, res.Reject)
		}
	}
}

func FuzzParseDate(f *testing.F) {
	for _, s := range [][2]string{{"24/12/2026", "DD/MM/YYYY"}, {"46380", "excel"}, {"134116992000000000", "filetime"},
		{"20261224000000Z", "generalized"}, {"2026-12-24", "iso"}, {"1.1.1", "D.M.YY"}, {"9e99", "excel"}, {"-1", "filetime"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, value, layout string) {
		d, err := parseDate(value, layout)
		if err == nil && (d.Hour() != 0 || d.Location() != time.UTC) {
			t.Fatalf("parseDate(%q, %q) = %v: not a calendar date", value, layout, d)
		}
		if d2, err := parseDay(value); err == nil && d2.Format(isoDay) == "" {
			t.Fatalf("parseDay(%q) = %v", value, d2)
		}
	})
}
