package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/cardd/cardd/config"
)

// defaultWorkDir is where the embedded default configuration keeps its
// spool, state, keys and emulator output when no file is given.
const defaultWorkDir = "cardd-work"

// loadConfig loads the configuration file at path, or the embedded default
// resolved under workDir when path is empty. A configuration that cannot be
// read or is not valid comes back as a configError (exit code 3); the
// wrapped error is a *config.Error when the file has problems.
func loadConfig(path, workDir string) (*config.Config, error) {
	var cfg *config.Config
	var err error
	if path == "" {
		if workDir == "" {
			workDir = defaultWorkDir
		}
		cfg, err = config.Embedded(workDir)
	} else {
		cfg, err = config.Load(path)
	}
	if err != nil {
		return nil, configError{Err: err}
	}
	return cfg, nil
}

// cmdConfig is "cardd config": check a configuration or print the default.
func cmdConfig(ctx context.Context, e *env) error {
	return subcommands{
		help:    printConfigHelp,
		missing: "missing subcommand (check, default)",
		unknown: "unknown config subcommand %q (want check or default)",
		table: map[string]func(context.Context, *env) error{
			"check":   configCheck,
			"default": configDefault,
		},
	}.dispatch(ctx, e)
}

func printConfigHelp(e *env) {
	fmt.Fprint(e.stderr, `Usage: cardd config SUBCOMMAND [flags]

Subcommands:
  check [FILE]   validate FILE (default: the embedded default) and print the
                 effective configuration; every problem is listed
  default        print the embedded default configuration, with comments
`)
}

func configCheck(ctx context.Context, e *env) error {
	fs := newFlagSet(e, "config check", "[--work DIR] [FILE]",
		"Validates the configuration FILE, or the embedded default when no FILE is given, and prints\n"+
			"the effective configuration (defaults filled in, paths made absolute) as TOML.\n"+
			"Advice about valid but discouraged settings (such as an issuer that is a URN rather than\n"+
			"an https:// URI) is printed to stderr as warnings.\n"+
			"Exits 0 when it is valid; otherwise lists every problem as FILE:LINE: KEY: PROBLEM and exits 1.\n"+
			"It checks the configuration's shape only; it opens no key, spool or printer.")
	workDir := fs.String("work", defaultWorkDir, "work `DIR` the embedded default's relative paths resolve under")
	args, err := parseArgs(fs, e.args)
	if err != nil {
		return err
	}
	if len(args) > 1 {
		return usageError{"at most one FILE"}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	var path string
	if len(args) == 1 {
		path = args[0]
	}
	cfg, err := loadConfig(path, *workDir)
	if err != nil {
		var problems *config.Error
		if !errors.As(err, &problems) {
			return err
		}
		name := path
		if name == "" {
			name = config.EmbeddedName
		}
		for _, p := range problems.Problems {
			fmt.Fprintln(e.stderr, p.Error())
		}
		n := len(problems.Problems)
		fmt.Fprintf(e.stderr, "%s: %d problem%s\n", name, n, plural(n))
		return errSilentFailure
	}
	out, err := config.Marshal(cfg)
	if err != nil {
		return err
	}
	src := config.EmbeddedName + " (--work " + *workDir + ")"
	if path != "" {
		if abs, err := filepath.Abs(path); err == nil {
			path = abs
		}
		src = path
	}
	for _, w := range cfg.Warnings() {
		fmt.Fprintf(e.stderr, "%s: warning: %s\n", src, w)
	}
	fmt.Fprintf(e.stdout, "# Effective configuration of %s: valid.\n\n", src)
	_, err = e.stdout.Write(out)
	return err
}

func configDefault(_ context.Context, e *env) error {
	fs := newFlagSet(e, "config default", "",
		"Prints the embedded default configuration: a commented TOML file to start a station's own from.")
	if err := parseFlags(fs, e.args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usageError{"no arguments expected"}
	}
	_, err := e.stdout.Write(config.EmbeddedTOML())
	return err
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
