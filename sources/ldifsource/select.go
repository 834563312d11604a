package ldifsource

import (
	"fmt"
	"slices"
	"strings"

	"github.com/go-ldap/ldap/v3"
)

// Selector says whether an LDIF entry is one a live LDAP read of the job
// would return: under one of its base DNs, within its scope, matching its
// filter.
type Selector struct {
	bases  [][]string // RDNs, normalised, lower case
	scope  string
	filter *Filter
}

// NewSelector compiles a job's base DNs, scope (sub, one, base) and filter.
func NewSelector(baseDNs []string, scope, filter string) (*Selector, error) {
	s := &Selector{scope: scope}
	for _, b := range baseDNs {
		n, err := rdns(b)
		if err != nil {
			return nil, fmt.Errorf("base_dn %q: %w", b, err)
		}
		s.bases = append(s.bases, n)
	}
	switch scope {
	case "sub", "one", "base":
	default:
		return nil, fmt.Errorf("scope %q: want sub, one or base", scope)
	}
	f, err := CompileFilter(filter)
	if err != nil {
		return nil, err
	}
	s.filter = f
	return s, nil
}

// rdns returns the DN's RDNs, each normalised and lower-cased.
func rdns(dn string) ([]string, error) {
	d, err := ldap.ParseDN(dn)
	if err != nil {
		return nil, err
	}
	parts := make([]string, len(d.RDNs))
	for i, r := range d.RDNs {
		parts[i] = strings.ToLower(r.String())
	}
	return parts, nil
}

// Selects reports whether the entry (its DN and attributes) is one the
// live read would return. An entry whose DN does not parse is selected:
// the mapper reports it.
func (s *Selector) Selects(dn string, attrs map[string][]string) bool {
	parts, err := rdns(dn)
	if err != nil {
		return true
	}
	inBase := false
	for _, b := range s.bases {
		switch s.scope {
		case "base":
			inBase = slices.Equal(parts, b)
		case "one":
			inBase = len(parts) == len(b)+1 && slices.Equal(parts[1:], b)
		default:
			inBase = len(parts) >= len(b) && slices.Equal(parts[len(parts)-len(b):], b)
		}
		if inBase {
			break
		}
	}
	return inBase && s.filter.Match(attrs)
}
