package main

import (
	"errors"
	"flag"
	"fmt"

	"github.com/cardd/cardd/config"
)

// newFlagSet returns a flag set for a subcommand that writes its usage to
// the command's stderr and reports errors instead of exiting. usage is the
// synopsis line after "cardd NAME", doc a paragraph describing the command.
func newFlagSet(e *env, name, usage, doc string) *flag.FlagSet {
	fs := flag.NewFlagSet("cardd "+name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		out := fs.Output()
		fmt.Fprintf(out, "Usage: cardd %s %s\n\n", name, usage)
		if doc != "" {
			fmt.Fprintf(out, "%s\n\n", doc)
		}
		fmt.Fprintln(out, "Flags:")
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args into fs and maps -h and flag errors to errHelp and
// usageError. Flags may come before or after the positional arguments (see
// parseArgs); afterwards fs.Args() holds the positional arguments in order.
func parseFlags(fs *flag.FlagSet, args []string) error {
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	// Only the positional arguments are left: "--" sets no flag and makes
	// them fs.Args().
	return parseOnce(fs, append([]string{"--"}, pos...))
}

// parseOnce is one flag.FlagSet.Parse with the errors mapped.
func parseOnce(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errHelp
		}
		return usageError{err.Error()}
	}
	return nil
}

// parseArgs parses flags that may come before or after the positional
// arguments ("jobs show J1 --work w" as well as "jobs show --work w J1")
// and returns the positional arguments in order. Everything after "--" is
// positional.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := parseOnce(fs, args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if used := len(args) - len(rest); used > 0 && args[used-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// stationFlags are the two flags every command that reads or changes a
// station takes, with one meaning and one default everywhere: --config
// FILE, or else the embedded default configuration with every path under
// --work DIR (default cardd-work, as "cardd run" uses it).
type stationFlags struct {
	config, work *string
}

func addStationFlags(fs *flag.FlagSet) *stationFlags {
	return &stationFlags{
		config: fs.String("config", "", "station configuration `FILE` (default: the embedded default configuration under --work)"),
		work:   fs.String("work", defaultWorkDir, "work `DIR` of the embedded default configuration: spool, state, keys (ignored with --config)"),
	}
}

// load returns the station's configuration.
func (s *stationFlags) load() (*config.Config, error) {
	return loadConfig(*s.config, *s.work)
}

// source names the configuration the flags chose, for messages.
func (s *stationFlags) source() string {
	if *s.config != "" {
		return "configuration " + *s.config
	}
	return "the embedded default configuration under --work " + *s.work
}

// noStation is the error of a command that finds no station where its
// flags point: dir (a work directory, or the configured spool directory)
// does not exist.
func (s *stationFlags) noStation(missing string) error {
	where := *s.work
	if *s.config != "" {
		where = missing
	}
	return configError{Err: fmt.Errorf("no station at %s: %s does not exist (looked with %s; give --work DIR or --config FILE, or start one with \"cardd run\")", where, missing, s.source())}
}
