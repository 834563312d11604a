package reconcile

import (
	"fmt"
)

// GateError is returned when the safety gate stops a run before its first
// write (DESIGN invariant 7). Nothing was written to PingOne or state.
type GateError struct {
	Job            string
	Disables       int     // disables planned
	Active         int     // users the job managed as active before the run
	MaxDisables    int     // safety.max_disables
	MaxPercent     float64 // safety.max_disable_percent
	EmptySource    bool    // a complete read returned no records
	ManagedEnabled int
}

func (e *GateError) Error() string {
	if e.EmptySource {
		return fmt.Sprintf("safety gate: a complete read of the source returned no records while the job manages %d active users; "+
			"nothing was written (check the source; if every user really left, re-run with --allow-mass-disable)", e.Active)
	}
	pct := 0.0
	if e.Active > 0 {
		pct = 100 * float64(e.Disables) / float64(e.Active)
	}
	return fmt.Sprintf("safety gate: %d disables planned (%.1f%% of %d active users) exceeds safety.max_disables=%d or safety.max_disable_percent=%g; "+
		"nothing was written (review with `syncd plan`, then re-run with --allow-mass-disable or raise the limits)",
		e.Disables, pct, e.Active, e.MaxDisables, e.MaxPercent)
}

// Safety holds a job's safety thresholds.
type Safety struct {
	// MaxDisables stops a run planning strictly more disables. Default 500.
	MaxDisables int `yaml:"max_disables"`
	// MaxDisablePercent stops a run planning disables strictly above this
	// percentage of the users the job manages as active. Default 10.
	MaxDisablePercent float64 `yaml:"max_disable_percent"`
	// MaxFailures stops the apply phase once more users than this failed: a
	// count ("100") or a percentage of the planned writes ("5%"). Default 5%.
	MaxFailures Threshold `yaml:"max_failures"`
}

// gate checks a plan against the thresholds. active counts the users the job
// managed as active in state before the run; records is how many records the
// source yielded (rejects included).
func gate(job string, s Safety, ops []Op, active, records int, complete bool) *GateError {
	disables := 0
	for i := range ops {
		if ops[i].Has(ActDisable) {
			disables++
		}
	}
	e := &GateError{Job: job, Disables: disables, Active: active, MaxDisables: s.MaxDisables, MaxPercent: s.MaxDisablePercent}
	if complete && records == 0 && active > 0 {
		e.EmptySource = true
		return e
	}
	if disables > s.MaxDisables {
		return e
	}
	if active > 0 && float64(disables) > s.MaxDisablePercent*float64(active)/100 {
		return e
	}
	return nil
}
