package spool

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/cardd/cardd/printer"
	"github.com/cardd/cardd/spool/jobfile"
)

// Permanent mode gathers jobs into batches. A job is permanent when its
// file says mode = "permanent", or says nothing at a station whose
// Config.Mode is permanent. Admission puts it into the open batch of its
// key (its template when Batching.PerTemplate, else one key), opening one
// if needed; a batch closes when it holds Batching.Size jobs or
// Batching.Window after it opened. Only jobs of closed batches print,
// across every printer of the pool. A closed batch whose jobs have all
// settled (none pending, processing, stopped or held) is done: its
// manifest and reconciliation report are written to
// ROOT/batches/ID/{report.json,report.txt}.
//
// Batch transitions are journal records with Job 0 and BatchState set.

// BatchState is the state of a batch.
type BatchState string

// Batch states.
const (
	BatchOpen   BatchState = "open"
	BatchClosed BatchState = "closed"
	BatchDone   BatchState = "done"
)

// Batching configures permanent mode.
type Batching struct {
	// Size closes a batch when it holds this many jobs (default 50).
	Size int
	// Window closes a batch this long after it opened (default 1h).
	Window time.Duration
	// PerTemplate keeps templates apart in separate batches.
	PerTemplate bool
}

// Batch is a group of permanent-mode jobs.
type Batch struct {
	ID     string     `json:"id"`
	Key    string     `json:"key,omitempty"` // template, with PerTemplate
	State  BatchState `json:"state"`
	Opened time.Time  `json:"opened"`
	Closed time.Time  `json:"closed,omitzero"`
	Done   time.Time  `json:"done,omitzero"`
	Reason string     `json:"reason,omitempty"` // why it closed
}

const dirBatches = "batches"

// applyBatch folds a batch record; s.mu held or during replay.
func (s *Spool) applyBatch(r *Record) {
	b := s.batches[r.Batch]
	if b == nil {
		b = &Batch{ID: r.Batch, Opened: r.Time}
		s.batches[r.Batch] = b
		s.batchOrder = append(s.batchOrder, r.Batch)
	}
	if r.Template != "" {
		b.Key = r.Template
	}
	b.State = r.BatchState
	b.Reason = r.Reason
	switch r.BatchState {
	case BatchClosed:
		b.Closed = r.Time
	case BatchDone:
		b.Done = r.Time
	}
}

// Batches returns every batch, oldest first.
func (s *Spool) Batches() []Batch {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Batch, 0, len(s.batchOrder))
	for _, id := range s.batchOrder {
		out = append(out, *s.batches[id])
	}
	return out
}

// permanent reports whether a job batches.
func (s *Scheduler) permanent(mode string) bool {
	if mode == "" {
		return s.cfg.Mode == jobfile.ModePermanent
	}
	return mode == jobfile.ModePermanent
}

// assignBatch returns the open batch a new permanent job joins, opening
// one (journaled) when there is none. s.sp.mu held.
func (s *Scheduler) assignBatch(template string) (string, error) {
	sp := s.sp
	key := ""
	if s.cfg.Batching.PerTemplate {
		key = template
	}
	for _, id := range sp.batchOrder {
		if b := sp.batches[id]; b.State == BatchOpen && b.Key == key {
			return id, nil
		}
	}
	id := fmt.Sprintf("B%06d", len(sp.batchOrder)+1)
	// Lazy like the admission it comes with: lost together, redone
	// together.
	if _, err := sp.recordLazy(Record{Batch: id, BatchState: BatchOpen, Template: key}); err != nil {
		return "", err
	}
	s.log.Info("batch opened", "batch", id, "key", key)
	return id, nil
}

// batchJobs returns the jobs of a batch in job order. s.sp.mu held.
func (s *Scheduler) batchJobs(id string) []*Job { return s.sp.batchJobs(id) }

// batchJobs returns the jobs of a batch in job order; s.mu held.
func (s *Spool) batchJobs(id string) []*Job {
	var out []*Job
	for _, j := range s.jobs {
		if j.Batch == id {
			out = append(out, j)
		}
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Num < out[b].Num })
	return out
}

// closeDue closes open batches that are full or whose window passed.
// s.sp.mu held.
func (s *Scheduler) closeDue() error {
	sp := s.sp
	now := s.now()
	for _, id := range sp.batchOrder {
		b := sp.batches[id]
		if b.State != BatchOpen {
			continue
		}
		reason := ""
		switch n := len(s.batchJobs(id)); {
		case n >= s.cfg.Batching.Size:
			reason = fmt.Sprintf("full (%d jobs)", n)
		case now.Sub(b.Opened) >= s.cfg.Batching.Window:
			reason = fmt.Sprintf("window of %v passed (%d jobs)", s.cfg.Batching.Window, n)
		default:
			continue
		}
		if _, err := sp.record(Record{Batch: id, BatchState: BatchClosed, Reason: reason}); err != nil {
			return err
		}
		s.log.Info("batch closed", "batch", id, "reason", reason)
	}
	return nil
}

// CloseBatch closes an open batch now (an operator does not want to wait
// for the window).
func (s *Scheduler) CloseBatch(id, reason string) error {
	s.sp.mu.Lock()
	defer s.sp.mu.Unlock()
	b := s.sp.batches[id]
	if b == nil {
		return fmt.Errorf("%w: %q", ErrNoBatch, id)
	}
	if b.State != BatchOpen {
		return fmt.Errorf("spool: batch %s: %w: it is %s", id, ErrState, b.State)
	}
	_, err := s.sp.record(Record{Batch: id, BatchState: BatchClosed, Reason: "closed by operator: " + orDefault(reason, "no reason given")})
	if err == nil {
		s.poke()
	}
	return err
}

// finishBatches marks closed batches whose jobs have all settled as done
// and writes their reports.
func (s *Scheduler) finishBatches() error {
	sp := s.sp
	sp.mu.Lock()
	defer sp.mu.Unlock()
	for _, id := range sp.batchOrder {
		b := sp.batches[id]
		if b.State != BatchClosed {
			continue
		}
		settled := true
		for _, j := range s.batchJobs(id) {
			if !j.State.Final() {
				settled = false
				break
			}
		}
		if !settled {
			continue
		}
		if _, err := sp.record(Record{Batch: id, BatchState: BatchDone, Reason: b.Reason}); err != nil {
			return err
		}
		rep := s.report(id)
		if err := writeReport(filepath.Join(sp.root, dirBatches, id), rep, !sp.opts.NoSync); err != nil {
			return fmt.Errorf("spool: batch %s: report: %w", id, err)
		}
		s.log.Info("batch done", "batch", id, "printed", rep.Printed, "spoiled", rep.Spoiled, "blanks_used", rep.BlanksUsed)
	}
	return nil
}

// ManifestEntry is one job of a batch manifest.
type ManifestEntry struct {
	Job       uint64          `json:"job"`
	ID        string          `json:"id"`
	Serial    string          `json:"serial,omitempty"`
	Voided    []string        `json:"voided,omitempty"`
	Printer   string          `json:"printer,omitempty"`
	Outcome   printer.Outcome `json:"outcome,omitempty"`
	State     State           `json:"state"`
	Reason    string          `json:"reason,omitempty"`
	ReprintOf string          `json:"reprint_of,omitempty"`
}

// PrinterUsage is one printer's share of a batch.
type PrinterUsage struct {
	Name    string `json:"name"`
	Printed int    `json:"printed"`
	Spoiled int    `json:"spoiled"`
	Unknown int    `json:"unknown"` // outcome unknown, not confirmed
	// Stray counts the cards left in the printer by an earlier attempt
	// and rejected before a card of this batch. A stray that is the card
	// of a job held as outcome unknown is already counted there (as
	// Unknown); any other stray is included in Spoiled and BlanksUsed.
	Stray int `json:"stray,omitempty"`
	// BlanksUsed counts the cards fed: printed, spoiled and unknown.
	BlanksUsed int `json:"blanks_used"`
	// StockLoaded is what the technician recorded as loaded.
	StockLoaded int `json:"stock_loaded"`
}

// BatchReport is a batch's manifest and reconciliation.
type BatchReport struct {
	Batch    Batch           `json:"batch"`
	Manifest []ManifestEntry `json:"manifest"`
	Jobs     int             `json:"jobs"`
	// Printed cards, Spoiled (rejected) cards, Reprinted jobs (reprints
	// of earlier cards), Voided serials, cards of Unknown outcome.
	Printed   int `json:"printed"`
	Spoiled   int `json:"spoiled"`
	Reprinted int `json:"reprinted"`
	Voided    int `json:"voided"`
	Unknown   int `json:"unknown"`
	// Stray: cards left in a printer by an earlier attempt and rejected;
	// unattributed ones are included in Spoiled, those of a held job are
	// counted once, under that job (see PrinterUsage.Stray).
	Stray     int `json:"stray,omitempty"`
	Aborted   int `json:"aborted"`
	Cancelled int `json:"cancelled"`
	// BlanksExpected is one per job that was to print; BlanksUsed the
	// cards actually fed.
	BlanksExpected int            `json:"blanks_expected"`
	BlanksUsed     int            `json:"blanks_used"`
	Printers       []PrinterUsage `json:"printers"`
}

// BatchReport computes the report of a batch as it stands.
func (s *Scheduler) BatchReport(id string) (*BatchReport, error) {
	return s.sp.BatchReport(id, s.stock())
}

// stock maps printer names to the stock loaded.
func (s *Scheduler) stock() map[string]int {
	m := map[string]int{}
	for _, p := range s.prs {
		m[p.cfg.Name] = p.cfg.StockLoaded
	}
	return m
}

// report computes a batch report; s.sp.mu held.
func (s *Scheduler) report(id string) *BatchReport { return s.sp.report(id, s.stock()) }

// BatchReport computes the report of a batch from the journal as it
// stands; stock gives the blanks loaded per printer (nil: unknown).
func (s *Spool) BatchReport(id string, stock map[string]int) (*BatchReport, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.batches[id] == nil {
		return nil, fmt.Errorf("%w: %q", ErrNoBatch, id)
	}
	return s.report(id, stock), nil
}

// BatchReports computes the reports of the batches ids as they stand,
// going through the jobs once (BatchReport for each batch would go
// through every job of the spool for each). An unknown id is an error.
func (s *Scheduler) BatchReports(ids []string) ([]*BatchReport, error) {
	return s.sp.BatchReports(ids, s.stock())
}

// BatchReports computes the reports of the batches ids from the journal
// as they stand, going through the jobs once; stock as for BatchReport.
func (s *Spool) BatchReports(ids []string, stock map[string]int) ([]*BatchReport, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	jobs := make(map[string][]*Job, len(ids))
	for _, id := range ids {
		if s.batches[id] == nil {
			return nil, fmt.Errorf("%w: %q", ErrNoBatch, id)
		}
		jobs[id] = nil
	}
	for _, j := range s.jobs {
		if list, ok := jobs[j.Batch]; ok && j.Batch != "" {
			jobs[j.Batch] = append(list, j)
		}
	}
	out := make([]*BatchReport, 0, len(ids))
	for _, id := range ids {
		list := jobs[id]
		sort.Slice(list, func(a, b int) bool { return list[a].Num < list[b].Num })
		out = append(out, s.reportOf(id, list, stock))
	}
	return out, nil
}

// report computes a batch report; s.mu held.
func (s *Spool) report(id string, stock map[string]int) *BatchReport {
	return s.reportOf(id, s.batchJobs(id), stock)
}

// reportOf computes the report of batch id whose jobs, in job order, are
// jobs; s.mu held.
func (s *Spool) reportOf(id string, jobs []*Job, stock map[string]int) *BatchReport {
	rep := &BatchReport{Batch: *s.batches[id]}
	usage := map[string]*PrinterUsage{}
	for name, n := range stock {
		usage[name] = &PrinterUsage{Name: name, StockLoaded: n}
	}
	use := func(name string) *PrinterUsage {
		if usage[name] == nil {
			usage[name] = &PrinterUsage{Name: name}
		}
		return usage[name]
	}
	for _, j := range jobs {
		rep.Jobs++
		rep.Manifest = append(rep.Manifest, ManifestEntry{Job: j.Num, ID: j.ID, Serial: j.Serial, Voided: j.Voided, Printer: j.Printer, Outcome: j.Outcome, State: j.State, Reason: j.Reason, ReprintOf: j.ReprintOf})
		rep.Voided += len(j.Voided)
		if j.ReprintOf != "" {
			rep.Reprinted++
		}
		switch j.State {
		case StateAborted:
			rep.Aborted++
		case StateCancelled:
			rep.Cancelled++
		}
		if j.State != StateAborted && j.State != StateCancelled {
			rep.BlanksExpected++
		}
		// Walk the history for what physically happened per attempt.
		cur, unknownOn := "", ""
		j.loadHistory()
		for _, r := range j.History {
			if r.Printer != "" {
				cur = r.Printer
			}
			if r.Stray {
				// A card left in the printer by an earlier attempt,
				// rejected before this job's card. When it is the card of
				// a job held as outcome unknown (StraySerial), that blank is
				// already counted there: note it, do not count it twice.
				// Otherwise it is one more spoiled blank.
				u := use(cur)
				u.Stray++
				if r.StraySerial == "" {
					u.Spoiled++
					u.BlanksUsed++
				}
			}
			switch r.Outcome {
			case printer.OutcomePrinted:
				u := use(cur)
				u.Printed++
				if unknownOn != "" {
					// Confirmed: the blank was counted as unknown.
					use(unknownOn).Unknown--
					unknownOn = ""
				} else {
					u.BlanksUsed++
				}
			case printer.OutcomeRejected:
				u := use(cur)
				u.Spoiled++
				if unknownOn != "" {
					// Settled spoiled: the blank was counted as unknown.
					use(unknownOn).Unknown--
					unknownOn = ""
				} else {
					u.BlanksUsed++
				}
			case printer.OutcomeNotFed:
				if unknownOn != "" {
					// Settled never fed: no blank was used after all.
					u := use(unknownOn)
					u.Unknown--
					u.BlanksUsed--
					unknownOn = ""
				}
			case printer.OutcomeUnknown:
				if unknownOn == "" {
					u := use(cur)
					u.Unknown++
					u.BlanksUsed++
					unknownOn = cur
				}
			}
			if r.Void && unknownOn != "" {
				unknownOn = "" // voided: the blank stays used, as unknown
			}
		}
	}
	for _, name := range sortedKeys(usage) {
		u := usage[name]
		rep.Printers = append(rep.Printers, *u)
		rep.Printed += u.Printed
		rep.Spoiled += u.Spoiled
		rep.Unknown += u.Unknown
		rep.Stray += u.Stray
		rep.BlanksUsed += u.BlanksUsed
	}
	return rep
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Text renders the report for people.
func (r *BatchReport) Text() string {
	var b bytes.Buffer
	fmt.Fprintf(&b, "Batch %s", r.Batch.ID)
	if r.Batch.Key != "" {
		fmt.Fprintf(&b, " (template %s)", r.Batch.Key)
	}
	fmt.Fprintf(&b, ": %s\n", r.Batch.State)
	fmt.Fprintf(&b, "opened %s, closed %s (%s)\n\n", fmtTime(r.Batch.Opened), fmtTime(r.Batch.Closed), r.Batch.Reason)
	fmt.Fprintf(&b, "jobs %d: printed %d, spoiled %d, reprints %d, voided serials %d, outcome unknown %d, aborted %d, cancelled %d\n",
		r.Jobs, r.Printed, r.Spoiled, r.Reprinted, r.Voided, r.Unknown, r.Aborted, r.Cancelled)
	fmt.Fprintf(&b, "blanks: expected %d, used %d", r.BlanksExpected, r.BlanksUsed)
	if d := r.BlanksUsed - r.BlanksExpected; d != 0 {
		fmt.Fprintf(&b, " (%+d)", d)
	}
	if r.Stray != 0 {
		fmt.Fprintf(&b, "; %d stray card(s) left in a printer by an earlier attempt sent to the reject box (a held job's card is counted once, under that job; others as spoiled)", r.Stray)
	}
	b.WriteString("\n\n")
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PRINTER\tPRINTED\tSPOILED\tUNKNOWN\tBLANKS USED\tSTOCK LOADED")
	for _, p := range r.Printers {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\n", p.Name, p.Printed, p.Spoiled, p.Unknown, p.BlanksUsed, p.StockLoaded)
	}
	tw.Flush()
	b.WriteString("\n")
	tw = tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "JOB\tID\tSERIAL\tPRINTER\tOUTCOME\tSTATE\tVOIDED")
	for _, m := range r.Manifest {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", m.Job, m.ID, dashText(m.Serial), dashText(m.Printer), dashText(string(m.Outcome)), m.State, dashText(strings.Join(m.Voided, ",")))
	}
	tw.Flush()
	return b.String()
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

func dashText(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// WrittenBatchReport reads the report the daemon wrote into
// SPOOL/batches/ID/report.json when batch id finished (what "cardd batch
// report ID" shows). It returns nil and no error when none was written
// (the batch is not done: BatchReport computes it as it stands).
func (s *Spool) WrittenBatchReport(id string) (*BatchReport, error) {
	path := filepath.Join(s.root, dirBatches, id, "report.json")
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	rep := &BatchReport{}
	if err := json.Unmarshal(data, rep); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return rep, nil
}

// writeReport writes report.json and report.txt into dir.
func writeReport(dir string, r *BatchReport, sync bool) error {
	if err := os.MkdirAll(dir, rootPerm); err != nil {
		return err
	}
	js, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(dir, "report.json"), append(js, '\n'), reasonPerm, sync); err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(dir, "report.txt"), []byte(r.Text()), reasonPerm, sync)
}
