package reconcile

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Threshold is a count ("100") or a percentage ("5%") of some total.
type Threshold struct {
	Count   int
	Percent float64
	IsPct   bool
}

// ParseThreshold reads "100" or "5%".
func ParseThreshold(s string) (Threshold, error) {
	s = strings.TrimSpace(s)
	if p, ok := strings.CutSuffix(s, "%"); ok {
		f, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || f < 0 || f > 100 || math.IsNaN(f) {
			return Threshold{}, fmt.Errorf("%q: want a percentage between 0%% and 100%%", s)
		}
		return Threshold{Percent: f, IsPct: true}, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return Threshold{}, fmt.Errorf("%q: want a count (100) or a percentage (\"5%%\")", s)
	}
	return Threshold{Count: n}, nil
}

// Exceeded reports whether n is strictly above the threshold of total.
func (t Threshold) Exceeded(n, total int) bool {
	if t.IsPct {
		return float64(n) > t.Percent*float64(total)/100
	}
	return n > t.Count
}

func (t Threshold) String() string {
	if t.IsPct {
		return strconv.FormatFloat(t.Percent, 'g', -1, 64) + "%"
	}
	return strconv.Itoa(t.Count)
}

// UnmarshalYAML accepts 100 or "5%".
func (t *Threshold) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: want a count (100) or a percentage (\"5%%\")", n.Line)
	}
	v, err := ParseThreshold(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*t = v
	return nil
}

// MarshalYAML writes the threshold as it is written in a config.
func (t Threshold) MarshalYAML() (any, error) { return t.String(), nil }

// UnmarshalText accepts "100" or "5%" (environment overrides).
func (t *Threshold) UnmarshalText(b []byte) error {
	v, err := ParseThreshold(string(b))
	if err != nil {
		return err
	}
	*t = v
	return nil
}
