package main

import (
	"testing"

	"github.com/syncd/syncd/config"
	"github.com/syncd/syncd/sources/ldapsource"
)

// TestJobDigestIgnoresWatchMethod: choosing how a watch learns of changes
// does not invalidate the job's cursor (a full read), while a setting that
// changes what a read returns does.
func TestJobDigestIgnoresWatchMethod(t *testing.T) {
	job := func(mut func(*ldapsource.Config)) *config.Job {
		l := &ldapsource.Config{URL: "ldaps://dc.example", BaseDN: ldapsource.DNList{"OU=Staff,DC=example"}, Anchor: "objectGUID"}
		mut(l)
		return &config.Job{Name: "ad", Source: config.Source{LDAP: l}}
	}
	base := jobDigest(job(func(*ldapsource.Config) {}))
	for _, m := range []string{ldapsource.WatchAuto, ldapsource.WatchNotify, ldapsource.WatchPoll} {
		j := job(func(c *ldapsource.Config) { c.WatchMethod = m })
		if d := jobDigest(j); d != base {
			t.Errorf("watch_method %s: digest %s, want %s", m, d, base)
		}
		if j.Source.LDAP.WatchMethod != m {
			t.Errorf("jobDigest changed the job's watch_method to %q", j.Source.LDAP.WatchMethod)
		}
	}
	if d := jobDigest(job(func(c *ldapsource.Config) { c.Filter = "(objectClass=user)" })); d == base {
		t.Error("a different filter kept the digest")
	}
}
