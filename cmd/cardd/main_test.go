package main

import (
	"errors"
	"flag"
	"strings"
	"testing"
)

func errorsAs(err error, target any) bool { return errors.As(err, target) }

func TestDispatcher(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{name: "no arguments", args: nil, wantCode: exitUsage, wantStderr: "Usage: cardd COMMAND"},
		{name: "help", args: []string{"help"}, wantCode: exitOK, wantStdout: "Commands:"},
		{name: "-h", args: []string{"-h"}, wantCode: exitOK, wantStdout: "Commands:"},
		{name: "help for a command", args: []string{"help", "version"}, wantCode: exitOK, wantStderr: "Usage: cardd version"},
		{name: "unknown command", args: []string{"frobnicate"}, wantCode: exitUsage, wantStderr: `unknown command "frobnicate"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCardd(t, tt.args...)
			if code != tt.wantCode {
				t.Errorf("exit %d, want %d", code, tt.wantCode)
			}
			if !strings.Contains(stdout, tt.wantStdout) || !strings.Contains(stderr, tt.wantStderr) {
				t.Errorf("stdout %q / stderr %q; want %q / %q", stdout, stderr, tt.wantStdout, tt.wantStderr)
			}
		})
	}
}

// TestHelpListsEveryCommand keeps "cardd help" and the command table in step.
func TestHelpListsEveryCommand(t *testing.T) {
	_, stdout, _ := runCardd(t, "help")
	seen := map[string]bool{}
	for _, c := range commands() {
		if seen[c.name] {
			t.Errorf("command %q is in the table twice", c.name)
		}
		seen[c.name] = true
		if c.summary == "" || c.run == nil {
			t.Errorf("command %q lacks a summary or a function", c.name)
		}
		if !strings.Contains(stdout, "  "+c.name+" ") {
			t.Errorf("help does not list %q:\n%s", c.name, stdout)
		}
	}
}

func TestExitCodes(t *testing.T) {
	tests := []struct {
		err  error
		want int
	}{
		{nil, exitOK},
		{errHelp, exitOK},
		{usageError{"bad"}, exitUsage},
		{configError{Err: errors.New("bad config")}, exitConfig},
		{errSilentFailure, exitFailure},
		{errors.New("boom"), exitFailure},
	}
	for _, tt := range tests {
		var b strings.Builder
		if got := exitCode(&b, "x", tt.err); got != tt.want {
			t.Errorf("exitCode(%v) = %d, want %d", tt.err, got, tt.want)
		}
		if tt.err == errSilentFailure || tt.err == nil || tt.err == errHelp {
			if b.Len() != 0 {
				t.Errorf("exitCode(%v) printed %q", tt.err, b.String())
			}
		}
	}
}

// TestEveryCommandHasHelp checks that "cardd CMD -h" and "cardd help CMD"
// succeed and print a usage for every command in the table.
func TestEveryCommandHasHelp(t *testing.T) {
	for _, c := range commands() {
		for _, args := range [][]string{{c.name, "-h"}, {"help", c.name}} {
			code, stdout, stderr := runCardd(t, args...)
			if code != exitOK || !strings.Contains(stdout+stderr, "Usage: cardd "+c.name) {
				t.Errorf("cardd %s: exit %d, want 0 and a usage starting \"Usage: cardd %s\"\nstdout: %s\nstderr: %s",
					strings.Join(args, " "), code, c.name, stdout, stderr)
			}
		}
	}
}

// TestStationFlagsSame: every command that reads or changes a station
// takes --config FILE and --work DIR with one meaning and one default.
func TestStationFlagsSame(t *testing.T) {
	want := []string{
		"-config FILE\n    \tstation configuration FILE (default: the embedded default configuration under --work)",
		"-work DIR\n    \twork DIR of the embedded default configuration: spool, state, keys (ignored with --config) (default \"cardd-work\")",
	}
	for _, args := range [][]string{
		{"run", "-h"}, {"jobs", "list", "-h"}, {"jobs", "show", "-h"}, {"jobs", "hold", "-h"},
		{"batch", "list", "-h"}, {"batch", "show", "-h"}, {"submit", "-h"},
		{"audit", "verify", "-h"}, {"audit", "export", "-h"}, {"doctor", "-h"},
		{"printers", "list", "-h"}, {"printers", "status", "-h"},
	} {
		var out, errOut strings.Builder
		run(t.Context(), args, strings.NewReader(""), &out, &errOut)
		help := out.String() + errOut.String()
		for _, w := range want {
			if !strings.Contains(help, w) {
				t.Errorf("cardd %s: help lacks %q:\n%s", strings.Join(args, " "), w, help)
			}
		}
	}
}

// TestParseFlagsAnywhere: flags may follow positional arguments for every
// command; "--" ends the flags; a repeated flag is applied once per use.
func TestParseFlagsAnywhere(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	x := fs.Int("x", 0, "")
	var many fieldFlags = fieldFlags{}
	fs.Var(many, "f", "")
	if err := parseFlags(fs, []string{"a", "--x", "1", "b", "-f", "k=v", "--", "--y"}); err != nil {
		t.Fatal(err)
	}
	if got := fs.Args(); *x != 1 || len(got) != 3 || got[0] != "a" || got[1] != "b" || got[2] != "--y" || many["k"] != "v" || len(many) != 1 {
		t.Errorf("x=%d f=%v args %q; want 1, k=v, [a b --y]", *x, many, got)
	}
}
