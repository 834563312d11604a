package reconcile_test

import (
	"strings"
	"testing"

	"github.com/syncd/syncd/mapper"
	"github.com/syncd/syncd/reconcile"
)

// A population rule naming a population that does not exist rejects only
// the records it routes there, with a reason naming it; the run goes on.
func TestPopulationRuleNamingAMissingPopulationRejectsOnlyItsRecords(t *testing.T) {
	backends(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend, func(c *mapper.Config) {
			c.Population.Rules = append([]mapper.PopulationRule{{When: `dept == "lab"`, Population: "Laboratory"}}, c.Population.Rules...)
		})
		rows := people(10)
		rows[3][7], rows[7][7] = "lab", "lab"
		e.write(rows)
		rep, err := e.run(reconcile.Options{})
		if err != nil {
			t.Fatalf("run failed: %v", err)
		}
		if rep.Counts.Created != 8 || rep.Counts.Rejected != 2 {
			t.Fatalf("counts = %+v, want 8 created, 2 rejected", rep.Counts)
		}
		for _, r := range rep.Rejects {
			if (r.Anchor != "id-d" && r.Anchor != "id-h") || !strings.Contains(r.Reason, `"Laboratory"`) {
				t.Errorf("reject %+v: want id-d and id-h, naming \"Laboratory\"", r)
			}
		}
		if n := len(e.users()); n != 8 {
			t.Errorf("PingOne has %d users, want 8", n)
		}
	})
}
