package pingone

// User is a PingOne user as syncd sees it.
type User struct {
	ID           string
	PopulationID string
	Enabled      bool
	// Attributes holds the user's string attributes flattened to PingOne
	// attribute paths ("username", "name.given", "address.countryCode",
	// custom attribute names). Non-string values (objects syncd does not
	// manage, booleans, arrays) are left out.
	Attributes map[string]string
}
