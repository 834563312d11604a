package reconcile

import (
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/syncd/syncd/internal/fielderr"
)

// Safety defaults: what a job gets for a key its config does not set.
const (
	DefaultMaxDisables            = 500
	DefaultMaxDisablePercent      = 10.0
	DefaultMaxDisablePercentFloor = 10
	DefaultMaxFailuresFloor       = 3
	DefaultMaxAdoptions           = 100
	DefaultMaxDeletes             = 50
	// DefaultMaxDeletePercent is lower than the disables' 10: a delete
	// cannot be undone, and a first delete_after on an old deployment
	// finds years of leavers at once.
	DefaultMaxDeletePercent = 5.0
)

// DefaultMaxFailures is max_failures when unset: 5 % of the planned writes.
var DefaultMaxFailures = Threshold{Percent: 5, IsPct: true}

// Safety holds a job's safety thresholds. A key the config sets is honoured
// whatever its value, 0 included (DESIGN invariant 11): `max_disables: 0`
// lets no disable through without the override, `max_failures: 0` stops
// the run at the first failure. Only a key left unset takes its default.
//
// A percentage cannot trip below its floor: with few users or few writes a
// single leaver or a single failure is a large percentage, and stopping
// every run for it would make the thresholds noise.
type Safety struct {
	// MaxDisables stops a run planning strictly more disables. Default 500.
	MaxDisables int `yaml:"max_disables"`
	// MaxDisablePercent stops a run planning disables strictly above this
	// percentage of the users the job manages as active, once at least
	// MaxDisablePercentFloor disables are planned. Default 10.
	MaxDisablePercent float64 `yaml:"max_disable_percent"`
	// MaxDisablePercentFloor is how many disables a run must plan before
	// MaxDisablePercent can stop it. Default 10.
	MaxDisablePercentFloor int `yaml:"max_disable_percent_floor"`
	// MaxFailures stops the apply phase once more users than this failed: a
	// count ("100") or a percentage of the planned writes ("5%"). Default 5%.
	MaxFailures Threshold `yaml:"max_failures"`
	// MaxFailuresFloor is how many users must have failed before a
	// percentage MaxFailures can stop the run (a count needs no floor).
	// Default 3.
	MaxFailuresFloor int `yaml:"max_failures_floor"`
	// MaxAdoptions stops a run planning strictly more adoptions of
	// pre-existing PingOne users. Default 100.
	MaxAdoptions int `yaml:"max_adoptions"`
	// MaxDeletes stops a run planning strictly more deletes (after
	// deprovision.delete_after). Default 50.
	MaxDeletes int `yaml:"max_deletes"`
	// MaxDeletePercent stops a run planning deletes strictly above this
	// percentage of the users the job manages (enabled or disabled), once
	// at least MaxDisablePercentFloor deletes are planned. Default 5.
	MaxDeletePercent float64 `yaml:"max_delete_percent"`

	set safetyKeys
}

type safetyKeys uint16

const (
	setMaxDisables safetyKeys = 1 << iota
	setMaxDisablePercent
	setMaxDisablePercentFloor
	setMaxFailures
	setMaxFailuresFloor
	setMaxAdoptions
	setMaxDeletes
	setMaxDeletePercent
	setAll = setMaxDisables | setMaxDisablePercent | setMaxDisablePercentFloor | setMaxFailures | setMaxFailuresFloor | setMaxAdoptions |
		setMaxDeletes | setMaxDeletePercent
)

// SetDefaults gives every key the config left unset its default; a key set
// to 0 stays 0. Once called, every field holds the value in force, and a
// later assignment (0 included) is kept by a second call.
func (s *Safety) SetDefaults() {
	if s.set&setMaxDisables == 0 && s.MaxDisables == 0 {
		s.MaxDisables = DefaultMaxDisables
	}
	if s.set&setMaxDisablePercent == 0 && s.MaxDisablePercent == 0 {
		s.MaxDisablePercent = DefaultMaxDisablePercent
	}
	if s.set&setMaxDisablePercentFloor == 0 && s.MaxDisablePercentFloor == 0 {
		s.MaxDisablePercentFloor = DefaultMaxDisablePercentFloor
	}
	if s.set&setMaxFailures == 0 && s.MaxFailures == (Threshold{}) {
		s.MaxFailures = DefaultMaxFailures
	}
	if s.set&setMaxFailuresFloor == 0 && s.MaxFailuresFloor == 0 {
		s.MaxFailuresFloor = DefaultMaxFailuresFloor
	}
	if s.set&setMaxAdoptions == 0 && s.MaxAdoptions == 0 {
		s.MaxAdoptions = DefaultMaxAdoptions
	}
	if s.set&setMaxDeletes == 0 && s.MaxDeletes == 0 {
		s.MaxDeletes = DefaultMaxDeletes
	}
	if s.set&setMaxDeletePercent == 0 && s.MaxDeletePercent == 0 {
		s.MaxDeletePercent = DefaultMaxDeletePercent
	}
	s.set = setAll
}

// failuresExceeded reports whether failed of total planned writes is above
// max_failures, its floor taken into account.
func (s *Safety) failuresExceeded(failed, total int) bool {
	if failed == 0 {
		return false
	}
	if s.MaxFailures.IsPct && failed < s.MaxFailuresFloor {
		return false
	}
	return s.MaxFailures.Exceeded(failed, total)
}

var safetyYAMLKeys = []string{"max_disables", "max_disable_percent", "max_disable_percent_floor", "max_failures", "max_failures_floor", "max_adoptions", "max_deletes", "max_delete_percent"}

// UnmarshalYAML reads a safety block and remembers which keys it sets, so
// that an explicit 0 is not mistaken for "unset". Unknown keys are refused.
func (s *Safety) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: safety: want a mapping of %s", n.Line, strings.Join(safetyYAMLKeys, ", "))
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		known := false
		for _, name := range safetyYAMLKeys {
			known = known || k.Value == name
		}
		if !known {
			return fmt.Errorf("line %d: unknown key %s in safety (known: %s)", k.Line, k.Value, strings.Join(safetyYAMLKeys, ", "))
		}
	}
	var raw struct {
		MaxDisables            *int       `yaml:"max_disables"`
		MaxDisablePercent      *float64   `yaml:"max_disable_percent"`
		MaxDisablePercentFloor *int       `yaml:"max_disable_percent_floor"`
		MaxFailures            *Threshold `yaml:"max_failures"`
		MaxFailuresFloor       *int       `yaml:"max_failures_floor"`
		MaxAdoptions           *int       `yaml:"max_adoptions"`
		MaxDeletes             *int       `yaml:"max_deletes"`
		MaxDeletePercent       *float64   `yaml:"max_delete_percent"`
	}
	if err := n.Decode(&raw); err != nil {
		return err
	}
	*s = Safety{}
	if raw.MaxDisables != nil {
		s.MaxDisables, s.set = *raw.MaxDisables, s.set|setMaxDisables
	}
	if raw.MaxDisablePercent != nil {
		s.MaxDisablePercent, s.set = *raw.MaxDisablePercent, s.set|setMaxDisablePercent
	}
	if raw.MaxDisablePercentFloor != nil {
		s.MaxDisablePercentFloor, s.set = *raw.MaxDisablePercentFloor, s.set|setMaxDisablePercentFloor
	}
	if raw.MaxFailures != nil {
		s.MaxFailures, s.set = *raw.MaxFailures, s.set|setMaxFailures
	}
	if raw.MaxFailuresFloor != nil {
		s.MaxFailuresFloor, s.set = *raw.MaxFailuresFloor, s.set|setMaxFailuresFloor
	}
	if raw.MaxAdoptions != nil {
		s.MaxAdoptions, s.set = *raw.MaxAdoptions, s.set|setMaxAdoptions
	}
	if raw.MaxDeletes != nil {
		s.MaxDeletes, s.set = *raw.MaxDeletes, s.set|setMaxDeletes
	}
	if raw.MaxDeletePercent != nil {
		s.MaxDeletePercent, s.set = *raw.MaxDeletePercent, s.set|setMaxDeletePercent
	}
	return nil
}

// MarshalYAML writes every key (the values in force after SetDefaults).
func (s Safety) MarshalYAML() (any, error) {
	return struct {
		MaxDisables            int       `yaml:"max_disables"`
		MaxDisablePercent      float64   `yaml:"max_disable_percent"`
		MaxDisablePercentFloor int       `yaml:"max_disable_percent_floor"`
		MaxFailures            Threshold `yaml:"max_failures"`
		MaxFailuresFloor       int       `yaml:"max_failures_floor"`
		MaxAdoptions           int       `yaml:"max_adoptions"`
		MaxDeletes             int       `yaml:"max_deletes"`
		MaxDeletePercent       float64   `yaml:"max_delete_percent"`
	}{s.MaxDisables, s.MaxDisablePercent, s.MaxDisablePercentFloor, s.MaxFailures, s.MaxFailuresFloor, s.MaxAdoptions, s.MaxDeletes, s.MaxDeletePercent}, nil
}

// Validate checks the thresholds; paths are relative to the safety block.
func (s *Safety) Validate() error {
	var errs fielderr.List
	for _, c := range []struct {
		key string
		v   int
	}{{"max_disables", s.MaxDisables}, {"max_disable_percent_floor", s.MaxDisablePercentFloor}, {"max_failures_floor", s.MaxFailuresFloor}, {"max_adoptions", s.MaxAdoptions}, {"max_deletes", s.MaxDeletes}} {
		if c.v < 0 {
			errs.Add(c.key, "must not be negative")
		}
	}
	if s.MaxDisablePercent < 0 || s.MaxDisablePercent > 100 {
		errs.Add("max_disable_percent", "want 0..100, not %g", s.MaxDisablePercent)
	}
	if s.MaxDeletePercent < 0 || s.MaxDeletePercent > 100 {
		errs.Add("max_delete_percent", "want 0..100, not %g", s.MaxDeletePercent)
	}
	return errs.Err()
}
