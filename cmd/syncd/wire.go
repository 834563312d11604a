package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"strings"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.yaml.in/yaml/v3"

	"github.com/syncd/syncd/config"
	"github.com/syncd/syncd/mapper"
	"github.com/syncd/syncd/reconcile"
	"github.com/syncd/syncd/sink/pingone"
	"github.com/syncd/syncd/sources"
	"github.com/syncd/syncd/sources/csvsource"
	"github.com/syncd/syncd/sources/ldapsource"
	"github.com/syncd/syncd/state"
	"github.com/syncd/syncd/state/backend"
)

// loadConfig reads the config; its errors exit with ExitUsage.
func (m *Main) loadConfig(ctx context.Context, g *globalFlags) (*config.Config, error) {
	cfg, err := config.Load(ctx, g.config, lookupFunc(m.lookup))
	if err != nil {
		return nil, usageError{err}
	}
	return cfg, nil
}

// setup loads the config, selects the --job jobs and builds the logger: the
// preamble of every command that works on jobs.
func (m *Main) setup(ctx context.Context, g *globalFlags) (*config.Config, []*config.Job, *zap.Logger, error) {
	cfg, err := m.loadConfig(ctx, g)
	if err != nil {
		return nil, nil, nil, err
	}
	jobs, err := cfg.Select(g.jobs...)
	if err != nil {
		return nil, nil, nil, usageError{err}
	}
	return cfg, jobs, newLogger(cfg, m.Stderr), nil
}

// lookupFunc adapts a function to envconfig.Lookuper.
type lookupFunc func(string) (string, bool)

func (f lookupFunc) Lookup(key string) (string, bool) { return f(key) }

func (m *Main) lookup(key string) (string, bool) {
	v := m.Getenv(key)
	return v, v != ""
}

// newLogger builds the one logger of the process: JSON on stderr unless it
// is a terminal or log.format says console.
func newLogger(cfg *config.Config, w io.Writer) *zap.Logger {
	log, _ := newLevelLogger(cfg, w)
	return log
}

// logLevel is cfg's log.level (info when unset).
func logLevel(cfg *config.Config) zapcore.Level {
	level := zapcore.InfoLevel
	if cfg != nil {
		_ = level.Set(strings.ToLower(cfg.Log.Level)) // validated by config
	}
	return level
}

// newLevelLogger is newLogger with its level exposed, so that `syncd run`
// applies a reloaded log.level to the one logger every component holds.
func newLevelLogger(cfg *config.Config, w io.Writer) (*zap.Logger, zap.AtomicLevel) {
	level := zap.NewAtomicLevelAt(logLevel(cfg))
	format := ""
	if cfg != nil {
		format = cfg.Log.Format
	}
	if format == "" {
		format = "json"
		if isTerminal(w) {
			format = "console"
		}
	}
	encCfg := zap.NewProductionEncoderConfig()
	encCfg.TimeKey, encCfg.EncodeTime = "time", zapcore.ISO8601TimeEncoder
	var enc zapcore.Encoder
	if format == "console" {
		encCfg.EncodeLevel = zapcore.CapitalColorLevelEncoder
		enc = zapcore.NewConsoleEncoder(encCfg)
	} else {
		enc = zapcore.NewJSONEncoder(encCfg)
	}
	log := zap.New(zapcore.NewCore(enc, zapcore.Lock(zapcore.AddSync(w)), level))
	if cfg != nil {
		// A secret source that lost to another (config file > SYNCD_…_FILE
		// > SYNCD_…) is said once, so an override nobody applied is seen.
		for _, n := range cfg.Notices {
			log.Warn("config: secret source ignored", zap.String("reason", n))
		}
	}
	return log, level
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// openStore opens the state store and, when migrate is set, migrates it.
// Either way it then checks the schema version: a schema newer than this
// binary, or one with migrations pending, is refused (state.CheckSchema).
func openStore(ctx context.Context, cfg *config.Config, log *zap.Logger, migrate bool) (state.Store, error) {
	st, err := backend.Open(ctx, cfg.State.URL, backend.Options{Logger: log, BaseDir: cfg.Dir})
	if err != nil {
		return nil, err
	}
	if migrate {
		if err := st.Migrate(ctx); err != nil {
			st.Close()
			return nil, err
		}
	}
	if err := state.CheckSchema(ctx, st); err != nil {
		st.Close()
		return nil, fmt.Errorf("state %s: %w", backend.Redact(cfg.State.URL), err)
	}
	return st, nil
}

func newSource(j *config.Job, log *zap.Logger) (sources.Source, error) {
	log = log.With(zap.String("job", j.Name))
	switch {
	case j.Source.CSV != nil:
		return csvsource.New(*j.Source.CSV, log)
	case j.Source.LDAP != nil:
		return ldapsource.New(*j.Source.LDAP, log)
	}
	return nil, fmt.Errorf("job %s: no source configured", j.Name)
}

// The PingOne client is the engine's target.
var _ reconcile.Target = (*pingone.Client)(nil)

// newJob builds the engine's view of a configured job.
func newJob(j *config.Job, cfg *config.Config, log *zap.Logger) (*reconcile.Job, error) {
	src, err := newSource(j, log)
	if err != nil {
		return nil, fmt.Errorf("job %s: source: %w", j.Name, err)
	}
	_, env := cfg.Environment(j)
	rj := &reconcile.Job{
		Name: j.Name, Source: src, Mapper: j.Mapper, Match: j.Match, Safety: j.Safety,
		BatchSize: j.BatchSize, Workers: env.Concurrency, FullEvery: j.FullEvery,
		ConfigDigest: jobDigest(j), Verify: j.Verify, Drift: j.Drift, CreateDisabled: j.CreateDisabled,
	}
	if d := j.Deprovision.DeleteAfter; d != nil {
		rj.DeleteAfter = d.Duration()
	}
	if rj.Groups, err = newGroups(j, log); err != nil {
		return nil, fmt.Errorf("job %s: groups: %w", j.Name, err)
	}
	rj.SetDefaults()
	return rj, nil
}

// newGroups builds the engine's view of a job's groups block (nil: none).
func newGroups(j *config.Job, log *zap.Logger) (*reconcile.Groups, error) {
	g := j.Groups
	if g == nil {
		return nil, nil
	}
	rg := &reconcile.Groups{
		Mapper: g.Mapper, Population: g.Population, Nested: g.Nested, MaxDepth: g.MaxDepth,
		AdoptByName: g.AdoptByName, DeleteRemoved: g.DeleteRemoved, Safety: g.Safety,
	}
	if sc := j.GroupSource(); sc != nil {
		src, err := ldapsource.New(*sc, log.With(zap.String("job", j.Name), zap.String("read", "groups")))
		if err != nil {
			return nil, err
		}
		rg.Source, rg.MemberAttributes = src, g.LDAP.MemberAttribute
	}
	rg.SetDefaults()
	return rg, nil
}

// jobDigest identifies a job's source, mapping and match settings: when they
// change, the next run reads the source completely.
func jobDigest(j *config.Job) string {
	src := j.Source
	if src.LDAP != nil && src.LDAP.WatchMethod != "" {
		// How a watch learns of changes is not what a read returns.
		l := *src.LDAP
		l.WatchMethod = ""
		src.LDAP = &l
	}
	b, err := yaml.Marshal(struct {
		Source config.Source
		Mapper mapper.Config
		Match  []string
		// A delta read would not carry the records create_disabled
		// now creates; omitted when false, so older digests still hold.
		CreateDisabled bool `yaml:",omitempty"`
		// A groups block changed: its memberships are planned from a
		// complete read. Omitted without one.
		Groups *config.Groups `yaml:",omitempty"`
	}{src, j.Config, j.Match, j.CreateDisabled, j.Groups})
	if err != nil {
		return "" // cannot happen for these types; "" just means "unknown"
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}
