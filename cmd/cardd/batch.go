package main

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/cardd/cardd/spool"
)

// cmdBatch is "cardd batch": the permanent-mode batches (list, show,
// report) read from the journal, and closing one through the daemon. It
// shares its work with "cardd jobs batches|batch|close-batch".
func cmdBatch(ctx context.Context, e *env) error {
	return subcommands{
		help:    printBatchHelp,
		missing: "missing subcommand",
		unknown: "unknown batch subcommand %q",
		table: map[string]func(context.Context, *env) error{
			"list": func(ctx context.Context, e *env) error { return batchesList(ctx, e, "batch list") },
			"show": batchShow,
			"report": func(ctx context.Context, e *env) error {
				if wantsHub(e.args) {
					return facilityReportCmd(ctx, e)
				}
				return batchReportCmd(ctx, e, "batch report")
			},
			"close": func(ctx context.Context, e *env) error {
				return spoolAction(ctx, e, "batch close", spool.ActionCloseBatch)
			},
		},
	}.dispatch(ctx, e)
}

func printBatchHelp(e *env) {
	fmt.Fprint(e.stderr, `Usage: cardd batch SUBCOMMAND [flags] [BATCH]

Subcommands:
  list           permanent-mode batches and their states
  show BATCH     a batch and its manifest (job → serial → printer → outcome)
  report BATCH   the batch's reconciliation report: cards printed, spoiled,
                 reprinted, voided, blanks used against blanks expected and
                 loaded, per printer, and the manifest
  report --hub [BATCH]
                 one report of the whole facility (every central host of
                 the network) from the hub, read with a central host's
                 [network] credentials: every host's batches (from the
                 summaries the hosts keep there) with the facility's totals
                 and discrepancies, and the requests from the outcome
                 events; with BATCH that batch on every host
  close BATCH    close an open batch now instead of at its size or window

list, show and report read the journal (no daemon needed) and take --json;
close is a request the daemon applies (see "cardd jobs").
`)
}

// batchShow prints a batch and its manifest.
func batchShow(_ context.Context, e *env) error {
	rep, asJSON, err := batchReportArg(e, "batch show", "Shows a batch and its manifest: job → serial → printer → outcome.")
	if err != nil {
		return err
	}
	if asJSON {
		return printJSON(e.stdout, struct {
			Batch    spool.Batch           `json:"batch"`
			Manifest []spool.ManifestEntry `json:"manifest"`
		}{rep.Batch, rep.Manifest})
	}
	b := rep.Batch
	w := e.stdout
	fmt.Fprintf(w, "batch %s: %s\n", b.ID, b.State)
	fmt.Fprintf(w, "  template: %s\n", dash(b.Key))
	fmt.Fprintf(w, "  opened:   %s\n", timeOrDash(b.Opened))
	fmt.Fprintf(w, "  closed:   %s %s\n", timeOrDash(b.Closed), oneLine(b.Reason, 60))
	fmt.Fprintf(w, "  done:     %s\n", timeOrDash(b.Done))
	fmt.Fprintf(w, "  jobs:     %d\n\n", len(rep.Manifest))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "JOB\tID\tSERIAL\tPRINTER\tOUTCOME\tSTATE\tREPRINT OF\tREASON")
	for _, m := range rep.Manifest {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", m.Job, dash(m.ID), dash(m.Serial), dash(m.Printer),
			dash(string(m.Outcome)), m.State, dash(m.ReprintOf), oneLine(m.Reason, 60))
	}
	return tw.Flush()
}

// timeOrDash formats t in UTC, or "-" when it is zero.
func timeOrDash(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}
