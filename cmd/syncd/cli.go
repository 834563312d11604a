package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// Main is the syncd command: its streams and environment are fields so
// tests can run it in-process.
type Main struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// Getenv reads the environment (default os.Getenv).
	Getenv func(string) string
}

// NewMain returns a Main on the given streams.
func NewMain(stdin io.Reader, stdout, stderr io.Writer) *Main {
	return &Main{Stdin: stdin, Stdout: stdout, Stderr: stderr, Getenv: os.Getenv}
}

const usage = `syncd keeps a PingOne environment's users in step with a directory or HR export.

Usage:
  syncd [global flags] <command> [flags]

Commands:
  sync            read, plan and apply every job once (or --job NAME)
  plan            like sync --dry-run: print the plan, write nothing
  apply PLANFILE  apply a plan saved with 'plan --out FILE', refusing if it no longer holds
  run             run as a daemon: schedule the jobs, serve /healthz /readyz /metrics
  validate        check the config (--online also checks LDAP, PingOne, populations)
  map             map a fixture offline: --job NAME --input FILE.csv|FILE.ldif [--explain]
  migrate         apply state schema migrations
  status          show recent runs and object counts per job
  revert RUN      plan the inverse of a run from the journal (--out FILE saves it for 'apply')
  journal         print the journal of writes: [--run N] [--anchor A] [--since DATE] [--output text|json|jsonl]
  state rebuild   rebuild a job's state from PingOne (--job NAME; --force without its source)
  version         print the version

Global flags (before or after the command):
  --config FILE   config file (default /etc/syncd/syncd.yaml, env SYNCD_CONFIG)
  --job NAME      limit to this job (repeatable; default all jobs)
  --output FMT    text (default) or json

Run 'syncd <command> --help' for the command's own flags.

`

// globalFlags are accepted by every command.
type globalFlags struct {
	config string
	jobs   stringList
	output string
}

type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

func (m *Main) flagSet(name string, g *globalFlags) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	def := m.Getenv("SYNCD_CONFIG")
	if def == "" {
		def = "/etc/syncd/syncd.yaml"
	}
	if g.config == "" {
		g.config = def
	}
	fs.StringVar(&g.config, "config", g.config, "config file")
	fs.Var(&g.jobs, "job", "job name (repeatable)")
	if g.output == "" {
		g.output = "text"
	}
	fs.StringVar(&g.output, "output", g.output, "text or json")
	return fs
}

// Run runs the command line args and returns the process exit code.
func (m *Main) Run(ctx context.Context, args []string) int {
	// Every text on stdout passes through the escaper (escape.go); stderr's
	// messages are escaped where they are printed (the logger and the
	// progress line write their own escapes there).
	esc := newTextEscaper(m.Stdout)
	stdout := m.Stdout
	m.Stdout = esc
	defer func() {
		_ = esc.Flush()
		m.Stdout = stdout
	}()
	var g globalFlags
	// Global flags may come before the command.
	pre := m.flagSet("syncd", &g)
	help := pre.Bool("help", false, "")
	pre.BoolVar(help, "h", false, "")
	if err := pre.Parse(args); err != nil {
		return m.usageErr(err)
	}
	rest := pre.Args()
	if *help || len(rest) == 0 {
		fmt.Fprint(m.Stdout, usage+exitHelp+"\n")
		if len(rest) == 0 && !*help {
			return ExitUsage
		}
		return ExitOK
	}
	cmd, rest := rest[0], rest[1:]
	var code int
	switch cmd {
	case "sync":
		code = m.runSync(ctx, &g, rest, false)
	case "plan":
		code = m.runSync(ctx, &g, rest, true)
	case "apply":
		code = m.runApply(ctx, &g, rest)
	case "run":
		code = m.runDaemon(ctx, &g, rest)
	case "validate":
		code = m.runValidate(ctx, &g, rest)
	case "map":
		code = m.runMap(ctx, &g, rest)
	case "migrate":
		code = m.runMigrate(ctx, &g, rest)
	case "status":
		code = m.runStatus(ctx, &g, rest)
	case "journal":
		code = m.runJournal(ctx, &g, rest)
	case "revert":
		code = m.runRevert(ctx, &g, rest)
	case "state":
		code = m.runState(ctx, &g, rest)
	case "version":
		fmt.Fprintf(m.Stdout, "syncd %s\n", version)
	case "help":
		fmt.Fprint(m.Stdout, usage+exitHelp+"\n")
	default:
		return m.usageErr(fmt.Errorf("unknown command %q", cmd))
	}
	return code
}

func (m *Main) usageErr(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return ExitOK // parse printed the command's flags
	}
	fmt.Fprintf(m.Stderr, "syncd: %s\nRun 'syncd help' for usage.\n", escapeText(err.Error()))
	return ExitUsage
}

// parse parses a command's flags (global ones included) and checks the
// output format.
func (m *Main) parse(fs *flag.FlagSet, g *globalFlags, args []string) ([]string, error) {
	// Accept flags after positional arguments too: "apply plan.json --config x".
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fmt.Fprintf(m.Stdout, "Flags of 'syncd %s':\n", fs.Name())
				fs.SetOutput(m.Stdout)
				fs.PrintDefaults()
				fmt.Fprint(m.Stdout, "\n"+exitHelp+"\n")
			}
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	if g.output != "text" && g.output != "json" && (g.output != "jsonl" || fs.Name() != "journal") {
		return nil, fmt.Errorf("--output: want text or json, not %q", g.output)
	}
	return pos, nil
}
