package daemon_test

import (
	"strings"
	"testing"

	"github.com/syncd/syncd/daemon"
)

// FuzzValidateJobs feeds schedule specs from a config file (a stranger's
// input) to the validator: it must never panic or hang, and it must name
// the job whenever it refuses one.
func FuzzValidateJobs(f *testing.F) {
	for _, s := range []string{
		"*/15 * * * *", "@every 15m", "@hourly", "@daily", "CRON_TZ=Europe/Paris 0 3 * * 1-5",
		"0 0 30 2 *", "61 * * * *", "@every -1s", "@every 0s", "", "* * * * * *", "TZ=Nowhere/City * * * * *",
		"0-59/0 * * * *", "5-1 * * * *", "@every 1000000h", "*/1 */1 */1 */1 */1",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		err := daemon.ValidateJobs([]daemon.Job{{Name: "fuzz", Schedule: spec}})
		if err != nil && !strings.Contains(err.Error(), `job "fuzz"`) {
			t.Errorf("error %q does not name the job", err)
		}
	})
}
