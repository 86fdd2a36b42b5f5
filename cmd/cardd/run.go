package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"

	"golang.org/x/term"

	"github.com/cardd/cardd/config"
	"github.com/cardd/cardd/station"
)

const runDoc = `Runs the station daemon until SIGTERM or SIGINT: takes jobs from the spool's
incoming/ directory, composes each card (template, photo, signed QR read back
and verified before printing), prints it on the configured printers and
records every outcome in the journal and the audit log. On a signal, the card
in the printer is allowed to finish and no new card is started.

Without --config it runs the embedded default configuration ("cardd config
default") with every path under --work: one in-process emulated printer that
writes the cards it prints as PNG files into WORK/printed/.

On the first start, when the configured signing key (security.signing_key) does
not exist, it is generated (mode 0600) and a trust list holding its public
key is written to security.trust_list, so "cardd verify --trust TRUST_LIST
--image CARD.png" works at once. A trust list that lacks the key is an error.

The HTTP endpoint (http.listen, loopback by default) serves /healthz, /status
(JSON), /metrics (Prometheus), /verify (the officers' verifier page) and the
operator dashboard at /ui/ (with a token, browsers sign in at /ui/login). A
non-loopback address is refused unless http.tls_cert, http.tls_key and
http.token_file (a bearer token) or http.client_ca (client certificates) are
set.

Logs go to stderr: text on a terminal, JSON otherwise; with --config, the
file's log.format decides unless --log-format is given.

Exit status: 0 after a clean shutdown, 3 when the configuration or the
station's setup (keys, spool, audit log, listen address) is wrong, 1 on a
failure while running.`

// cmdRun implements "cardd run".
func cmdRun(ctx context.Context, e *env) error {
	fs := newFlagSet(e, "run", "[--config FILE] [--work DIR] [--log-format text|json]", runDoc)
	st := addStationFlags(fs)
	formatFlag := fs.String("log-format", "", "log format: text or json (default: see above)")
	levelFlag := fs.String("log-level", "", "log level: debug, info, warn or error (default: the configuration's)")
	if args, err := parseArgs(fs, e.args); err != nil {
		return err
	} else if len(args) > 0 {
		return usageError{fmt.Sprintf("unexpected argument %q", args[0])}
	}
	if f := *formatFlag; f != "" && f != "text" && f != "json" {
		return usageError{fmt.Sprintf("--log-format %q: want text or json", f)}
	}
	cfg, err := st.load()
	if err != nil {
		return err
	}
	if *levelFlag != "" {
		cfg.Log.Level = *levelFlag
	}
	log := daemonLogger(e.stderr, cfg, *formatFlag, *st.config != "")
	return runDaemon(ctx, cfg, log, daemonOptions{})
}

// daemonOptions are the knobs of runDaemon beside the configuration.
type daemonOptions struct {
	opts station.Options
	// httpReady, when set, receives the HTTP endpoint's address once it
	// listens.
	httpReady func(net.Addr)
	// started, when set, is called with the open station before it runs.
	started func(*station.Station)
}

// daemonLogger builds the daemon's logger: the format given, else the
// configuration file's, else text on a terminal and JSON otherwise.
func daemonLogger(w io.Writer, cfg *config.Config, format string, fromFile bool) *slog.Logger {
	if format == "" && fromFile {
		format = cfg.Log.Format
	}
	if format == "" {
		format = "json"
		if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			format = "text"
		}
	}
	ho := &slog.HandlerOptions{Level: cfg.Log.SlogLevel()}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, ho))
	}
	return slog.New(slog.NewTextHandler(w, ho))
}

// runDaemon opens the station, starts the HTTP endpoint and runs the
// scheduler until ctx ends. Setup problems are configErrors.
func runDaemon(ctx context.Context, cfg *config.Config, log *slog.Logger, o daemonOptions) (err error) {
	st, err := station.Open(ctx, cfg, log, o.opts)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := st.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	if a := st.HTTPAddr(); a != nil && o.httpReady != nil {
		o.httpReady(a)
	}
	if o.started != nil {
		o.started(st)
	}
	return st.Run(ctx)
}
