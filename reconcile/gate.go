package reconcile

import (
	"fmt"
	"strings"
)

// GateError is returned when the safety gate stops a run before its first
// write (DESIGN invariant 7). Nothing was written to PingOne or state.
type GateError struct {
	Job          string
	Disables     int     // disables planned
	Active       int     // users the job managed as active before the run
	MaxDisables  int     // safety.max_disables
	MaxPercent   float64 // safety.max_disable_percent
	PercentFloor int     // safety.max_disable_percent_floor
	EmptySource  bool    // a complete read returned no records
	// Adoptions planned and safety.max_adoptions; MassAdoption is set when
	// they, not the disables, tripped the gate.
	Adoptions      int
	MaxAdoptions   int
	MassAdoption   bool
	ManagedEnabled int
	// Deletes planned (deprovision.delete_after), the users the job
	// manages, safety.max_deletes and max_delete_percent; MassDelete is
	// set when they tripped the gate.
	Deletes          int     `json:"deletes,omitempty"`
	Managed          int     `json:"managed,omitempty"`
	MaxDeletes       int     `json:"max_deletes,omitempty"`
	MaxDeletePercent float64 `json:"max_delete_percent,omitempty"`
	MassDelete       bool    `json:"mass_delete,omitempty"`
	// Memberships is set when the membership gate (groups.safety) tripped.
	Memberships *MembershipGate `json:"memberships,omitempty"`
}

func (e *GateError) Error() string {
	if e.Memberships != nil {
		return e.Memberships.message(e.Job)
	}
	if e.MassDelete {
		return e.deleteMessage()
	}
	if e.EmptySource {
		return fmt.Sprintf("safety gate: a complete read of the source returned no records while the job manages %d active users; "+
			"nothing was written (check the source; if every user really left, re-run with --allow-mass-disable)", e.Active)
	}
	if e.MassAdoption {
		return fmt.Sprintf("safety gate: %d adoptions of pre-existing PingOne users planned exceeds safety.max_adoptions=%d; "+
			"nothing was written (review with `syncd plan`, then re-run with --allow-mass-adoption or raise the limit)",
			e.Adoptions, e.MaxAdoptions)
	}
	pct := 0.0
	if e.Active > 0 {
		pct = 100 * float64(e.Disables) / float64(e.Active)
	}
	var why []string
	if e.Disables > e.MaxDisables {
		why = append(why, fmt.Sprintf("safety.max_disables=%d", e.MaxDisables))
	}
	if len(why) == 0 {
		why = append(why, fmt.Sprintf("safety.max_disable_percent=%g (from %d disables on: safety.max_disable_percent_floor)", e.MaxPercent, e.PercentFloor))
	}
	return fmt.Sprintf("safety gate: %d disables planned (%.1f%% of %d active users) exceeds %s; "+
		"nothing was written (review with `syncd plan`, then re-run with --allow-mass-disable or raise the limits)",
		e.Disables, pct, e.Active, strings.Join(why, " and "))
}

// gate checks a plan against the thresholds. active counts the users the job
// managed as active in state before the run; records is how many records the
// source yielded (rejects included). allowDisable and allowAdoption are the
// run's overrides.
func gate(job string, s Safety, ops []Op, active, records int, complete, allowDisable, allowAdoption bool) *GateError {
	disables, adoptions := 0, 0
	for i := range ops {
		if ops[i].Has(ActDisable) {
			disables++
		}
		if ops[i].Has(ActAdopt) {
			adoptions++
		}
	}
	e := &GateError{Job: job, Disables: disables, Active: active, MaxDisables: s.MaxDisables, MaxPercent: s.MaxDisablePercent,
		PercentFloor: s.MaxDisablePercentFloor, Adoptions: adoptions, MaxAdoptions: s.MaxAdoptions}
	if !allowDisable {
		if complete && records == 0 && active > 0 {
			e.EmptySource = true
			return e
		}
		if disables > s.MaxDisables {
			return e
		}
		if active > 0 && disables >= s.MaxDisablePercentFloor && float64(disables) > s.MaxDisablePercent*float64(active)/100 {
			return e
		}
	}
	if !allowAdoption && adoptions > s.MaxAdoptions {
		e.MassAdoption = true
		return e
	}
	return nil
}
