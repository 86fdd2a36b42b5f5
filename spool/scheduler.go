package spool

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg" // photo checks: DecodeConfig of JPEG portraits
	_ "image/png"  // and PNG portraits
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/cardd/cardd/printer"
	"github.com/cardd/cardd/spool/jobfile"
)

// ErrBadJob marks a composition failure caused by the job itself (unknown
// template, corrupt photo, a field the template cannot hold). A Composer
// wraps it; the scheduler then aborts the job into failed/ instead of
// holding it. A *jobfile.Error counts as a bad job too.
var ErrBadJob = errors.New("bad job")

// ComposeRequest is what the scheduler asks a Composer to compose.
type ComposeRequest struct {
	// Job is the job file, freshly read from Dir.
	Job *jobfile.Job
	// Dir is the job's directory; the photo is read from it with
	// Job.ReadPhoto or Job.OpenPhoto.
	Dir string
	// Serial is the card's serial, allocated and audited already.
	Serial string
	// Printer names the printer the card goes to.
	Printer string
	// Issued is the issue time (the scheduler's clock).
	Issued time.Time
}

// Composer turns a job into a printable card (package layout, wired by
// cmd/cardd).
type Composer interface {
	Compose(ctx context.Context, req ComposeRequest) (*printer.Card, error)
}

// Verifier is implemented by a Composer that can check a composed card
// before it is printed (the QR decodes and its signature verifies, the
// serial is on the card). The scheduler then journals the "verifying"
// sub-state and calls Verify after Compose; a card that fails is not
// printed and its job is held (a composition fault, not the job's), or
// aborted when the error wraps ErrBadJob.
type Verifier interface {
	Verify(ctx context.Context, req ComposeRequest, c *printer.Card) error
}

// Printer is the part of a printer.Printer the scheduler uses.
type Printer interface {
	// Print prints one card; the Result says how far it got even when
	// err is non-nil.
	Print(ctx context.Context, c *printer.Card) (printer.Result, error)
	// Status polls the printer.
	Status(ctx context.Context) (printer.Status, error)
}

// Every driver's printer.Printer is a Printer.
var _ Printer = printer.Printer(nil)

// Serials hands out card serial numbers; each call returns a new one,
// durably (security.Allocator, wired by package station).
type Serials interface {
	Next(ctx context.Context) (string, error)
}

// AuditKind is the kind of an audit event.
type AuditKind string

// Audit event kinds.
const (
	// AuditIssued: a serial was assigned to a job's card; written before
	// the first byte goes to the printer. May repeat for the same serial
	// and job after a restart.
	AuditIssued AuditKind = "issued"
	// AuditPrinted: the card was printed (or an operator confirmed it).
	AuditPrinted AuditKind = "printed"
	// AuditUnknown: the card's outcome is unknown; the job is held.
	AuditUnknown AuditKind = "outcome-unknown"
	// AuditSpoiled: the card went to the reject box; its serial is void.
	AuditSpoiled AuditKind = "spoiled"
	// AuditVoid: the serial is void: a card bearing it, if any, must be
	// refused (the wiring adds it to the deny list). Reason says why:
	// operator void, replaced by a reprint, never printed.
	AuditVoid AuditKind = "void"
)

// AuditEvent is one audit record about a card serial.
type AuditEvent struct {
	Kind      AuditKind
	Time      time.Time
	Serial    string
	JobID     string
	Job       uint64 // spool job number
	Printer   string
	Template  string
	Hash      string // SHA-256 of job file and photo
	ReprintOf string
	Reason    string
}

// Audit records card serial events (security's audit log and deny list,
// wired by package station). Delivery is at least once: after a crash or an
// error the same event (same Kind, Serial and Job, same Time) comes again,
// so an implementation treats a repeat as one. An error on AuditIssued
// stops the card from printing; other events are retried.
type Audit interface {
	Record(ctx context.Context, e AuditEvent) error
}

// ErrorPolicy is what a printer does with the current job after a fault
// (named after CUPS' ErrorPolicy).
type ErrorPolicy string

// Error policies.
const (
	// PolicyRetryJob puts the job back in the queue and retries it after
	// a back-off, up to MaxAttempts; then it is held.
	PolicyRetryJob ErrorPolicy = "retry-job"
	// PolicyHoldJob holds the job for an operator.
	PolicyHoldJob ErrorPolicy = "hold-job"
	// PolicyStopPrinter stops the printer with the job queued (state
	// stopped); both resume when the printer's status clears.
	PolicyStopPrinter ErrorPolicy = "stop-printer"
)

// PrinterConfig is one printer of the pool.
type PrinterConfig struct {
	Name    string
	Printer Printer
	// Policy is the error policy; PolicyStopPrinter when empty.
	Policy ErrorPolicy
	// MaxAttempts bounds print attempts of one job (default 3).
	MaxAttempts int
	// Backoff is the first retry delay, doubled per attempt (default 5s).
	Backoff time.Duration
	// MaxBackoff caps the retry delay (default 10 minutes).
	MaxBackoff time.Duration
	// StockLoaded is the number of blank cards a technician recorded as
	// loaded, for batch reconciliation.
	StockLoaded int
}

// Config configures a Scheduler.
type Config struct {
	Composer Composer
	Serials  Serials
	Audit    Audit
	Printers []PrinterConfig
	// Retention is how long a final job's personal data stays in the
	// spool (0: purge at the next Purge).
	Retention time.Duration
	// MaxPhotoBytes bounds a job's photo (default
	// jobfile.DefaultMaxPhotoBytes); MaxPhotoPixels its width × height
	// (default 40 megapixels).
	MaxPhotoBytes  int64
	MaxPhotoPixels int
	// PrintTimeout bounds one card in the printer (default 5 minutes). A
	// print in progress is not cancelled with the scheduler's context:
	// shutdown lets the card finish.
	PrintTimeout time.Duration
	// Mode is the station's mode for jobs whose file names none:
	// "temporary" (default) prints at once, "permanent" batches.
	Mode string
	// Batching configures permanent mode.
	Batching Batching
	// Screeners are the pre-serial validation steps run on every job at
	// intake, after the Composer's own Screen if it has one (see
	// Screener): a refusal aborts the job, a hold holds it, both before
	// a serial is allocated.
	Screeners []Screener
	// Left, when set, is called with a job's producer id when the job
	// leaves the queue: held (for an operator, at intake or later),
	// cancelled, aborted (refused or failed) or completed. Screeners
	// and the Composer free what they keep for the job's card (the
	// photo decoded at intake). It is called under the spool's lock:
	// it must be quick and must not call the scheduler.
	Left func(id string)
}

// PrinterInfo is the scheduler's view of one printer.
type PrinterInfo struct {
	Name    string           `json:"name"`
	Stopped bool             `json:"stopped"`
	Reasons []printer.Reason `json:"reasons,omitempty"`
	Err     string           `json:"error,omitempty"`
	Status  printer.Status   `json:"status"`
	Busy    bool             `json:"busy"`
	Job     uint64           `json:"job,omitempty"` // spool job printing now
	// StrayRejected counts, since the scheduler started, the cards left
	// inside the printer by an earlier attempt that the driver sent to
	// the reject box before a new card (each one a spoiled blank).
	StrayRejected int `json:"stray_rejected,omitempty"`
}

type printerState struct {
	cfg     PrinterConfig
	mu      sync.Mutex // one card at a time
	stopped bool
	// resumeAfter keeps a printer stopped by a failed card from resuming
	// before its back-off, so a printer that fails without reporting a
	// fault is not hammered.
	resumeAfter time.Time
	reasons     []printer.Reason
	lastErr     string
	status      printer.Status
	busy        bool
	job         uint64
	stray       int // stray cards rejected since start (PrinterInfo.StrayRejected)
	// unsettled says jobs held with outcome unknown on this printer may
	// wait for settlement from its evidence (settle.go); set at start
	// and whenever a card's outcome becomes unknown.
	unsettled bool
}

// Scheduler moves jobs through their lifecycle: admits claimed jobs,
// assigns serials, composes, prints, applies the error policy, and
// carries out operator actions. Its methods are safe for concurrent use.
type Scheduler struct {
	sp   *Spool
	cfg  Config
	log  *slog.Logger
	now  func() time.Time
	prs  []*printerState
	wake chan struct{}
	// claims maps a job number to the token of the worker's claim that
	// is composing it (under sp.mu); claimSeq numbers claims.
	claims   map[uint64]uint64
	claimSeq uint64
	// progress holds the heartbeats Health judges.
	progress progress // admitting is the admission in progress (ROOT/admitting), read at
	// start; only admitAll's caller touches it, one at a time.
	admitting admitMarker
	admitMu   sync.Mutex
}

// NewScheduler returns a scheduler on an open spool and recovers from a
// previous run: a job journaled as printing without a final record is
// held with reason "outcome unknown" (never printed again automatically),
// a job caught composing returns to the queue keeping its serial, every
// job directory is moved to the area of its state, and claimed
// directories the journal does not know are admitted.
func NewScheduler(ctx context.Context, sp *Spool, cfg Config, log *slog.Logger) (*Scheduler, error) {
	if cfg.Composer == nil || cfg.Serials == nil || cfg.Audit == nil {
		return nil, errors.New("spool: scheduler needs a composer, serials and an audit log")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxPhotoBytes == 0 {
		cfg.MaxPhotoBytes = jobfile.DefaultMaxPhotoBytes
	}
	if cfg.MaxPhotoPixels == 0 {
		cfg.MaxPhotoPixels = 40 << 20
	}
	if cfg.PrintTimeout == 0 {
		cfg.PrintTimeout = 5 * time.Minute
	}
	switch cfg.Mode {
	case "":
		cfg.Mode = jobfile.ModeTemporary
	case jobfile.ModeTemporary, jobfile.ModePermanent:
	default:
		return nil, fmt.Errorf("spool: mode %q is not temporary or permanent", cfg.Mode)
	}
	if cfg.Batching.Size <= 0 {
		cfg.Batching.Size = 50
	}
	if cfg.Batching.Window <= 0 {
		cfg.Batching.Window = time.Hour
	}
	s := &Scheduler{sp: sp, cfg: cfg, log: log, now: sp.opts.Now, wake: make(chan struct{}, 1), claims: map[uint64]uint64{},
		progress: progress{workers: map[string]time.Time{}, composing: map[uint64]time.Time{}}}
	s.progress.loop = s.now()
	s.admitting = readAdmitMarker(sp.root)
	sp.mu.Lock()
	sp.left = cfg.Left
	sp.mu.Unlock()
	names := map[string]bool{}
	for _, pc := range cfg.Printers {
		if pc.Name == "" || pc.Printer == nil || names[pc.Name] {
			return nil, fmt.Errorf("spool: printer %q: needs a unique name and a printer", pc.Name)
		}
		names[pc.Name] = true
		if pc.Policy == "" {
			pc.Policy = PolicyStopPrinter
		}
		if pc.MaxAttempts <= 0 {
			pc.MaxAttempts = 3
		}
		if pc.Backoff <= 0 {
			pc.Backoff = 5 * time.Second
		}
		if pc.MaxBackoff <= 0 {
			pc.MaxBackoff = 10 * time.Minute
		}
		s.prs = append(s.prs, &printerState{cfg: pc, unsettled: true})
	}
	if err := s.recover(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// Spool returns the scheduler's spool.
func (s *Scheduler) Spool() *Spool { return s.sp }

func (s *Scheduler) recover(ctx context.Context) error {
	sp := s.sp
	sp.mu.Lock()
	nums := make([]uint64, 0, len(sp.jobs))
	for n := range sp.jobs {
		nums = append(nums, n)
	}
	sort.Slice(nums, func(a, b int) bool { return nums[a] < nums[b] })
	// A job found composing alone may be what crashed the daemon (see
	// quarantine.go); several found together cannot be told apart.
	composing := 0
	for _, n := range nums {
		if j := sp.jobs[n]; j.State == StateProcessing && j.Sub != SubPrinting && j.Sub != SubEncoding {
			composing++
		}
	}
	solo := composing == 1
	// Only a journal that cannot be written stops the start; any other
	// problem is logged and the daemon comes up.
	for _, n := range nums {
		j := sp.jobs[n]
		var err error
		switch {
		case j.State == StateProcessing && (j.Sub == SubPrinting || j.Sub == SubEncoding):
			if j.Rejecting == RejectingStray {
				// The printer was told (or about to be told) to reject a
				// card left inside before this one: that blank is spoiled
				// either way (settlement rejects it if it is still there).
				_, err = sp.record(s.strayRecord(j, "restart after a stray card's rejection began"))
				if err != nil && sp.journal.err != nil {
					sp.mu.Unlock()
					return err
				}
			}
			_, err = sp.record(Record{Job: n, State: StateHeld, Reason: ReasonOutcomeUnknown, Outcome: printer.OutcomeUnknown,
				Audit: &PendingAudit{Kind: AuditUnknown, Serial: j.Serial, Note: "restart with the card in the printer"}})
			s.log.Warn("card outcome unknown after restart; job held", "job", n, "id", j.ID, "serial", j.Serial, "printer", j.Printer)
		case j.State == StateProcessing && solo && composeCrashes(j)+1 >= crashLimit:
			// Found composing again: this job may be what kills the
			// daemon. Nothing of it reached the printer; its serial
			// is voided.
			why := quarantineReason("composing", composeCrashes(j)+1)
			r := Record{Job: n, State: StateAborted, Reason: why}
			if j.Serial != "" {
				r.Void, r.Serial = true, j.Serial
				r.Audit = &PendingAudit{Kind: AuditVoid, Serial: j.Serial, Note: "never printed: " + why}
			}
			_, err = sp.record(r)
			s.log.Error("job quarantined after crashes while composing", "job", n, "id", j.ID, "serial", j.Serial)
		case j.State == StateProcessing && solo:
			_, err = sp.record(Record{Job: n, State: StatePending, Reason: reasonRequeuedSolo})
		case j.State == StateProcessing:
			_, err = sp.record(Record{Job: n, State: StatePending, Reason: reasonRequeued})
		default:
			err = sp.place(j, dirFor(j.State))
		}
		switch {
		case err == nil:
		case sp.journal.err != nil:
			sp.mu.Unlock()
			return err
		case errors.Is(err, errDirMissing) && (j.State == StatePending || j.State == StateStopped):
			// Nothing left to print from: refuse the job with a reason.
			s.log.Error("job directory missing; job aborted", "job", n, "id", j.ID)
			if _, err := sp.record(Record{Job: n, State: StateAborted, Reason: "job directory missing from the spool after a restart"}); err != nil && sp.journal.err != nil {
				sp.mu.Unlock()
				return err
			}
		default:
			s.log.Error("recovery", "job", n, "id", j.ID, "state", j.State, "err", err)
		}
	}
	for _, id := range sp.batchOrder {
		if b := sp.batches[id]; b.State == BatchDone {
			if _, err := os.Stat(filepath.Join(sp.root, dirBatches, id, "report.json")); err != nil {
				// Done was journaled but the crash beat the report.
				if err := writeReport(filepath.Join(sp.root, dirBatches, id), s.report(id), !sp.opts.NoSync); err != nil {
					s.log.Error("batch report", "batch", id, "err", err)
				}
			}
		}
	}
	sp.mu.Unlock()
	// Audit events owed from before the restart, and the ones above; a
	// failure here is retried at every rescan.
	if err := s.RetryAudits(ctx); err != nil {
		s.log.Error("owed audit events not delivered yet", "err", err)
	}
	if err := s.admitAll(ctx); err != nil {
		s.log.Error("admitting claimed jobs", "err", err)
	}
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if sp.journal.err != nil {
		return sp.journal.err
	}
	return nil
}

// Rescan claims complete jobs from incoming/ and admits every claimed job
// not yet journaled. fsnotify events and the rescan timer both call it.
func (s *Scheduler) Rescan(ctx context.Context) error {
	_, cerr := s.sp.Claim(ctx)
	aerr := s.admitAll(ctx)
	s.sp.mu.Lock()
	berr := s.closeDue()
	s.sp.mu.Unlock()
	ferr := s.finishBatches()
	rerr := s.RetryAudits(ctx)
	return errors.Join(cerr, aerr, berr, ferr, rerr)
}

func (s *Scheduler) admitAll(ctx context.Context) error {
	nums, err := s.sp.Unadmitted()
	if err != nil {
		return err
	}
	var errs []error
	admitted := false
	for _, n := range nums {
		if err := ctx.Err(); err != nil {
			return err
		}
		ok, err := s.admit(ctx, n)
		if err != nil {
			errs = append(errs, err)
		}
		admitted = admitted || ok
	}
	if admitted {
		s.poke()
	}
	return errors.Join(errs...)
}

func (s *Scheduler) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// admit reads a claimed job and journals it pending, or aborts it into
// failed/ with the reason. It reports whether the job was queued.
func (s *Scheduler) admit(ctx context.Context, n uint64) (bool, error) {
	sp := s.sp
	dir := filepath.Join(sp.root, dirActive, numName(n))
	s.admitMu.Lock()
	defer s.admitMu.Unlock()
	crashed, err := s.startAdmission(n)
	if err != nil {
		return false, err
	}
	defer s.endAdmission()
	var (
		j       *jobfile.Job
		hash    string
		photo   []byte
		sum     [sha256.Size]byte
		problem error
		hold    string
	)
	if crashed >= crashLimit {
		// Not read again: reading it is what crashed the daemon.
		problem = errors.New(quarantineReason("admitting", crashed))
		s.log.Error("job quarantined after crashes while admitting it", "job", n)
	} else {
		j, hash, photo, sum, problem = s.check(dir)
	}
	if problem == nil {
		// The spool's own refusals come before the screeners, so that a
		// screener sees only jobs the spool would queue (or hold); they
		// are checked again below, under the same lock as the record.
		sp.mu.Lock()
		problem = sp.admissible(j)
		sp.mu.Unlock()
	}
	if problem == nil {
		// The pre-serial validation step: a job that cannot print is
		// refused (or held) here, before it can burn a serial.
		hold, problem = s.screen(ctx, ScreenRequest{Job: j, Dir: dir, Num: n, Photo: photo, PhotoSHA256: sum})
		if err := ctx.Err(); err != nil {
			// Stopping: the job stays claimed and is admitted (and
			// screened) again at the next start.
			return false, err
		}
	}
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if sp.jobs[n] != nil {
		return false, nil // admitted meanwhile
	}
	rec := Record{Job: n, State: StatePending, Source: sp.sources[n], Hash: hash}
	delete(sp.sources, n)
	var je *jobfile.Error
	switch {
	case j != nil:
		rec.ID, rec.Template, rec.Mode, rec.ReprintOf = j.ID, j.Template, j.Mode, j.ReprintOf
	case errors.As(problem, &je):
		rec.ID = je.JobID // the id, when the file got that far
	}
	if problem == nil {
		problem = sp.admissible(j)
	}
	if problem != nil {
		rec.State = StateAborted
		rec.Reason = problem.Error()
		if _, err := sp.record(rec); err != nil {
			return false, err
		}
		s.log.Warn("job refused", "job", n, "id", rec.ID, "reason", rec.Reason)
		return false, nil
	}
	if s.permanent(j.Mode) {
		id, err := s.assignBatch(j.Template)
		if err != nil {
			return false, err
		}
		rec.Batch = id
	}
	if hold != "" {
		// Durable at once: the directory moves to held/, where a lost
		// record would strand it.
		rec.State, rec.Reason, rec.Checked = StateHeld, hold, true
		if _, err := sp.record(rec); err != nil {
			return false, err
		}
		s.log.Warn("job held at intake", "job", n, "id", j.ID, "reason", hold)
		return false, nil
	}
	// Lazy: if a crash loses this record, the directory is still in
	// active/ and is admitted again at start-up.
	if _, err := sp.recordLazy(rec); err != nil {
		return false, err
	}
	s.log.Info("job queued", "job", n, "id", j.ID, "template", j.Template, "batch", rec.Batch)
	if rec.Batch != "" {
		if err := s.closeDue(); err != nil {
			return false, err
		}
	}
	return true, nil
}

// admissible reports why the spool refuses job j whatever its contents: a
// job id it has already, or a reprint_of that names no completed card it
// may reprint. The caller holds s.mu.
func (s *Spool) admissible(j *jobfile.Job) error {
	if cur, dup := s.byID[j.ID]; dup {
		return fmt.Errorf("duplicate job id %q: already job %d (%s)", j.ID, cur, s.jobs[cur].State)
	}
	if j.ReprintOf == "" {
		return nil
	}
	orig, err := s.lookup(j.ReprintOf)
	switch {
	case err != nil:
		return fmt.Errorf("reprint_of %q: no such job at this station", j.ReprintOf)
	case orig.State != StateCompleted:
		return fmt.Errorf("reprint_of %q: that job is %s, not completed", j.ReprintOf, orig.State)
	case orig.Serial == "":
		// Its card was replaced already: reprinting it again would
		// leave the replacement valid too.
		return fmt.Errorf("reprint_of %q: that card's serial is void already (replaced by a reprint?); reprint the latest card instead", j.ReprintOf)
	}
	for _, o := range s.jobs {
		if o.ReprintOf == j.ReprintOf && !o.State.Final() {
			return fmt.Errorf("reprint_of %q: job %s already reprints it", j.ReprintOf, o.ID)
		}
	}
	return nil
}

// check reads and checks a claimed job directory: the job file, and the
// photo's size, format and dimensions. It returns the job (when the file
// parsed), the SHA-256 of job file and photo (the journal's and the audit
// log's hash of the job), the photo's bytes and their own SHA-256 (for the
// screeners: computed here once, on the bytes read), and the problem, if
// any.
func (s *Scheduler) check(dir string) (*jobfile.Job, string, []byte, [sha256.Size]byte, error) {
	var sum [sha256.Size]byte
	path, err := findJobFile(dir)
	if err != nil {
		return nil, "", nil, sum, err
	}
	// One read, through the safe opener: no FIFO, device, link or
	// oversized file gets further than its descriptor's fstat.
	j, data, err := jobfile.LoadData(path)
	if err != nil {
		return nil, "", nil, sum, err
	}
	j.File = filepath.Base(path)
	h := sha256.New()
	h.Write(data)
	var photo []byte
	if j.Photo != "" {
		photo, err = j.ReadPhoto(dir, s.cfg.MaxPhotoBytes)
		if err != nil {
			return j, "", nil, sum, err
		}
		h.Write(photo)
		if err := checkPhoto(photo, s.cfg.MaxPhotoPixels); err != nil {
			return j, "", nil, sum, &jobfile.Error{File: j.File, JobID: j.ID, Field: "photo", Err: err}
		}
		sum = sha256.Sum256(photo)
	}
	return j, hex.EncodeToString(h.Sum(nil)), photo, sum, nil
}

// checkPhoto reads only the image header: a known format (JPEG, PNG) of
// sane dimensions, so a truncated file or a decompression bomb is refused
// before anything decodes it.
func checkPhoto(data []byte, maxPixels int) error {
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("%w: corrupt or unsupported photo: %v", ErrBadJob, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width > 20000 || cfg.Height > 20000 || cfg.Width*cfg.Height > maxPixels {
		return fmt.Errorf("%w: %s photo of %d×%d pixels exceeds the limit of %d pixels", ErrBadJob, format, cfg.Width, cfg.Height, maxPixels)
	}
	return nil
}

// next picks the job a free printer should print: the oldest pending or
// stopped job whose back-off has passed.
func (s *Scheduler) next() *Job {
	now := s.now()
	var best *Job
	for _, j := range s.sp.jobs {
		if j.State != StatePending && j.State != StateStopped {
			continue
		}
		if !j.NotBefore.IsZero() && now.Before(j.NotBefore) {
			continue
		}
		if j.Batch != "" {
			if b := s.sp.batches[j.Batch]; b == nil || b.State == BatchOpen {
				continue
			}
		}
		if best == nil || j.Num < best.Num {
			best = j
		}
	}
	return best
}

// Printers returns the state of every printer.
func (s *Scheduler) Printers() []PrinterInfo {
	out := make([]PrinterInfo, 0, len(s.prs))
	for _, p := range s.prs {
		s.sp.mu.Lock()
		out = append(out, PrinterInfo{Name: p.cfg.Name, Stopped: p.stopped, Reasons: append([]printer.Reason(nil), p.reasons...), Err: p.lastErr, Status: p.status, Busy: p.busy, Job: p.job, StrayRejected: p.stray})
		s.sp.mu.Unlock()
	}
	return out
}

func (s *Scheduler) printer(name string) (*printerState, error) {
	for _, p := range s.prs {
		if p.cfg.Name == name {
			return p, nil
		}
	}
	return nil, fmt.Errorf("spool: no printer %q", name)
}

// Poll reads a printer's status. A stopped printer whose status has no
// blocking reason any more resumes, with its stopped jobs, once the
// back-off after the failure that stopped it has passed; a blocked one is
// stopped. It reports whether the printer can take a card.
//
// Poll waits for a card in progress on the printer: status requests and a
// print never share the link at the same time.
func (s *Scheduler) Poll(ctx context.Context, name string) (bool, error) {
	p, err := s.printer(name)
	if err != nil {
		return false, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	ok, err := s.poll(ctx, p)
	if ok {
		// The printer answers and is ready: settle the cards of
		// unknown outcome it can tell about. Failures are retried at
		// the next poll.
		if serr := s.settleHeld(ctx, p); serr != nil {
			s.log.Warn("settling unknown outcomes", "printer", name, "err", serr)
		}
	}
	return ok, err
}

// poll is Poll with p.mu held.
func (s *Scheduler) poll(ctx context.Context, p *printerState) (bool, error) {
	name := p.cfg.Name
	st, err := p.cfg.Printer.Status(ctx)
	sp := s.sp
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if err != nil {
		p.stopped, p.lastErr = true, err.Error()
		p.reasons = []printer.Reason{printer.ReasonOffline}
		return false, fmt.Errorf("spool: printer %s: status: %w", name, err)
	}
	p.status = st
	if st.Blocked() {
		if !p.stopped {
			s.log.Warn("printer stopped", "printer", name, "reasons", st.Reasons)
		}
		p.stopped, p.reasons, p.lastErr = true, st.Reasons, st.Err().Error()
		return false, nil
	}
	if p.stopped && s.now().Before(p.resumeAfter) {
		return false, nil
	}
	if p.stopped {
		s.log.Info("printer resumed", "printer", name)
		p.stopped, p.reasons, p.lastErr = false, nil, ""
		for _, j := range sp.jobs {
			if j.State == StateStopped && j.Printer == name {
				if _, err := sp.record(Record{Job: j.Num, State: StatePending, Reason: "printer " + name + " resumed"}); err != nil {
					return false, err
				}
			}
		}
	}
	return true, nil
}

// ProcessNext prints the next eligible job on the named printer and
// reports whether it took one. A stopped printer is polled first and takes
// nothing while its status is blocked. Errors are about the spool itself
// (journal, directories); job and printer problems are recorded in the
// job's state instead.
//
// ProcessNext composes and prints in turn; Run instead composes ahead
// while the printer prints (see RunOptions.Composers).
func (s *Scheduler) ProcessNext(ctx context.Context, name string) (bool, error) {
	p, err := s.printer(name)
	if err != nil {
		return false, err
	}
	if err := ctx.Err(); err != nil {
		return false, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	sp := s.sp
	sp.mu.Lock()
	stopped := p.stopped
	sp.mu.Unlock()
	if stopped {
		ok, err := s.poll(ctx, p)
		if !ok {
			if err != nil {
				s.log.Debug("printer still unavailable", "printer", name, "err", err)
			}
			return false, nil
		}
	}
	if err := s.settleHeld(ctx, p); err != nil {
		s.log.Warn("settling unknown outcomes", "printer", name, "err", err)
	}
	c, err := s.take(ctx, p)
	if c == nil {
		if err != nil {
			return false, err
		}
		return false, s.finishBatches()
	}
	card, err := s.prepare(ctx, c)
	if card == nil {
		return true, err
	}
	return true, s.print(ctx, c, card)
}

// claim is a job a printer's worker took: its serial is journaled and its
// issued audit event owed, and it is composing or verifying. tok tells this
// claim from a later one on the same job (after an operator's hold and
// release), so a stale composition never changes the job.
type claim struct {
	p         *printerState
	snap      Job
	tok       uint64
	serial    string
	dir       string
	issuedSeq uint64
	log       *slog.Logger
}

// take picks the job printer p should print next, assigns its serial and
// journals it composing (durably, with the issued audit owed) before
// anything about the card leaves the spool. It returns nil when no job is
// eligible.
func (s *Scheduler) take(ctx context.Context, p *printerState) (*claim, error) {
	sp := s.sp
	name := p.cfg.Name
	sp.mu.Lock()
	defer sp.mu.Unlock()
	if err := s.closeDue(); err != nil {
		return nil, err
	}
	j := s.next()
	if j == nil {
		return nil, nil
	}
	if s.suspectWaits(j) {
		return nil, nil
	}
	// Assign the serial (kept from an earlier attempt that never fed a
	// card) and journal it before anything leaves the spool.
	serial := j.Serial
	if serial == "" {
		// Under the spool lock, so no other printer takes the job
		// meanwhile; the allocator is quick (one small fsync).
		var err error
		serial, err = s.cfg.Serials.Next(ctx)
		if err != nil {
			return nil, fmt.Errorf("spool: job %d (%s): allocate serial: %w", j.Num, j.ID, err)
		}
	}
	rec, err := sp.record(Record{Job: j.Num, State: StateProcessing, Sub: SubComposing, Serial: serial, Printer: name, Attempt: j.Attempt + 1,
		Audit: &PendingAudit{Kind: AuditIssued, Serial: serial}})
	if err != nil {
		return nil, err
	}
	s.claimSeq++
	s.claims[j.Num] = s.claimSeq
	return &claim{
		p:         p,
		snap:      *j,
		tok:       s.claimSeq,
		serial:    serial,
		dir:       filepath.Join(sp.root, dirActive, numName(j.Num)),
		issuedSeq: rec.History[len(rec.History)-1].Seq,
		log:       s.log.With("job", j.Num, "id", j.ID, "serial", serial, "printer", name),
	}, nil
}

// ownsLocked reports whether claim c still holds its job: nobody (an
// operator's hold or cancel) moved the job since it was taken, and it has
// not gone to the printer. sp.mu is held.
func (s *Scheduler) ownsLocked(c *claim) bool {
	j := s.sp.jobs[c.snap.Num]
	return j != nil && s.claims[c.snap.Num] == c.tok && j.State == StateProcessing &&
		(j.Sub == SubComposing || j.Sub == SubVerifying) && j.Serial == c.serial
}

// settleClaim records r (built from the job as it is now) when claim c
// still holds its job, ends the claim, and delivers r's audit event. It
// reports whether c held the job.
func (s *Scheduler) settleClaim(ctx context.Context, c *claim, build func(j *Job) Record) (bool, error) {
	sp := s.sp
	sp.mu.Lock()
	if !s.ownsLocked(c) {
		sp.mu.Unlock()
		c.log.Info("job changed by an operator before its card was printed; composed card dropped")
		return false, nil
	}
	delete(s.claims, c.snap.Num)
	r := build(sp.jobs[c.snap.Num])
	r.Job = c.snap.Num
	j, err := sp.record(r)
	var seq uint64
	if err == nil && r.Audit != nil {
		seq = j.History[len(j.History)-1].Seq
	}
	sp.mu.Unlock()
	if err != nil || seq == 0 {
		return true, err
	}
	return true, s.sendAudit(ctx, c.snap.Num, seq)
}

// prepare delivers the claim's issued audit event, then composes and (for
// a Verifier) verifies the card. It returns nil when the job ended
// without a card to print: a bad job aborted, a compose fault held, a
// shutdown requeued, or an operator's action meanwhile.
func (s *Scheduler) prepare(ctx context.Context, c *claim) (*printer.Card, error) {
	name := c.p.cfg.Name
	if aerr := s.sendAudit(ctx, c.snap.Num, c.issuedSeq); aerr != nil {
		// No audit record, no card (the event stays owed and is sent
		// again by RetryAudits).
		c.log.Error("job postponed", "err", aerr)
		_, err := s.settleClaim(ctx, c, func(*Job) Record {
			return Record{State: StatePending, Reason: fmt.Sprintf("audit: %v", aerr), NotBefore: s.now().Add(c.p.cfg.Backoff)}
		})
		return nil, err
	}
	jf, cerr := s.loadJob(c.dir)
	var card *printer.Card
	if cerr == nil {
		req := ComposeRequest{Job: jf, Dir: c.dir, Serial: c.serial, Printer: name, Issued: s.now()}
		card, cerr = s.cfg.Composer.Compose(ctx, req)
		if cerr == nil && card == nil {
			cerr = errors.New("composer returned no card")
		}
		if v, ok := s.cfg.Composer.(Verifier); ok && cerr == nil {
			// Lazy: losing it in a crash leaves "composing", which
			// recovers the same way (requeued, serial kept).
			s.sp.mu.Lock()
			owned := s.ownsLocked(c)
			var err error
			if owned {
				_, err = s.sp.recordLazy(Record{Job: c.snap.Num, State: StateProcessing, Sub: SubVerifying, Printer: name})
			}
			s.sp.mu.Unlock()
			if err != nil {
				return nil, err
			}
			if !owned {
				c.log.Info("job changed by an operator while composing; card dropped")
				return nil, nil
			}
			if err := v.Verify(ctx, req, card); err != nil {
				cerr = fmt.Errorf("verify: %w", err)
			}
		}
	}
	if cerr == nil {
		return card, nil
	}
	var je *jobfile.Error
	switch {
	case errors.Is(cerr, ErrBadJob) || errors.As(cerr, &je):
		ok, err := s.settleClaim(ctx, c, func(j *Job) Record {
			// The serial was never printed: void it ("never printed").
			reason := "compose: " + cerr.Error()
			r := Record{State: StateAborted, Reason: reason}
			if j.Serial != "" {
				r.Void, r.Serial = true, j.Serial
				r.Audit = &PendingAudit{Kind: AuditVoid, Serial: j.Serial, Note: "never printed: " + reason}
			}
			return r
		})
		if ok {
			c.log.Warn("job cannot be composed; aborted", "err", cerr)
		}
		return nil, err
	case ctx.Err() != nil:
		_, err := s.settleClaim(context.WithoutCancel(ctx), c, func(*Job) Record {
			return Record{State: StatePending, Reason: "shutdown while composing"}
		})
		return nil, err
	default:
		ok, err := s.settleClaim(ctx, c, func(*Job) Record {
			return Record{State: StateHeld, Reason: "compose: " + cerr.Error()}
		})
		if ok {
			c.log.Error("compose failed; job held", "err", cerr)
		}
		return nil, err
	}
}

// park returns a claimed job whose card was composed but never sent to
// the queue, keeping its serial (as a restart would).
func (s *Scheduler) park(ctx context.Context, c *claim, reason string) error {
	_, err := s.settleClaim(context.WithoutCancel(ctx), c, func(*Job) Record {
		return Record{State: StatePending, Reason: reason}
	})
	return err
}

// print sends a prepared card to its printer and records the outcome.
// The caller holds c.p.mu. A claim an operator took back meanwhile (held
// or cancelled) is dropped without printing; on a printer stopped since
// the card was composed, the job returns to the queue with its serial.
func (s *Scheduler) print(ctx context.Context, c *claim, card *printer.Card) error {
	sp := s.sp
	p := c.p
	name := p.cfg.Name
	sp.mu.Lock()
	if !s.ownsLocked(c) {
		sp.mu.Unlock()
		c.log.Info("job changed by an operator before its card was printed; composed card dropped")
		return nil
	}
	if p.stopped {
		sp.mu.Unlock()
		return s.park(ctx, c, "printer "+name+" stopped before the card was sent")
	}
	unsettled := p.unsettled
	sp.mu.Unlock()
	if unsettled {
		// Cards of unknown outcome on this printer are settled before
		// another card goes in (their counters must not move meanwhile).
		if err := s.settleHeld(context.WithoutCancel(ctx), p); err != nil {
			c.log.Warn("settling unknown outcomes", "err", err)
		}
	}
	// What the printer says about itself before the card, journaled with
	// the printing record.
	ev := s.evidenceBefore(context.WithoutCancel(ctx), p, c, card)
	sp.mu.Lock()
	if !s.ownsLocked(c) {
		sp.mu.Unlock()
		c.log.Info("job changed by an operator before its card was printed; composed card dropped")
		return nil
	}
	delete(s.claims, c.snap.Num)
	// Composing includes the composer's own verification (the QR
	// decodes and verifies); printing includes magnetic encoding, which
	// the driver does in the same pass.
	_, err := sp.record(Record{Job: c.snap.Num, State: StateProcessing, Sub: SubPrinting, Printer: name, Evidence: ev})
	if err == nil {
		p.busy, p.job = true, c.snap.Num
	}
	sp.mu.Unlock()
	if err != nil {
		return err
	}
	defer func() {
		sp.mu.Lock()
		p.busy, p.job = false, 0
		sp.mu.Unlock()
	}()
	// The card is committed to the printer: let it finish even when the
	// daemon is shutting down.
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.PrintTimeout)
	// A driver that sends a card to the reject box on its own tells us
	// first: the intent is journaled durably before the command.
	strayIntent := false
	pctx = printer.WithRejectNotice(pctx, func(_ context.Context, stray bool) error {
		kind := RejectingCard
		if stray {
			kind, strayIntent = RejectingStray, true
		}
		return s.transition(Record{Job: c.snap.Num, State: StateProcessing, Sub: SubPrinting, Printer: name, Rejecting: kind})
	})
	res, perr := p.cfg.Printer.Print(pctx, card)
	cancel()
	// Recording the outcome must not be cut short by shutdown either.
	snap := c.snap
	if res.StrayRejected || strayIntent {
		// An intent without the confirmation (the link broke at the
		// reject) still spoils that blank: it is counted now, and a
		// settlement that finds it inside rejects it without counting
		// it again.
		if err := s.strayRejected(context.WithoutCancel(ctx), &snap, p, c.log); err != nil {
			return err
		}
	}
	if err := s.settle(context.WithoutCancel(ctx), &snap, p, c.serial, res, perr, c.log); err != nil {
		return err
	}
	if snap.Batch != "" {
		return s.finishBatches()
	}
	return nil
}

// StrayReason is the audit reason of a stray card's spoiled event.
const StrayReason = "stray card rejected"

// strayRejected records that before j's card was fed, p's driver sent a
// card left inside by an earlier attempt to the reject box: one spoiled
// blank, journalled on j with a spoiled audit event. When the stray is the
// card of the one job held as outcome unknown on p, that blank is already
// counted (as that job's unknown card) and batches do not count it again;
// otherwise j's batch counts it among its blanks used and spoiled. The stray card's serial is named
// when exactly one job is held as outcome unknown on p (its card is the
// likely stray); otherwise the event carries no serial. The job stays in
// printing: a crash before its own outcome is recorded still holds it.
func (s *Scheduler) strayRejected(ctx context.Context, j *Job, p *printerState, log *slog.Logger) error {
	s.sp.mu.Lock()
	p.stray++
	cur := s.sp.jobs[j.Num]
	if cur == nil {
		cur = j
	}
	r := s.strayRecord(cur, "")
	s.sp.mu.Unlock()
	log.Warn("a card left inside the printer was sent to the reject box before this card (spoiled blank)", "stray_serial", r.StraySerial)
	return s.commit(ctx, r)
}

// strayRecord builds the record counting a stray card rejected before j's
// card on j's printer (see strayRejected); why is added to the audit note.
// s.sp.mu is held.
func (s *Scheduler) strayRecord(j *Job, why string) Record {
	name := j.Printer
	var serial, owner string
	n := 0
	for _, h := range s.sp.jobs {
		if h.Num != j.Num && h.State == StateHeld && h.Reason == ReasonOutcomeUnknown && h.Printer == name && h.Serial != "" {
			n++
			serial, owner = h.Serial, h.ID
		}
	}
	note := StrayReason
	if n == 1 {
		note += " (card of job " + owner + ", held with outcome unknown)"
	} else {
		serial = ""
	}
	if why != "" {
		note += "; " + why
	}
	return Record{Job: j.Num, State: StateProcessing, Sub: SubPrinting, Printer: name, Stray: true, StraySerial: serial,
		Audit: &PendingAudit{Kind: AuditSpoiled, Serial: serial, Note: note}}
}

// settle records the outcome of one print attempt.
func (s *Scheduler) settle(ctx context.Context, j *Job, p *printerState, serial string, res printer.Result, perr error, log *slog.Logger) error {
	switch res.Outcome {
	case printer.OutcomePrinted:
		if err := s.commit(ctx, Record{Job: j.Num, State: StateCompleted, Outcome: printer.OutcomePrinted, Reason: errString(perr),
			Audit: &PendingAudit{Kind: AuditPrinted, Serial: serial}}); err != nil {
			return err
		}
		log.Info("card printed")
		return s.voidReprinted(ctx, j)
	case printer.OutcomeRejected:
		// Spoiled: the card exists in the reject box; its serial is void
		// and the next attempt gets a new one.
		log.Warn("card rejected (spoiled)", "err", perr)
		// No sub-state: the card left the printer, so a crash from
		// here requeues the job rather than holding it as unknown.
		if err := s.commit(ctx, Record{Job: j.Num, State: StateProcessing, Void: true, Serial: serial, Outcome: printer.OutcomeRejected, Reason: "spoiled",
			Audit: &PendingAudit{Kind: AuditSpoiled, Serial: serial, Note: errString(perr)}}); err != nil {
			return err
		}
		if perr == nil {
			perr = errors.New("card rejected")
		}
		return s.policy(ctx, j, p, perr)
	case printer.OutcomeNotFed:
		if perr == nil {
			perr = errors.New("printer fed no card")
		}
		log.Warn("card not fed", "err", perr)
		return s.policy(ctx, j, p, perr)
	default: // OutcomeUnknown or a driver that said nothing
		log.Error("card outcome unknown; job held", "err", perr, "outcome", res.Outcome)
		s.stopPrinter(p, res.Status, perr)
		s.sp.mu.Lock()
		p.unsettled = true
		s.sp.mu.Unlock()
		return s.commit(ctx, Record{Job: j.Num, State: StateHeld, Outcome: printer.OutcomeUnknown, Reason: ReasonOutcomeUnknown,
			Audit: &PendingAudit{Kind: AuditUnknown, Serial: serial, Note: errString(perr)}})
	}
}

// policy applies the printer's error policy to a job whose card did not
// print (no card in the printer now).
func (s *Scheduler) policy(ctx context.Context, j *Job, p *printerState, perr error) error {
	var se *printer.StatusError
	if errors.As(perr, &se) || errors.Is(perr, printer.ErrOffline) || errors.Is(perr, printer.ErrNoDevice) || errors.Is(perr, printer.ErrTimeout) {
		// A printer fault stops the printer until its status clears,
		// whatever the policy does with the job.
		s.stopPrinter(p, printer.Status{}, perr)
	}
	s.sp.mu.Lock()
	attempt := s.sp.jobs[j.Num].Attempt
	s.sp.mu.Unlock()
	reason := fmt.Sprintf("printer %s: %v", p.cfg.Name, perr)
	switch p.cfg.Policy {
	case PolicyHoldJob:
		return s.transition(Record{Job: j.Num, State: StateHeld, Reason: reason})
	case PolicyStopPrinter:
		s.stopPrinter(p, printer.Status{}, perr)
		return s.transition(Record{Job: j.Num, State: StateStopped, Printer: p.cfg.Name, Reason: reason})
	}
	if attempt >= p.cfg.MaxAttempts {
		return s.transition(Record{Job: j.Num, State: StateHeld, Reason: fmt.Sprintf("%s (after %d attempts)", reason, attempt)})
	}
	delay := p.cfg.MaxBackoff
	if attempt <= 20 {
		delay = min(p.cfg.Backoff<<(attempt-1), p.cfg.MaxBackoff)
	}
	return s.transition(Record{Job: j.Num, State: StatePending, Reason: reason, NotBefore: s.now().Add(delay)})
}

func (s *Scheduler) stopPrinter(p *printerState, st printer.Status, err error) {
	s.sp.mu.Lock()
	defer s.sp.mu.Unlock()
	p.stopped = true
	p.resumeAfter = s.now().Add(p.cfg.Backoff)
	if err != nil {
		p.lastErr = err.Error()
	}
	var se *printer.StatusError
	switch {
	case len(st.Reasons) > 0:
		p.reasons = st.Reasons
	case errors.As(err, &se):
		p.reasons = se.Reasons
	}
}

// voidReprinted voids the serial of the job a completed reprint replaces.
func (s *Scheduler) voidReprinted(ctx context.Context, j *Job) error {
	if j.ReprintOf == "" {
		return nil
	}
	s.sp.mu.Lock()
	orig, err := s.sp.lookup(j.ReprintOf)
	if err != nil || orig.Serial == "" {
		s.sp.mu.Unlock()
		return nil
	}
	old, num := orig.Serial, orig.Num
	r := Record{Job: num, State: orig.State, Void: true, Serial: old, Reason: "replaced by reprint " + j.ID,
		Audit: &PendingAudit{Kind: AuditVoid, Serial: old, Note: "replaced by reprint " + j.ID}}
	s.sp.mu.Unlock()
	return s.commit(ctx, r)
}

func (s *Scheduler) transition(r Record) error {
	s.sp.mu.Lock()
	defer s.sp.mu.Unlock()
	_, err := s.sp.record(r)
	return err
}

func (s *Scheduler) loadJob(dir string) (*jobfile.Job, error) {
	path, err := findJobFile(dir)
	if err != nil {
		return nil, &jobfile.Error{File: dir, Err: err}
	}
	j, err := jobfile.Load(path)
	if err != nil {
		return nil, err
	}
	j.File = filepath.Base(path)
	return j, nil
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// Status is a snapshot of the scheduler for the daemon's /status endpoint.
type Status struct {
	Printers []PrinterInfo `json:"printers"`
	// Queue counts jobs by state.
	Queue   map[State]int `json:"queue"`
	Batches []Batch       `json:"batches,omitempty"`
}

// Status returns a snapshot of printers, queue and open or closed batches.
func (s *Scheduler) Status() Status {
	st := Status{Printers: s.Printers(), Queue: s.sp.Counts()}
	for _, b := range s.sp.Batches() {
		if b.State != BatchDone {
			st.Batches = append(st.Batches, b)
		}
	}
	return st
}
