package pingone

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/google/uuid"
)

// Population is a PingOne population (API-NOTES §5).
type Population struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	// Default marks the population new users land in when a create names
	// none.
	Default   bool `json:"default"`
	UserCount int  `json:"userCount,omitempty"`
}

// SchemaAttribute is one attribute of the environment's user schema
// (API-NOTES §4a).
type SchemaAttribute struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	DisplayName string `json:"displayName,omitempty"`
	// Type is STRING, JSON, BOOLEAN or COMPLEX.
	Type string `json:"type"`
	// SchemaType is CORE, STANDARD or CUSTOM.
	SchemaType  string `json:"schemaType"`
	Enabled     bool   `json:"enabled"`
	Required    bool   `json:"required"`
	Unique      bool   `json:"unique"`
	MultiValued bool   `json:"multiValued"`
}

// Populations lists the environment's populations.
func (c *Client) Populations(ctx context.Context) ([]Population, error) {
	pops, err := c.populations(ctx, Filter{})
	if err != nil {
		return nil, fmt.Errorf("pingone list populations: %w", err)
	}
	return pops, nil
}

func (c *Client) populations(ctx context.Context, f Filter) ([]Population, error) {
	if err := f.Err(); err != nil {
		return nil, err
	}
	first := c.envBase + "/populations"
	if s := f.String(); s != "" {
		first += "?filter=" + queryEscape(s)
	}
	var out []Population
	err := c.pages(ctx, "list_populations", first, "populations", func(raw json.RawMessage) error {
		var p Population
		if err := json.Unmarshal(raw, &p); err != nil {
			return fmt.Errorf("decode population: %w", err)
		}
		out = append(out, p)
		return nil
	})
	return out, err
}

// ErrPopulationNotFound is wrapped by ResolvePopulation's error when the
// environment holds no population of that name or id: a problem of the
// records routed there, not a failed call.
var ErrPopulationNotFound = errors.New("population not found")

// ResolvePopulation turns a population reference from configuration into
// its ID: a UUID is checked to exist; anything else is a name, matched
// exactly (PingOne filters populations by name only with sw).
func (c *Client) ResolvePopulation(ctx context.Context, nameOrID string) (string, error) {
	if nameOrID == "" {
		return "", fmt.Errorf("pingone resolve population: empty name")
	}
	if _, err := uuid.Parse(nameOrID); err == nil && len(nameOrID) == 36 {
		resp, err := c.do(ctx, call{op: "get_population", method: http.MethodGet, url: c.envBase + "/populations/" + url.PathEscape(nameOrID)})
		if IsNotFound(err) {
			return "", fmt.Errorf("pingone population %s: no population with this ID in environment %s: %w: %w", nameOrID, c.cfg.EnvironmentID, ErrPopulationNotFound, err)
		}
		if err != nil {
			return "", fmt.Errorf("pingone population %s: %w", nameOrID, err)
		}
		var p Population
		if err := json.Unmarshal(resp, &p); err != nil || p.ID == "" {
			return "", fmt.Errorf("pingone population %s: decode: unexpected body", nameOrID)
		}
		return p.ID, nil
	}
	pops, err := c.populations(ctx, Sw("name", nameOrID))
	if err != nil {
		return "", fmt.Errorf("pingone population %q: %w", nameOrID, err)
	}
	for _, p := range pops {
		if p.Name == nameOrID {
			return p.ID, nil
		}
	}
	// Say what exists, so a typo is easy to spot.
	all, err := c.populations(ctx, Filter{})
	if err != nil {
		return "", fmt.Errorf("pingone population %q: %w in environment %s", nameOrID, ErrPopulationNotFound, c.cfg.EnvironmentID)
	}
	names := make([]string, len(all))
	for i, p := range all {
		names[i] = fmt.Sprintf("%q", p.Name)
	}
	sort.Strings(names)
	if len(names) > 20 {
		names = append(names[:20], "…")
	}
	return "", fmt.Errorf("pingone population %q: %w in environment %s (populations: %s)", nameOrID, ErrPopulationNotFound, c.cfg.EnvironmentID, strings.Join(names, ", "))
}

// SchemaAttributes lists the attributes of the environment's user schema
// (the schema named "User", or the only one).
func (c *Client) SchemaAttributes(ctx context.Context) ([]SchemaAttribute, error) {
	var schemas []struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	}
	err := c.pages(ctx, "list_schemas", c.envBase+"/schemas", "schemas", func(raw json.RawMessage) error {
		var s struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		}
		if err := json.Unmarshal(raw, &s); err != nil {
			return fmt.Errorf("decode schema: %w", err)
		}
		schemas = append(schemas, s)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("pingone list schemas: %w", err)
	}
	if len(schemas) == 0 {
		return nil, fmt.Errorf("pingone list schemas: environment %s has no schema", c.cfg.EnvironmentID)
	}
	id := schemas[0].ID
	for _, s := range schemas {
		if s.Name == "User" {
			id = s.ID
		}
	}
	var attrs []SchemaAttribute
	err = c.pages(ctx, "list_schema_attributes", c.envBase+"/schemas/"+url.PathEscape(id)+"/attributes", "attributes", func(raw json.RawMessage) error {
		var a SchemaAttribute
		if err := json.Unmarshal(raw, &a); err != nil {
			return fmt.Errorf("decode schema attribute: %w", err)
		}
		attrs = append(attrs, a)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("pingone list schema %s attributes: %w", id, err)
	}
	return attrs, nil
}
