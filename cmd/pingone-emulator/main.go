// Command pingone-emulator serves the in-process PingOne double
// (sink/pingone/pingonetest) on a local port, for the demo and for manual
// runs of syncd against a PingOne it can watch.
//
//	pingone-emulator -listen 127.0.0.1:8089 -populations Default,Staff -print-env
//
// On SIGINT/SIGTERM it stops and, with -state-dump, writes the users,
// populations and counters as JSON. While it runs, GET /_emulator/stats
// answers the counters and the user count as JSON (not an API request: it
// is not counted), so a harness can count the requests of a window.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/syncd/syncd/sink/pingone/pingonetest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv); err != nil {
		fmt.Fprintln(os.Stderr, "pingone-emulator:", err)
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// secretEnv is read when -client-secret is not given, so the secret need
// not appear in ps output.
const secretEnv = "SYNCD_PINGONE_CLIENT_SECRET"

// config is the parsed command line.
type config struct {
	listen, stateDump, spec string
	printEnv, verbose       bool
	opts                    pingonetest.Options
}

func parseFlags(args []string, stderr io.Writer, getenv func(string) string) (config, error) {
	var c config
	fs := flag.NewFlagSet("pingone-emulator", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var pops, custom string
	fs.StringVar(&c.listen, "listen", "127.0.0.1:8089", "address to listen on")
	fs.StringVar(&c.opts.EnvironmentID, "env", "", "environment id (default: a random UUID)")
	fs.StringVar(&c.opts.ClientID, "client-id", "syncd-test-client", "worker app client id")
	fs.StringVar(&c.opts.ClientSecret, "client-secret", "", "worker app client secret (default: $"+secretEnv+", else syncd-test-secret)")
	fs.StringVar(&c.opts.AuthMethod, "auth-method", "", "client_secret_basic, client_secret_post, or empty for both")
	fs.StringVar(&pops, "populations", "Default", "comma-separated populations; the first is the default")
	fs.StringVar(&custom, "custom-attributes", "", "comma-separated custom STRING attributes of the User schema")
	fs.Float64Var(&c.opts.RateLimit, "rate", 0, "API rate limit in requests/second (0 = unlimited)")
	fs.IntVar(&c.opts.Burst, "burst", 0, "rate limiter burst (0 = ceil(rate))")
	fs.Float64Var(&c.opts.FaultRate, "fault-rate", 0, "fraction of API requests answered 500/503 without doing them")
	fs.Float64Var(&c.opts.LostResponseRate, "lost-rate", 0, "fraction of successful writes whose response is dropped")
	fs.DurationVar(&c.opts.Latency, "latency", 0, "latency added to every API request")
	fs.DurationVar(&c.opts.TokenTTL, "token-ttl", time.Hour, "access token lifetime")
	fs.IntVar(&c.opts.MaxPageSize, "max-page-size", 200, "largest list page")
	fs.Int64Var(&c.opts.Seed, "seed", 1, "seed of the fault and loss dice")
	fs.StringVar(&c.spec, "spec", "", "OpenAPI file to validate all traffic against (violations are logged)")
	fs.StringVar(&c.stateDump, "state-dump", "", "write users, populations and counters as JSON here on exit")
	fs.BoolVar(&c.printEnv, "print-env", false, "print shell exports of the SYNCD_PINGONE_* settings on stdout")
	fs.BoolVar(&c.verbose, "v", false, "log every request")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if c.opts.ClientSecret == "" {
		c.opts.ClientSecret = getenv(secretEnv)
	}
	c.opts.Populations = splitList(pops)
	c.opts.CustomAttributes = splitList(custom)
	c.opts.SpecFile = c.spec
	return c, nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func newLogger(w io.Writer) *zap.Logger {
	enc := zap.NewDevelopmentEncoderConfig()
	enc.EncodeTime = zapcore.ISO8601TimeEncoder
	core := zapcore.NewCore(zapcore.NewConsoleEncoder(enc), zapcore.Lock(zapcore.AddSync(w)), zap.InfoLevel)
	return zap.New(core)
}

// run serves until ctx ends, then shuts down and writes the state dump.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	c, err := parseFlags(args, stderr, getenv)
	if err != nil {
		return err
	}
	log := newLogger(stderr)
	defer func() { _ = log.Sync() }()
	if c.verbose {
		sugar := log.Sugar()
		c.opts.Logf = sugar.Infof
	}
	emu, err := pingonetest.New(c.opts)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", c.listen)
	if err != nil {
		return fmt.Errorf("listen %s: %w", c.listen, err)
	}
	base := "http://" + ln.Addr().String()
	emu.SetBaseURL(base + "/v1")
	srv := &http.Server{Handler: withStats(emu), ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	log.Info("pingone emulator listening",
		zap.String("api_url", base+"/v1"), zap.String("auth_url", base),
		zap.String("token_url", base+"/"+emu.EnvironmentID()+"/as/token"),
		zap.String("environment_id", emu.EnvironmentID()), zap.String("client_id", emu.ClientID()),
		zap.Strings("populations", c.opts.Populations))
	if c.printEnv {
		fmt.Fprintf(stdout, "export SYNCD_PINGONE_API_URL=%s\n", shellQuote(base+"/v1"))
		fmt.Fprintf(stdout, "export SYNCD_PINGONE_AUTH_URL=%s\n", shellQuote(base))
		fmt.Fprintf(stdout, "export SYNCD_PINGONE_ENVIRONMENT_ID=%s\n", shellQuote(emu.EnvironmentID()))
		fmt.Fprintf(stdout, "export SYNCD_PINGONE_CLIENT_ID=%s\n", shellQuote(emu.ClientID()))
		fmt.Fprintf(stdout, "export SYNCD_PINGONE_CLIENT_SECRET=%s\n", shellQuote(emu.ClientSecret()))
	}

	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	shutCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil {
		log.Warn("shutdown incomplete", zap.Error(err))
	}
	st := emu.Stats()
	log.Info("pingone emulator stopped", zap.Int("requests", st.Requests), zap.Int("writes", st.Writes),
		zap.Int("users", emu.UserCount()), zap.Int("rate_limited", st.RateLimited), zap.Int("faults", st.Faults),
		zap.Int("lost_responses", st.LostResponses), zap.Int("max_concurrent", st.MaxConcurrent))
	for _, v := range emu.SpecViolations() {
		log.Warn("spec violation", zap.String("violation", v))
	}
	if c.stateDump != "" {
		if err := writeDump(c.stateDump, emu); err != nil {
			return err
		}
		log.Info("state dumped", zap.String("path", c.stateDump))
	}
	return nil
}

// StatsPath answers the emulator's counters; it lies outside /v1 and the
// token endpoint, so reading it is not counted.
const StatsPath = "/_emulator/stats"

// liveStats is the answer of StatsPath.
type liveStats struct {
	Stats pingonetest.Stats `json:"stats"`
	Users int               `json:"users"`
}

// withStats serves StatsPath in front of the emulator.
func withStats(emu *pingonetest.Emulator) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != StatsPath || r.Method != http.MethodGet {
			emu.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(liveStats{Stats: emu.Stats(), Users: emu.UserCount()})
	})
}

// dump is the -state-dump file.
type dump struct {
	EnvironmentID  string            `json:"environmentId"`
	Populations    []map[string]any  `json:"populations"`
	Users          []map[string]any  `json:"users"`
	Stats          pingonetest.Stats `json:"stats"`
	SpecViolations []string          `json:"specViolations,omitempty"`
}

func writeDump(path string, emu *pingonetest.Emulator) error {
	d := dump{EnvironmentID: emu.EnvironmentID(), Populations: emu.Populations(), Users: emu.Users(),
		Stats: emu.Stats(), SpecViolations: emu.SpecViolations()}
	b, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return fmt.Errorf("state dump %s: %w", path, err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("state dump %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("state dump %s: %w", path, err)
	}
	return nil
}

// shellQuote single-quotes s for POSIX shells.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
