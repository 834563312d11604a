// Package sourcetest is the conformance suite every sources.Source passes
// (like dex's storage/conformance). An implementation's tests build a Harness
// that creates sources over generated data, then call Run:
//
//	func TestConformance(t *testing.T) {
//		sourcetest.Run(t, sourcetest.Harness{
//			New:     func(t *testing.T, n int) sources.Source { ... },
//			Failing: func(t *testing.T, n, after int) sources.Source { ... },
//			Large:   100_000,
//		})
//	}
//
// The suite pins down what the rest of syncd relies on: a full read yields
// every anchor exactly once and ends with Err() == nil; a read that stops
// early for any reason (cancellation, I/O error, truncated data) never looks
// like a shorter complete read (DESIGN invariant 1); Close is idempotent;
// attribute names are lower case; two reads of unchanged data agree.
package sourcetest
