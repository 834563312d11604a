package pgstate

import (
	"testing"

	"github.com/syncd/syncd/internal/testenv"
)

// TestCheckpointsDecodedRaw checks the Checkpoints query comes back in the
// binary layout decodeCheckpoint reads, so the fast path is the one taken
// (the conformance suite checks its results).
func TestCheckpointsDecodedRaw(t *testing.T) {
	t.Parallel()
	s, err := Open(t.Context(), testenv.PostgresURL(t), Options{Schema: testenv.PostgresSchema(t), AutoMigrate: true})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s.Close()
	rows, err := s.pool.Query(t.Context(), checkpointsSQL, "job")
	if err != nil {
		t.Fatalf("query: %v", err)
	}
	defer rows.Close()
	if !decodable(rows.FieldDescriptions()) {
		t.Errorf("Checkpoints columns %+v are not decodable raw", rows.FieldDescriptions())
	}
}
