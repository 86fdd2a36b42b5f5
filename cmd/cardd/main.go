// Command cardd is the card-printing station daemon and its tools.
//
// Run "cardd help" for the list of subcommands and "cardd CMD -h" for the
// flags of one.
package main

import (
	"context"
	"errors"
	"fmt"
	"github.com/cardd/cardd/station"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Exit codes. A usage or configuration problem is not worth a restart by a
// supervisor, so it has its own code.
const (
	exitOK      = 0
	exitFailure = 1 // the command ran and failed (bad job, invalid card …)
	exitUsage   = 2 // bad flags or arguments
	exitConfig  = 3 // configuration or startup failure
)

// usageError marks an error caused by bad command-line use.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// configError marks an error in the configuration or station setup; it
// is the station package's type, so that the station's setup errors give
// the same exit status.
type configError = station.ConfigError

// env is what a command runs with: its arguments and standard streams.
type env struct {
	args   []string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

// command is one cardd subcommand.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, e *env) error
}

// commands is the table of subcommands, in the order help lists them.
func commands() []command {
	return []command{
		// Each subcommand lives in its own file and adds its line here.
		{"run", "run the station daemon (spool, printers, HTTP endpoint)", cmdRun},
		{"demo", "the whole product on emulated printers: sample jobs to printed cards", cmdDemo},
		{"keys", "issuer signing keys and trust list entries", cmdKeys},
		{"render", "render a card to PNG files, panel by panel", cmdRender},
		{"photo", "check portraits; show the crop a template makes of one", cmdPhoto},
		{"verify", "check a card's signed QR code offline", cmdVerify},
		{"audit", "verify the issuance log, export the deny list", cmdAudit},
		{"config", "check a configuration file, print the default one", cmdConfig},
		{"doctor", "check this station's setup and say what to fix", cmdDoctor},
		{"submit", "commit jobs to the spool atomically (job file, flags or CSV)", cmdSubmit},
		{"jobs", "list and show jobs; hold, release, cancel, confirm, void, reprint", cmdJobs},
		{"batch", "permanent-mode batches: list, show, reconciliation report, close", cmdBatch},
		{"printers", "list printers; status, test card, calibration of one", cmdPrinters},
		{"network", "issuance network: NKeys and users for the hub, nats-server users config", cmdNetwork},
		{"version", "print cardd's version and Go version", cmdVersion},
		{"emulate", "serve a virtual Evolis or Magicard printer over TCP", cmdEmulate},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run dispatches to a subcommand and maps its error to an exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		printHelp(stderr)
		return exitUsage
	}
	name := args[0]
	if name == "help" || name == "-h" || name == "--help" || name == "-help" {
		if len(args) > 1 {
			return run(ctx, []string{args[1], "-h"}, stdin, stdout, stderr)
		}
		printHelp(stdout)
		return exitOK
	}
	for _, c := range commands() {
		if c.name != name {
			continue
		}
		err := c.run(ctx, &env{args: args[1:], stdin: stdin, stdout: stdout, stderr: stderr})
		return exitCode(stderr, name, err)
	}
	fmt.Fprintf(stderr, "cardd: unknown command %q\n\n", name)
	printHelp(stderr)
	return exitUsage
}

func exitCode(stderr io.Writer, name string, err error) int {
	if err == nil {
		return exitOK
	}
	var ue usageError
	var ce configError
	switch {
	case errors.Is(err, errHelp):
		return exitOK
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "cardd %s: %v\n", name, err)
		return exitUsage
	case errors.As(err, &ce):
		fmt.Fprintf(stderr, "cardd %s: %v\n", name, err)
		return exitConfig
	case errors.Is(err, errSilentFailure):
		return exitFailure
	}
	fmt.Fprintf(stderr, "cardd %s: %v\n", name, err)
	return exitFailure
}

// errHelp is returned by a command whose -h was asked for.
var errHelp = errors.New("help requested")

// errSilentFailure is returned by a command that already printed why it
// failed (such as "config check" listing every problem).
var errSilentFailure = errors.New("failed")

func printHelp(w io.Writer) {
	fmt.Fprintln(w, "cardd: card-printing station daemon and tools")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Usage: cardd COMMAND [flags] [args]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, `Run "cardd COMMAND -h" for the flags of a command.`)
}
