//go:build !unix

package mapper

import "time"

// cpuTime is unknown here: the records/cpu-s metric is not reported.
func cpuTime() time.Duration { return 0 }
