package spool

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/cardd/cardd/printer"
)

// Operator actions. Each takes a job reference (producer id or spool job
// number) and a reason that goes into the journal, and fails with
// ErrState when the job's state does not allow it.

// Hold holds a pending or stopped job until Release, or one whose card is
// composing or composed but not sent to the printer yet (the card is
// dropped; the job keeps its serial).
func (s *Scheduler) Hold(ctx context.Context, ref, reason string) error {
	return s.act(ref, "hold", func(j *Job) (Record, error) {
		if j.State != StatePending && j.State != StateStopped && !beforePrinting(j) {
			return Record{}, fmt.Errorf("%w: job is %s", ErrState, j.State)
		}
		return Record{Job: j.Num, State: StateHeld, Reason: "held by operator: " + orDefault(reason, "no reason given")}, nil
	})
}

// Release queues a held job again. A job held with an unknown outcome
// cannot be released: confirm or void it first.
func (s *Scheduler) Release(ctx context.Context, ref string) error {
	err := s.act(ref, "release", func(j *Job) (Record, error) {
		if j.State != StateHeld {
			return Record{}, fmt.Errorf("%w: job is %s, not held", ErrState, j.State)
		}
		if j.Reason == ReasonOutcomeUnknown {
			return Record{}, fmt.Errorf("%w: the card's outcome is unknown; confirm or void it", ErrState)
		}
		if j.Checked {
			return Record{}, fmt.Errorf("%w: held by a check at intake (%s); override it with a reason", ErrState, j.Reason)
		}
		return Record{Job: j.Num, State: StatePending, Reason: "released by operator", Attempt: -1}, nil
	})
	if err == nil {
		s.poke()
	}
	return err
}

// Cancel cancels a job that is not printing and has no card of unknown
// outcome (a card composing or composed but not sent to the printer yet is
// dropped). A serial assigned but never printed is voided.
func (s *Scheduler) Cancel(ctx context.Context, ref, reason string) error {
	_, err := s.commitIf(ctx, ref, "cancel", func(j *Job) (Record, error) {
		if j.State != StatePending && j.State != StateHeld && j.State != StateStopped && !beforePrinting(j) {
			return Record{}, fmt.Errorf("%w: job is %s", ErrState, j.State)
		}
		if j.State == StateHeld && j.Reason == ReasonOutcomeUnknown {
			return Record{}, fmt.Errorf("%w: the card's outcome is unknown; confirm or void it", ErrState)
		}
		why := "cancelled by operator: " + orDefault(reason, "no reason given")
		r := Record{Job: j.Num, State: StateCancelled, Reason: why}
		if j.Serial != "" {
			r.Void, r.Serial = true, j.Serial
			r.Audit = &PendingAudit{Kind: AuditVoid, Serial: j.Serial, Note: "never printed: " + why}
		}
		return r, nil
	})
	return err
}

// Confirm tells the spool that a card held with an unknown outcome was in
// fact printed and is good: the job completes.
func (s *Scheduler) Confirm(ctx context.Context, ref, note string) error {
	why := strings.TrimSpace("confirmed by operator " + note)
	j, err := s.commitIf(ctx, ref, "confirm", func(j *Job) (Record, error) {
		if j.State != StateHeld || j.Reason != ReasonOutcomeUnknown {
			return Record{}, fmt.Errorf("%w: job is %s (%s), not held with an unknown outcome", ErrState, j.State, j.Reason)
		}
		return Record{Job: j.Num, State: StateCompleted, Outcome: printer.OutcomePrinted, Reason: why,
			Audit: &PendingAudit{Kind: AuditPrinted, Serial: j.Serial, Note: why}}, nil
	})
	if err != nil {
		return err
	}
	return s.voidReprinted(ctx, &j)
}

// Void voids the serial of a card held with an unknown outcome (it goes to
// the deny list through the audit log). The job stays held with its
// serial released; Release prints a new card with a new serial, Cancel
// gives up.
func (s *Scheduler) Void(ctx context.Context, ref, reason string) error {
	why := "voided by operator: " + orDefault(reason, "no reason given")
	_, err := s.commitIf(ctx, ref, "void", func(j *Job) (Record, error) {
		if j.State != StateHeld || j.Reason != ReasonOutcomeUnknown || j.Serial == "" {
			return Record{}, fmt.Errorf("%w: job is %s (%s), not held with an unknown outcome", ErrState, j.State, j.Reason)
		}
		return Record{Job: j.Num, State: StateHeld, Void: true, Serial: j.Serial, Reason: why + "; release to print a new card",
			Audit: &PendingAudit{Kind: AuditVoid, Serial: j.Serial, Note: why}}, nil
	})
	return err
}

// Reprint submits a new job that reprints a completed one: the same job
// file and photo under newID with reprint_of and the reason. The new card
// gets a new serial; the old serial is voided when it prints. The original
// must not be purged yet.
func (s *Scheduler) Reprint(ctx context.Context, ref, newID, reason string) (string, error) {
	j, err := s.find(ref)
	if err != nil {
		return "", err
	}
	if j.State != StateCompleted {
		return "", fmt.Errorf("spool: reprint job %s: %w: job is %s, not completed", ref, ErrState, j.State)
	}
	if j.Purged {
		return "", fmt.Errorf("spool: reprint job %s: %w: its data was purged after the retention window; submit the job again with reprint_of", ref, ErrState)
	}
	dir := filepath.Join(s.sp.root, dirDone, numName(j.Num))
	jf, err := s.loadJob(dir)
	if err != nil {
		return "", fmt.Errorf("spool: reprint job %s: %w", ref, err)
	}
	var photo []byte
	if jf.Photo != "" {
		if photo, err = jf.ReadPhoto(dir, s.cfg.MaxPhotoBytes); err != nil {
			return "", fmt.Errorf("spool: reprint job %s: %w", ref, err)
		}
	}
	nj := *jf
	nj.ID, nj.ReprintOf, nj.ReprintReason, nj.File = newID, jf.ID, reason, "job.toml"
	name, err := Submit(s.sp.root, &nj, photo)
	if err != nil {
		return "", err
	}
	return name, s.Rescan(ctx)
}

func (s *Scheduler) find(ref string) (Job, error) {
	s.sp.mu.Lock()
	defer s.sp.mu.Unlock()
	j, err := s.sp.lookup(ref)
	if err != nil {
		return Job{}, err
	}
	return *j, nil
}

// act runs one state check and transition under the spool lock.
func (s *Scheduler) act(ref, what string, f func(j *Job) (Record, error)) error {
	s.sp.mu.Lock()
	defer s.sp.mu.Unlock()
	j, err := s.sp.lookup(ref)
	if err != nil {
		return fmt.Errorf("spool: %s job %s: %w", what, ref, err)
	}
	r, err := f(j)
	if err != nil {
		return fmt.Errorf("spool: %s job %s: %w", what, ref, err)
	}
	if _, err := s.sp.record(r); err != nil {
		return err
	}
	s.log.Info("operator action", "action", what, "job", j.Num, "id", j.ID, "state", j.State)
	return nil
}

// Purge deletes the personal data (the job directory: job file, photo,
// reason file) of every final job whose last transition is older than the
// retention window. The journal keeps the job's serials and hash. It
// returns how many jobs were purged.
func (s *Scheduler) Purge(ctx context.Context) (int, error) {
	s.sp.mu.Lock()
	defer s.sp.mu.Unlock()
	now := s.now()
	var errs []error
	n := 0
	for _, j := range s.sp.jobs {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		if !j.State.Final() || j.Purged || now.Sub(j.Updated) < s.cfg.Retention {
			continue
		}
		dir := filepath.Join(s.sp.root, dirFor(j.State), numName(j.Num))
		// Journal first: once purged is durable a crash can only leave
		// a directory that the next Purge removes again.
		if _, err := s.sp.record(Record{Job: j.Num, State: j.State, Purged: true, Reason: j.Reason}); err != nil {
			return n, err
		}
		if err := os.RemoveAll(dir); err != nil {
			errs = append(errs, fmt.Errorf("spool: purge job %d (%s): %w", j.Num, j.ID, err))
			continue
		}
		n++
	}
	// Directories of purged jobs left by a crash.
	for _, area := range []string{dirDone, dirFailed} {
		ents, _ := os.ReadDir(filepath.Join(s.sp.root, area))
		for _, e := range ents {
			if num, ok := parseNum(e.Name()); ok {
				if j := s.sp.jobs[num]; j != nil && j.Purged {
					_ = os.RemoveAll(filepath.Join(s.sp.root, area, e.Name()))
				}
			}
		}
	}
	return n, errors.Join(errs...)
}

// beforePrinting reports whether a processing job's card is still being
// composed or verified, or waits composed for its printer: nothing of it
// went to the printer, so an operator may still hold or cancel it (the
// worker then drops the card).
func beforePrinting(j *Job) bool {
	return j.State == StateProcessing && (j.Sub == SubComposing || j.Sub == SubVerifying)
}

func orDefault(s, def string) string {
	if s = strings.TrimSpace(s); s == "" {
		return def
	}
	return s
}

// errNothingToDo stops commitIf without an error for an action already done.
var errNothingToDo = errors.New("nothing to do")

// Supersede voids the serial of a completed job's card because another
// card replaces it (at a field office of a network: the temporary card,
// once the permanent one is printed). The serial goes to the deny list
// through the audit log (AuditVoid); the job stays completed. A job whose
// serial is void already is left as it is, so a repeated call is harmless.
func (s *Scheduler) Supersede(ctx context.Context, ref, reason string) error {
	why := "superseded: " + orDefault(reason, "replaced by another card")
	_, err := s.commitIf(ctx, ref, "supersede", func(j *Job) (Record, error) {
		if j.State != StateCompleted {
			return Record{}, fmt.Errorf("%w: job is %s, not completed", ErrState, j.State)
		}
		if j.Serial == "" {
			return Record{}, errNothingToDo
		}
		return Record{Job: j.Num, State: StateCompleted, Void: true, Serial: j.Serial, Reason: why,
			Audit: &PendingAudit{Kind: AuditVoid, Serial: j.Serial, Note: why}}, nil
	})
	if errors.Is(err, errNothingToDo) {
		return nil
	}
	return err
}
