package config_test

import (
	"strings"
	"testing"
	"time"
)

// The mapping's today() (and with it the day's complete read of a dated
// mapping) follows daemon.timezone, not the system time zone.
func TestDatedMappingReadsTheDateInDaemonTimezone(t *testing.T) {
	// Kiritimati (UTC+14) and Pago Pago (UTC-11) are 25 hours apart: their
	// dates always differ, so one of them differs from the system's date.
	zone := "Pacific/Kiritimati"
	if civil(time.Now().In(mustZone(t, zone))) == civil(time.Now()) {
		zone = "Pacific/Pago_Pago"
	}
	yaml := strings.Replace(minimal, "mapping: {username: uid, email: mail}",
		`mapping: {username: uid, email: mail, title: 'today()'}`, 1) + "daemon:\n  timezone: " + zone + "\n"
	c, err := parse(t, yaml, nil)
	if err != nil {
		t.Fatal(err)
	}
	m := c.Jobs[0].Mapper
	if !m.UsesClock() {
		t.Fatal("the mapping calls today() but UsesClock is false")
	}
	want := civil(time.Now().In(mustZone(t, zone)))
	if got := m.Today(); !got.Equal(want) {
		t.Errorf("today() = %s with daemon.timezone %s, want %s (the system zone's date is %s)",
			got.Format(time.DateOnly), zone, want.Format(time.DateOnly), civil(time.Now()).Format(time.DateOnly))
	}
}

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// civil is t's calendar date as midnight UTC (as the mapper's Today).
func civil(t time.Time) time.Time {
	y, m, d := t.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}
