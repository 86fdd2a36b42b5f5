package main

import (
	"context"
	"fmt"
)

// subcommands is the dispatch table of a command that takes a subcommand
// first ("cardd jobs list ..."): dispatch runs the entry that e.args[0]
// names with the arguments after it.
type subcommands struct {
	help    func(e *env)                                 // prints the command's usage to e.stderr
	missing string                                       // usage error when no subcommand is given
	unknown string                                       // format of the usage error for an unknown name (%q: the name)
	table   map[string]func(context.Context, *env) error // subcommand name → what runs it
}

// dispatch runs the subcommand e.args[0] names. With no arguments it prints
// the help and returns a usage error; with -h, -help or --help first it
// prints the help and returns errHelp.
func (s subcommands) dispatch(ctx context.Context, e *env) error {
	if len(e.args) == 0 || e.args[0] == "-h" || e.args[0] == "--help" || e.args[0] == "-help" {
		s.help(e)
		if len(e.args) == 0 {
			return usageError{s.missing}
		}
		return errHelp
	}
	run, ok := s.table[e.args[0]]
	if !ok {
		return usageError{fmt.Sprintf(s.unknown, e.args[0])}
	}
	sub := *e
	sub.args = e.args[1:]
	return run(ctx, &sub)
}
