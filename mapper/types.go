package mapper

import "strconv"

// Desired is the PingOne user syncd wants for one source record.
type Desired struct {
	// Anchor is the record's stable identity (DESIGN invariant 2).
	Anchor string `json:"anchor"`
	// Pos says where the record came from ("line 12", a DN), for reports.
	Pos string `json:"pos,omitempty"`
	// Attributes holds the managed attributes in canonical form, keyed by
	// PingOne attribute path ("username", "name.given", "address.locality",
	// or a custom attribute name). It always holds "username" and
	// "externalId" (the anchor unless mapped otherwise). An empty value is
	// never stored: an attribute the mapping left empty is absent, which the
	// engine turns into an explicit null when it was set before.
	Attributes map[string]string `json:"attributes"`
	// Population is the configured population: a UUID is an id, anything
	// else a name the engine resolves once per run.
	Population string `json:"population"`
	// Enabled is whether the user should be enabled in PingOne.
	Enabled bool `json:"enabled"`
	// Hash is a stable hash of Attributes, Population and Enabled,
	// independent of map order, over NFC-normalised values.
	Hash string `json:"hash"`
}

// Username returns the desired username.
func (d Desired) Username() string { return d.Attributes["username"] }

// Reject is a record the mapper refused, with a reason a person can act on.
type Reject struct {
	Anchor string `json:"anchor"` // may be empty when the source could not tell
	Pos    string `json:"pos,omitempty"`
	// Attribute is the PingOne attribute path at fault, when there is one.
	Attribute string `json:"attribute,omitempty"`
	// Reason says what is wrong and, where it helps, what to do:
	// "email: "bob@" is not a valid address (RFC 5322 addr-spec)".
	Reason string `json:"reason"`
}

// Error formats the reject for logs and messages: "anchor=X (pos): attr: reason".
func (r Reject) Error() string {
	s := "anchor=" + r.Anchor
	if r.Pos != "" {
		s += " (" + r.Pos + ")"
	}
	if r.Attribute != "" {
		return s + ": " + r.Attribute + ": " + r.Reason
	}
	return s + ": " + r.Reason
}

// Outcome is what mapping one record produced.
type Outcome int

// Outcomes of Map.
const (
	Mapped     Outcome = iota // Result.Desired is set
	OutOfScope                // the scope expression excluded the record: not managed
	Rejected                  // Result.Reject says why
)

// String returns "mapped", "out_of_scope" or "rejected".
func (o Outcome) String() string {
	switch o {
	case Mapped:
		return "mapped"
	case OutOfScope:
		return "out_of_scope"
	case Rejected:
		return "rejected"
	}
	return "outcome(" + strconv.Itoa(int(o)) + ")"
}

// MarshalText encodes the outcome as its String form (for JSON output).
func (o Outcome) MarshalText() ([]byte, error) { return []byte(o.String()), nil }

// Result is the result of mapping one record.
type Result struct {
	Outcome Outcome `json:"outcome"`
	Desired Desired `json:"desired"` // set when Outcome is Mapped (Anchor and Pos also when OutOfScope)
	Reject  Reject  `json:"reject"`  // set when Outcome is Rejected
}
