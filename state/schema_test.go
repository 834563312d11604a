package state

import (
	"context"
	"errors"
	"slices"
	"testing"
)

type versionedStore struct {
	Store
	v SchemaVersion
}

func (s versionedStore) SchemaVersion(context.Context) (SchemaVersion, error) { return s.v, nil }

func TestCheckSchema(t *testing.T) {
	embedded := []int64{1, 2, 5, 12}
	tests := []struct {
		name    string
		applied []int64
		pending []int64
		want    error
	}{
		{"current", []int64{1, 2, 5, 12}, nil, nil},
		{"empty", nil, embedded, ErrNoSchema},
		{"older", []int64{1, 2}, []int64{5, 12}, ErrSchemaOutdated},
		{"one missing in the middle", []int64{1, 2, 12}, []int64{5}, ErrSchemaOutdated},
		{"newer", []int64{1, 2, 5, 12, 13}, nil, ErrSchemaTooNew},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := NewSchemaVersion(tt.applied, embedded)
			if !slices.Equal(v.Pending, tt.pending) || v.Latest != 12 {
				t.Fatalf("NewSchemaVersion = %+v, want pending %v, latest 12", v, tt.pending)
			}
			err := CheckSchema(context.Background(), versionedStore{v: v})
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("CheckSchema: %v, want %v", err, tt.want)
			}
			if errors.Is(err, ErrSchemaTooNew) && errors.Is(err, ErrSchemaOutdated) {
				t.Fatalf("%v is both too new and outdated", err)
			}
		})
	}
}
