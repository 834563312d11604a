package mapper

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"go.yaml.in/yaml/v3"
)

// Config is one job's mapping schema. Its YAML keys are a user-facing
// contract:
//
//	mapping:
//	  username: lower(uid)
//	  email: mail
//	  name.given: givenName
//	custom_attributes: [costCenter]
//	scope: 'not adDisabled(userAccountControl)'
//	population:
//	  - when: 'dnValue(dn, "ou") == "Contractors"'
//	    population: Contractors
//	  - population: Employees
//	enabled: 'adEnabled(userAccountControl)'
type Config struct {
	// Mapping maps a PingOne attribute path (username, name.given, a
	// declared custom attribute) to the expression computing its value.
	// username and email are required. externalId defaults to the anchor.
	Mapping map[string]string `yaml:"mapping" json:"mapping"`
	// CustomAttributes lists the custom PingOne attribute names that may
	// appear as Mapping keys (they must exist in the environment's schema).
	CustomAttributes []string `yaml:"custom_attributes" json:"custom_attributes,omitempty"`
	// Scope is an optional boolean expression; a record for which it is
	// false is out of scope (not managed). Default: every record.
	Scope string `yaml:"scope" json:"scope,omitempty"`
	// Population is the population users are placed in: a constant name or
	// id, or rules evaluated in order (first match wins). Required.
	Population Population `yaml:"population" json:"population"`
	// Enabled is an optional boolean expression saying whether the user is
	// enabled in PingOne. Default: true.
	Enabled string `yaml:"enabled" json:"enabled,omitempty"`
}

// Validate compiles the configuration and reports every problem at once,
// each as an internal/fielderr error with a path relative to the job.
func (c Config) Validate() error {
	_, err := Compile(c)
	return err
}

// Population is either a constant population (Name: a population name or
// UUID) or an ordered list of Rules; in YAML a scalar or a list.
type Population struct {
	Name  string
	Rules []PopulationRule
}

// PopulationRule places records for which When is true in Population.
// The last rule may omit When: it matches every record.
type PopulationRule struct {
	When       string `yaml:"when,omitempty" json:"when,omitempty"`
	Population string `yaml:"population" json:"population"`
}

// UnmarshalYAML reads a scalar (constant population) or a list of rules,
// refusing unknown keys in rules.
func (p *Population) UnmarshalYAML(n *yaml.Node) error {
	*p = Population{}
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return nil
		}
		p.Name = n.Value
		return nil
	case yaml.SequenceNode:
		for i, item := range n.Content {
			if item.Kind != yaml.MappingNode {
				return fmt.Errorf("population[%d]: want a rule {when: <expression>, population: <name or id>} (line %d)", i, item.Line)
			}
			var r PopulationRule
			for k := 0; k+1 < len(item.Content); k += 2 {
				key, val := item.Content[k], item.Content[k+1]
				if val.Kind != yaml.ScalarNode {
					return fmt.Errorf("population[%d].%s: want a string (line %d)", i, key.Value, val.Line)
				}
				switch key.Value {
				case "when":
					r.When = val.Value
				case "population":
					r.Population = val.Value
				default:
					return fmt.Errorf("population[%d]: unknown key %q (want when, population) (line %d)", i, key.Value, key.Line)
				}
			}
			p.Rules = append(p.Rules, r)
		}
		if p.Rules == nil {
			p.Rules = []PopulationRule{}
		}
		return nil
	}
	return fmt.Errorf("population: want a population name or id, or a list of {when, population} rules (line %d)", n.Line)
}

// MarshalYAML writes the scalar or list form back.
func (p Population) MarshalYAML() (any, error) {
	if p.Rules != nil {
		return p.Rules, nil
	}
	return p.Name, nil
}

// MarshalJSON writes the string or list form, like MarshalYAML.
func (p Population) MarshalJSON() ([]byte, error) {
	if p.Rules != nil {
		return json.Marshal(p.Rules)
	}
	return json.Marshal(p.Name)
}

// UnmarshalJSON reads a string or a list of rules.
func (p *Population) UnmarshalJSON(b []byte) error {
	*p = Population{}
	if bytes.Equal(bytes.TrimSpace(b), []byte("null")) {
		return nil
	}
	if err := json.Unmarshal(b, &p.Name); err == nil {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p.Rules); err != nil {
		return fmt.Errorf("population: want a population name or id, or a list of {when, population} rules: %w", err)
	}
	if p.Rules == nil {
		p.Rules = []PopulationRule{}
	}
	return nil
}

// isZero reports whether no population was configured.
func (p Population) isZero() bool { return p.Name == "" && p.Rules == nil }

var errEmptyList = errors.New("empty list: give a population name, or at least one rule")
