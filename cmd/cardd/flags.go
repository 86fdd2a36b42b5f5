package main

import (
	"errors"
	"flag"
	"fmt"
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
// usageError.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errHelp
		}
		return usageError{err.Error()}
	}
	return nil
}
