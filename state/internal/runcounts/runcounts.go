// Package runcounts encodes a run's per-operation counts the same way for
// every state backend: a JSON object, {} for none.
package runcounts

import (
	"encoding/json"
	"fmt"
)

// Marshal encodes counts as a JSON object ({} for nil).
func Marshal(counts map[string]int) (string, error) {
	if counts == nil {
		return "{}", nil
	}
	b, err := json.Marshal(counts)
	if err != nil {
		return "", fmt.Errorf("encode counts: %w", err)
	}
	return string(b), nil
}
