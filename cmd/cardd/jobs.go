package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/cardd/cardd/internal/photogate"
	"github.com/cardd/cardd/internal/textsafe"
	"github.com/cardd/cardd/network"
	"github.com/cardd/cardd/spool"
	"github.com/cardd/cardd/spool/jobfile"
)

// cmdJobs is "cardd jobs": list and inspect jobs from the journal, and ask
// the daemon for operator actions through the spool's control directory.
func cmdJobs(ctx context.Context, e *env) error {
	subs := subcommands{
		help:    printJobsHelp,
		missing: "missing subcommand",
		unknown: "unknown jobs subcommand %q",
		table: map[string]func(context.Context, *env) error{
			"list":    jobsList,
			"show":    jobsShow,
			"batches": jobsBatches,
			"batch":   jobsBatch,
		},
	}
	for _, a := range []string{spool.ActionHold, spool.ActionRelease, spool.ActionCancel, spool.ActionConfirm, spool.ActionVoid, spool.ActionReprint, spool.ActionCloseBatch} {
		subs.table[a] = func(ctx context.Context, e *env) error { return jobsAction(ctx, e, a) }
	}
	return subs.dispatch(ctx, e)
}

func printJobsHelp(e *env) {
	fmt.Fprint(e.stderr, `Usage: cardd jobs SUBCOMMAND [flags] [JOB]

Subcommands:
  list                 jobs and their states, from the journal
  show JOB             one job with its history (and its photo checks)
  hold JOB             hold a pending job (--reason)
  release JOB          queue a held job again; a job held by the photo
                       check needs --reason (an audited override)
  cancel JOB           cancel a job that is not printing (--reason)
  confirm JOB          a card held with an unknown outcome was printed fine
  void JOB             void the serial of a card of unknown outcome (--reason)
  reprint JOB          reprint a completed job as --new-id (--reason)
  batches              permanent-mode batches and their states
  batch BATCH          a batch's manifest and reconciliation report
  close-batch BATCH    close an open batch now instead of at its size or window

JOB is a producer job id or a spool job number. Reading needs no daemon.
Actions are requests in SPOOL/control/ that the daemon applies; the command
waits for its answer (--wait). A request made while the daemon is down
stays queued and is applied when it starts.
`)
}

func openSpoolReadOnly(loc *spoolFlags) (*spool.Spool, error) {
	root, journal, err := loc.resolve()
	if err != nil {
		return nil, err
	}
	sp, err := spool.Open(root, spool.Options{ReadOnly: true, Journal: journal}, nil)
	if err != nil {
		return nil, fmt.Errorf("jobs: %w", err)
	}
	return sp, nil
}

func jobsList(_ context.Context, e *env) error {
	fs := newFlagSet(e, "jobs list", "[flags]", "Lists the spool's jobs, oldest first, from the journal.")
	loc := addSpoolFlags(fs)
	state := fs.String("state", "", "only jobs in this state (pending, held, processing, stopped, cancelled, aborted, completed)")
	asJSON := fs.Bool("json", false, "print JSON")
	if args, err := parseArgs(fs, e.args); err != nil {
		return err
	} else if len(args) > 0 {
		return usageError{"unexpected arguments: " + strings.Join(args, " ")}
	}
	sp, err := openSpoolReadOnly(loc)
	if err != nil {
		return err
	}
	var jobs []spool.Job
	for _, j := range sp.Jobs() {
		if *state == "" || string(j.State) == *state {
			jobs = append(jobs, j)
		}
	}
	net, err := loc.networkStatus()
	if err != nil {
		return err
	}
	if *asJSON {
		if net == nil {
			return printJSON(e.stdout, jobs)
		}
		out := make([]jobWithNetwork, len(jobs))
		for i, j := range jobs {
			out[i] = jobWithNetwork{Job: j, Network: net[j.ID]}
		}
		return printJSON(e.stdout, out)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	head := "NUM\tID\tSTATE\tSERIAL\tPRINTER\tUPDATED\tREASON"
	if net != nil {
		head += "\tPERMANENT CARD"
	}
	fmt.Fprintln(tw, head)
	for _, j := range jobs {
		st := string(j.State)
		if j.Sub != "" {
			st += "/" + string(j.Sub)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s", j.Num, dash(j.ID), st, dash(j.Serial), dash(j.Printer), j.Updated.UTC().Format(time.RFC3339), oneLine(j.Reason, 60))
		if net != nil {
			fmt.Fprintf(tw, "\t%s", permanentStatus(net[j.ID]))
		}
		fmt.Fprintln(tw)
	}
	return tw.Flush()
}

// jobWithNetwork is a job with its permanent request's status, for
// "jobs list --json" at a field office of a network.
type jobWithNetwork struct {
	spool.Job
	Network []network.StatusEntry `json:"network,omitempty"`
}

// permanentStatus sums up a forwarded request's latest status, "-" when
// the job asked for no permanent card.
func permanentStatus(list []network.StatusEntry) string {
	if len(list) == 0 {
		return "-"
	}
	last := network.Latest(list)
	return last.Kind + " " + statusDetail(last)
}

func statusDetail(s network.StatusEntry) string {
	var parts []string
	if s.Serial != "" {
		parts = append(parts, s.Serial)
	}
	if s.Host != "" {
		parts = append(parts, "at "+s.Host)
	}
	if s.Field != "" {
		parts = append(parts, "field "+s.Field)
	}
	if s.Reason != "" {
		parts = append(parts, oneLine(s.Reason, 60))
	}
	return strings.Join(parts, " ")
}

func jobsShow(_ context.Context, e *env) error {
	fs := newFlagSet(e, "jobs show", "[flags] JOB", "Shows one job and every transition of it in the journal.")
	loc := addSpoolFlags(fs)
	asJSON := fs.Bool("json", false, "print JSON")
	args, err := parseArgs(fs, e.args)
	if err != nil {
		return err
	}
	if len(args) != 1 {
		return usageError{"give one JOB"}
	}
	sp, err := openSpoolReadOnly(loc)
	if err != nil {
		return err
	}
	j, err := sp.Job(args[0])
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(e.stdout, j)
	}
	w := e.stdout
	fmt.Fprintf(w, "job %s (spool job %d)\n", dash(j.ID), j.Num)
	fmt.Fprintf(w, "  state:     %s %s\n", j.State, j.Sub)
	fmt.Fprintf(w, "  reason:    %s\n", dash(textsafe.Escape(j.Reason)))
	fmt.Fprintf(w, "  template:  %s\n", dash(textsafe.Escape(j.Template)))
	fmt.Fprintf(w, "  serial:    %s\n", dash(j.Serial))
	if len(j.Voided) > 0 {
		fmt.Fprintf(w, "  voided:    %s\n", strings.Join(j.Voided, ", "))
	}
	fmt.Fprintf(w, "  printer:   %s (outcome %s)\n", dash(j.Printer), dash(string(j.Outcome)))
	if j.ReprintOf != "" {
		fmt.Fprintf(w, "  reprint of %s\n", j.ReprintOf)
	}
	// What the printer said about itself before the card and when its
	// unknown outcome was settled, and the settlement's decision.
	if j.Evidence != nil {
		fmt.Fprintf(w, "  evidence:  before the card: %s\n", textsafe.Escape(j.Evidence.String()))
	}
	if j.EvidenceAfter != nil {
		fmt.Fprintf(w, "             at settlement:   %s\n", textsafe.Escape(j.EvidenceAfter.String()))
	}
	if j.Settled != "" {
		fmt.Fprintf(w, "  settled:   %s\n", textsafe.Escape(j.Settled))
	}
	if j.Rejecting != "" {
		fmt.Fprintf(w, "  rejecting: %s (a reject was begun and not yet settled)\n", j.Rejecting)
	}
	fmt.Fprintf(w, "  hash:      %s\n", dash(j.Hash))
	fmt.Fprintf(w, "  purged:    %v\n", j.Purged)
	if rep, err := photogate.ReadReport(sp.JobDir(j.Num)); err == nil {
		fmt.Fprintf(w, "photo checks: %s\n", rep.Verdict)
		for _, c := range rep.Checks {
			fmt.Fprintf(w, "  %-10s %-4s  %s\n", c.Name, c.Verdict, textsafe.Escape(c.Message))
		}
	}
	net, err := loc.networkStatus()
	if err != nil {
		return err
	}
	if list := net[j.ID]; len(list) > 0 {
		fmt.Fprintf(w, "permanent card: %s\n", permanentStatus(list))
		for _, s := range list {
			fmt.Fprintf(w, "  %s  %-16s %s\n", s.Time.UTC().Format(time.RFC3339), s.Kind, textsafe.Escape(statusDetail(s)))
		}
	}
	fmt.Fprintln(w, "history:")
	for _, r := range j.History {
		if r.Ack != 0 {
			continue // an audit acknowledgement, not a transition
		}
		st := string(r.State)
		if r.Sub != "" {
			st += "/" + string(r.Sub)
		}
		extra := ""
		if r.Serial != "" {
			if r.Void {
				extra += " void " + r.Serial
			} else {
				extra += " serial " + r.Serial
			}
		}
		if r.Outcome != "" {
			extra += " outcome " + string(r.Outcome)
		}
		if r.Evidence != nil {
			extra += " evidence read"
		}
		if r.Rejecting != "" {
			extra += " rejecting " + r.Rejecting
		}
		if r.Stray {
			extra += " stray rejected"
		}
		if r.Settled != "" {
			verdict, _, _ := strings.Cut(r.Settled, ":")
			extra += " settled " + verdict
		}
		fmt.Fprintf(w, "  %s  %-22s%s  %s\n", r.Time.UTC().Format(time.RFC3339), st, extra, oneLine(r.Reason, 100))
	}
	return nil
}

func jobsAction(ctx context.Context, e *env, action string) error {
	return spoolAction(ctx, e, "jobs "+action, action)
}

// spoolAction asks the daemon for action (command name) through the
// spool's control directory and waits for its answer.
func spoolAction(ctx context.Context, e *env, cmdName, action string) error {
	what := "JOB"
	if action == spool.ActionCloseBatch {
		what = "BATCH"
	}
	fs := newFlagSet(e, cmdName, "[flags] "+what, "Asks the daemon to "+action+" "+what+" and waits for its answer.")
	loc := addSpoolFlags(fs)
	reason := fs.String("reason", "", "why (required for cancel, void, reprint and to release a job held by the photo check)")
	newID := fs.String("new-id", "", "id of the reprint job (reprint)")
	wait := fs.Duration("wait", 10*time.Second, "how long to wait for the daemon's answer")
	args, err := parseArgs(fs, e.args)
	if err != nil {
		return err
	}
	if len(args) != 1 {
		return usageError{"give one " + what}
	}
	req := &spool.Request{Action: action, Job: args[0], Reason: *reason, NewID: *newID, By: operator()}
	if err := req.Validate(); err != nil {
		return usageError{err.Error()}
	}
	root, _, err := loc.resolve()
	if err != nil {
		return err
	}
	name, err := spool.SendRequest(root, req)
	if err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, *wait)
	defer cancel()
	resp, err := spool.WaitResponse(wctx, root, name, 100*time.Millisecond)
	if errors.Is(err, spool.ErrNoResponse) {
		return fmt.Errorf("no answer from the daemon within %v (is it running?); the request stays queued in %s/control/%s.req and is applied when the daemon runs", *wait, root, name)
	}
	if err != nil {
		return err
	}
	if !resp.OK {
		return fmt.Errorf("%s %s: %s", action, req.Job, resp.Error)
	}
	switch {
	case action == spool.ActionCloseBatch:
		fmt.Fprintf(e.stdout, "batch %s closed\n", req.Job)
	case resp.Submitted != "":
		fmt.Fprintf(e.stdout, "%s %s: submitted reprint %s as %s\n", action, req.Job, req.NewID, resp.Submitted)
	default:
		fmt.Fprintf(e.stdout, "%s %s: done, job is %s\n", action, req.Job, resp.State)
	}
	return nil
}

func jobsBatches(ctx context.Context, e *env) error { return batchesList(ctx, e, "jobs batches") }

// batchesList is "cardd jobs batches" and "cardd batch list" (name).
func batchesList(_ context.Context, e *env, name string) error {
	fs := newFlagSet(e, name, "[flags]", "Lists the permanent-mode batches from the journal.")
	loc := addSpoolFlags(fs)
	asJSON := fs.Bool("json", false, "print JSON")
	if args, err := parseArgs(fs, e.args); err != nil {
		return err
	} else if len(args) > 0 {
		return usageError{"unexpected arguments: " + strings.Join(args, " ")}
	}
	sp, err := openSpoolReadOnly(loc)
	if err != nil {
		return err
	}
	bs := sp.Batches()
	if *asJSON {
		return printJSON(e.stdout, bs)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "BATCH\tSTATE\tKEY\tOPENED\tCLOSED\tREASON")
	for _, b := range bs {
		closed := "-"
		if !b.Closed.IsZero() {
			closed = b.Closed.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", b.ID, b.State, dash(b.Key), b.Opened.UTC().Format(time.RFC3339), closed, oneLine(b.Reason, 60))
	}
	return tw.Flush()
}

func jobsBatch(ctx context.Context, e *env) error { return batchReportCmd(ctx, e, "jobs batch") }

// batchReportCmd is "cardd jobs batch" and "cardd batch report" (name).
func batchReportCmd(_ context.Context, e *env, name string) error {
	rep, asJSON, err := batchReportArg(e, name,
		"Prints a batch's manifest (job → serial → printer → outcome) and reconciliation: cards printed,\n"+
			"spoiled, reprinted, voided, blanks used against blanks expected and loaded. A finished batch's\n"+
			"report is read from SPOOL/batches/BATCH/; an unfinished one is computed from the journal\n"+
			"(stock loaded then comes from the configuration only when the daemon writes the report).")
	if err != nil {
		return err
	}
	if asJSON {
		return printJSON(e.stdout, rep)
	}
	_, err = fmt.Fprint(e.stdout, rep.Text())
	return err
}

// batchReportArg parses the flags of a command that reads one batch
// (spool location, --json, then BATCH) and returns that batch's report and
// whether JSON was asked for.
func batchReportArg(e *env, name, doc string) (rep *spool.BatchReport, asJSON bool, err error) {
	fs := newFlagSet(e, name, "[flags] BATCH", doc)
	loc := addSpoolFlags(fs)
	j := fs.Bool("json", false, "print JSON")
	args, err := parseArgs(fs, e.args)
	if err != nil {
		return nil, false, err
	}
	if len(args) != 1 {
		return nil, false, usageError{"give one BATCH"}
	}
	rep, err = readBatchReport(loc, args[0])
	return rep, *j, err
}

// printJSON writes v to w as indented JSON.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// readBatchReport returns batch id's report: the one the daemon wrote
// into SPOOL/batches/ID/ when the batch finished, or else one computed
// from the journal.
func readBatchReport(loc *spoolFlags, id string) (*spool.BatchReport, error) {
	if err := jobfile.ValidID(id); err != nil {
		return nil, usageError{"batch: " + err.Error()}
	}
	sp, err := openSpoolReadOnly(loc)
	if err != nil {
		return nil, err
	}
	if rep, err := sp.WrittenBatchReport(id); err != nil {
		return nil, fmt.Errorf("batch %s: report: %w", id, err)
	} else if rep != nil {
		return rep, nil
	}
	return sp.BatchReport(id, nil)
}

// operator names the person running the command, for the journal.
func operator() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return os.Getenv("USER")
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// oneLine flattens s to one line of at most max bytes; control, bidi and
// other invisible characters (which could steer a terminal or reorder
// what is read) are escaped (textsafe).
func oneLine(s string, max int) string {
	s = strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' || r == '\t' {
			return ' '
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(textsafe.Escape(s)), " ")
	if len(s) > max {
		for max > 0 && !utf8.RuneStart(s[max]) {
			max--
		}
		s = s[:max] + "…"
	}
	return s
}
