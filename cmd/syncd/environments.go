package main

import (
	"fmt"
	"sync"

	"go.uber.org/zap"

	"github.com/syncd/syncd/config"
	"github.com/syncd/syncd/internal/metrics"
	"github.com/syncd/syncd/sink/pingone"
	"github.com/syncd/syncd/sink/pingone/budget"
	"github.com/syncd/syncd/state"
)

// environments holds one PingOne client per configured environment the
// jobs use, built on first use. All draw on one budget.Set: every job of
// the process writing to one PingOne environment (under any name) waits in
// one queue for one budget, and with a shared pool (the state database)
// so does every other process.
type environments struct {
	cfg     *config.Config
	log     *zap.Logger
	obs     pingone.Observer
	budgets *budget.Set

	mu      sync.Mutex
	clients map[string]*pingone.Client
}

// newEnvironments draws budgets from pool.
func newEnvironments(cfg *config.Config, log *zap.Logger, obs pingone.Observer, pool budget.Pool) *environments {
	return &environments{cfg: cfg, log: log, obs: obs, budgets: budget.NewSet(pool, log), clients: map[string]*pingone.Client{}}
}

// budgetPool is where a process shares its budgets: the state store when
// it keeps them (PostgreSQL: every process on the database; SQLite: every
// process on the host sharing the file), else the process alone. A dry run
// writes nothing to state, not even budget rows: it uses its own.
func budgetPool(st state.Store, dryRun bool) budget.Pool {
	if p, ok := st.(state.BudgetPool); ok && !dryRun {
		return p
	}
	return budget.NewMemory()
}

// client returns the client of the environment job writes to.
func (e *environments) client(j *config.Job) (*pingone.Client, error) {
	name, p := e.cfg.Environment(j)
	e.mu.Lock()
	defer e.mu.Unlock()
	if c := e.clients[name]; c != nil {
		return c, nil
	}
	p.SetDefaults()
	opts := []pingone.Option{
		pingone.WithVersion(version),
		pingone.WithBudget(e.budgets.Limiter(config.BudgetKey(p), p.RateLimit)),
	}
	if e.obs != nil {
		opts = append(opts, pingone.WithObserver(e.obs))
	}
	log := e.log
	if name != config.DefaultEnvironment {
		log = log.With(zap.String("pingone", name))
	}
	c, err := pingone.New(p, log, opts...)
	if err != nil {
		if name == config.DefaultEnvironment {
			return nil, fmt.Errorf("pingone: %w", err)
		}
		return nil, fmt.Errorf("pingone_environments[%s]: %w", name, err)
	}
	e.clients[name] = c
	return c, nil
}

// budgetMetrics converts the budgets' numbers for internal/metrics.
func (e *environments) budgetMetrics() []metrics.Budget {
	var out []metrics.Budget
	for _, s := range e.budgets.Stats() {
		out = append(out, metrics.Budget{
			Environment: s.Environment, Limit: s.Limit, Effective: s.Effective, Share: s.Share,
			Granted: s.Granted, Throttles: s.Throttles,
		})
	}
	return out
}
