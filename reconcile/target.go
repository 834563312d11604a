package reconcile

import (
	"context"

	"github.com/syncd/syncd/sink/pingone"
)

// Target is the PingOne side as the engine needs it. *pingone.Client
// implements it; tests may wrap it to inject faults.
type Target interface {
	// CreateUser creates an enabled user in the population with attrs
	// (which carry externalId), in one call.
	CreateUser(ctx context.Context, populationID string, attrs map[string]string) (pingone.User, error)
	// UpdateUser sends one PATCH with only the given attributes; clear
	// lists attributes to set to null.
	UpdateUser(ctx context.Context, id string, set map[string]string, clear []string) (pingone.User, error)
	// SetEnabled enables or disables the user through its own endpoint.
	SetEnabled(ctx context.Context, id string, enabled bool) error
	// SetPopulation moves the user through its own endpoint.
	SetPopulation(ctx context.Context, id, populationID string) error
	// GetUser reads one user by id; a 404 satisfies pingone.IsNotFound.
	GetUser(ctx context.Context, id string) (pingone.User, error)
	// FindUsers calls fn for every user matching filter.
	FindUsers(ctx context.Context, filter pingone.Filter, fn func(pingone.User) error) error
	// ResolvePopulation turns a population name or id into its id.
	ResolvePopulation(ctx context.Context, nameOrID string) (string, error)
}
