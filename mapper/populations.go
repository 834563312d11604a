package mapper

// Populations returns the populations (names or ids, as configured) the
// mapping routes records to: the one constant, or every rule's, in rule
// order without repeats. Adoption takes only users already in one of them.
func (m *Mapper) Populations() []string {
	if m.rules == nil {
		return []string{m.population}
	}
	var out []string
	seen := map[string]bool{}
	for _, r := range m.rules {
		if !seen[r.population] {
			seen[r.population] = true
			out = append(out, r.population)
		}
	}
	return out
}
