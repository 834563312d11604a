package pingonetest

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
)

// population is a stored population (API-NOTES §5).
type population struct {
	id, name, description string
	isDefault             bool
	seq                   uint64
	createdAt, updatedAt  time.Time
}

var errExists = errors.New("already exists")

// createPopulationLocked adds a population; the caller holds e.mu (or is New).
func (e *Emulator) createPopulationLocked(name, description string, isDefault bool) (*population, error) {
	if strings.TrimSpace(name) == "" {
		return nil, errors.New("name is empty")
	}
	for _, p := range e.populations {
		// §5: name unique within the environment. Case-insensitive [U].
		if strings.EqualFold(p.name, name) {
			return nil, errExists
		}
	}
	e.seq++
	now := e.now()
	p := &population{id: uuid.NewString(), name: name, description: description, isDefault: isDefault, seq: e.seq, createdAt: now, updatedAt: now}
	e.populations[p.id] = p
	e.popOrder = append(e.popOrder, p.id)
	return p, nil
}

// CreatePopulation adds a population out of band and returns its id (the
// existing one's if the name is taken).
func (e *Emulator) CreatePopulation(name string) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	p, err := e.createPopulationLocked(name, "", len(e.populations) == 0)
	if errors.Is(err, errExists) {
		return e.populationIDLocked(name)
	}
	if err != nil {
		return ""
	}
	return p.id
}

// PopulationID returns the id of the population called name ("" if none).
func (e *Emulator) PopulationID(name string) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.populationIDLocked(name)
}

// DefaultPopulationID returns the default population's id.
func (e *Emulator) DefaultPopulationID() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if p := e.defaultPopulationLocked(); p != nil {
		return p.id
	}
	return ""
}

func (e *Emulator) populationIDLocked(name string) string {
	for _, p := range e.populations {
		if strings.EqualFold(p.name, name) {
			return p.id
		}
	}
	return ""
}

func (e *Emulator) defaultPopulationLocked() *population {
	for _, id := range e.popOrder {
		if p := e.populations[id]; p != nil && p.isDefault {
			return p
		}
	}
	return nil
}

func (e *Emulator) userCountLocked(popID string) int {
	n := 0
	for _, u := range e.users {
		if u.popID == popID {
			n++
		}
	}
	return n
}

func (e *Emulator) renderPopulationLocked(base string, p *population) map[string]any {
	self := fmt.Sprintf("%s/environments/%s/populations/%s", base, e.opts.EnvironmentID, p.id)
	m := map[string]any{
		"_links": map[string]any{
			"self":        map[string]any{"href": self},
			"environment": map[string]any{"href": base + "/environments/" + e.opts.EnvironmentID},
		},
		"id":          p.id,
		"environment": map[string]any{"id": e.opts.EnvironmentID},
		"name":        p.name,
		"default":     p.isDefault,
		"userCount":   e.userCountLocked(p.id),
		"createdAt":   p.createdAt.UTC().Format(timeFormat),
		"updatedAt":   p.updatedAt.UTC().Format(timeFormat),
	}
	if p.description != "" {
		m["description"] = p.description
	}
	return m
}

// populationFilterAttrs: §5 — only id (eq) and name (sw; eq accepted too [U]).
var populationFilterAttrs = map[string]filterAttr{
	"id":   {ops: opsOf("eq")},
	"name": {ops: opsOf("eq", "sw")},
}

func (e *Emulator) listPopulations(ar *apiRequest) *response {
	q := ar.r.URL.Query()
	var f Filter
	if s := q.Get("filter"); s != "" {
		var err error
		f, err = ParseFilter(s)
		if err == nil {
			err = checkFilter(f, populationFilterAttrs)
		}
		if err != nil {
			return invalidFilter(err)
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	var items []listItem
	for _, id := range e.popOrder {
		p := e.populations[id]
		if p == nil {
			continue
		}
		if f != nil && !f.Match(func(attr string) (any, bool) {
			switch attr {
			case "id":
				return p.id, true
			case "name":
				return p.name, true
			}
			return nil, false
		}) {
			continue
		}
		items = append(items, listItem{seq: p.seq, render: func() map[string]any { return e.renderPopulationLocked(ar.base, p) }})
	}
	return e.pageLocked(ar, "populations", items)
}

func (e *Emulator) readPopulation(ar *apiRequest) *response {
	e.mu.Lock()
	defer e.mu.Unlock()
	p := e.populations[ar.params["populationID"]]
	if p == nil {
		return notFound()
	}
	return &response{status: http.StatusOK, body: e.renderPopulationLocked(ar.base, p)}
}

func (e *Emulator) createPopulation(ar *apiRequest) *response {
	if resp := requireJSON(ar.r); resp != nil {
		return resp
	}
	body, resp := decodeObject(ar.body)
	if resp != nil {
		return resp
	}
	name, ok := body["name"].(string)
	if body["name"] == nil {
		return invalidData(detail{Code: "REQUIRED_VALUE", Target: "name", Message: "name is required"})
	}
	if !ok || strings.TrimSpace(name) == "" {
		return invalidData(detail{Code: "INVALID_VALUE", Target: "name", Message: "name must be a non-empty string"})
	}
	desc, _ := body["description"].(string)
	isDefault, _ := body["default"].(bool)
	e.mu.Lock()
	defer e.mu.Unlock()
	p, err := e.createPopulationLocked(name, desc, false)
	if errors.Is(err, errExists) {
		return invalidData(detail{Code: "UNIQUENESS_VIOLATION", Target: "name", Message: "name must be unique within the environment"})
	}
	if err != nil {
		return invalidData(detail{Code: "INVALID_VALUE", Target: "name", Message: err.Error()})
	}
	if isDefault {
		// §5: only one default population per environment.
		for _, q := range e.populations {
			q.isDefault = false
		}
		p.isDefault = true
	}
	return &response{status: http.StatusCreated, body: e.renderPopulationLocked(ar.base, p)}
}

func (e *Emulator) deletePopulation(ar *apiRequest) *response {
	e.mu.Lock()
	defer e.mu.Unlock()
	p := e.populations[ar.params["populationID"]]
	if p == nil {
		return notFound()
	}
	// §5: only when empty and not the default. The error code is [U];
	// CONSTRAINT_VIOLATION is a 400 detail code PingOne has.
	if p.isDefault {
		return invalidData(detail{Code: "CONSTRAINT_VIOLATION", Target: "id", Message: "the default population cannot be deleted"})
	}
	if n := e.userCountLocked(p.id); n > 0 {
		return invalidData(detail{Code: "CONSTRAINT_VIOLATION", Target: "id", Message: fmt.Sprintf("the population still has %d users", n)})
	}
	delete(e.populations, p.id)
	for i, id := range e.popOrder {
		if id == p.id {
			e.popOrder = append(e.popOrder[:i], e.popOrder[i+1:]...)
			break
		}
	}
	return &response{status: http.StatusNoContent}
}

// Populations returns the populations as GET would, in creation order.
func (e *Emulator) Populations() []map[string]any {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]map[string]any, 0, len(e.popOrder))
	for _, id := range e.popOrder {
		out = append(out, e.renderPopulationLocked(e.baseURL, e.populations[id]))
	}
	return out
}
