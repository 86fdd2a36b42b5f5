package spool

import (
	"context"
	"errors"
	"fmt"
	"sort"
)

// Audit events are delivered at least once. A transition that owes an
// audit event carries it in its journal record (Record.Audit); after the
// Audit accepted it, a small acknowledgement record (Record.Ack, written
// without fsync) settles it. Events without an acknowledgement are sent
// again by RetryAudits, at start-up and on every rescan, so a crash or a
// failing audit log delays an event but never loses it. An Audit must
// therefore treat a repeated event (same Kind, Serial and Job) as one.

// PendingAudit is the audit event a journal record owes.
type PendingAudit struct {
	Kind   AuditKind `json:"kind"`
	Serial string    `json:"serial"`
	Note   string    `json:"note,omitempty"`
}

// commit journals r durably and then delivers the audit event it owes.
func (s *Scheduler) commit(ctx context.Context, r Record) error {
	s.sp.mu.Lock()
	j, err := s.sp.record(r)
	var seq uint64
	if err == nil && j != nil && r.Audit != nil {
		seq = j.History[len(j.History)-1].Seq
	}
	s.sp.mu.Unlock()
	if err != nil || seq == 0 {
		return err
	}
	return s.sendAudit(ctx, r.Job, seq)
}

// sendAudit delivers the pending audit event of record seq of job num and
// acknowledges it.
func (s *Scheduler) sendAudit(ctx context.Context, num, seq uint64) error {
	s.sp.mu.Lock()
	j := s.sp.jobs[num]
	var rec *Record
	if j != nil {
		for i := range j.audits {
			if j.audits[i].Seq == seq {
				rec = &j.audits[i]
				break
			}
		}
	}
	if rec == nil {
		s.sp.mu.Unlock()
		return nil // acknowledged meanwhile
	}
	printerName := rec.Printer
	if printerName == "" {
		printerName = j.Printer
	}
	e := AuditEvent{Kind: rec.Audit.Kind, Time: rec.Time, Serial: rec.Audit.Serial, JobID: j.ID, Job: j.Num,
		Printer: printerName, Template: j.Template, Hash: j.Hash, ReprintOf: j.ReprintOf, Reason: rec.Audit.Note}
	s.sp.mu.Unlock()
	if err := s.cfg.Audit.Record(ctx, e); err != nil {
		return fmt.Errorf("spool: job %d (%s): audit %s of serial %s: %w", e.Job, e.JobID, e.Kind, e.Serial, err)
	}
	s.sp.mu.Lock()
	defer s.sp.mu.Unlock()
	_, err := s.sp.recordLazy(Record{Job: num, Ack: seq})
	return err
}

// RetryAudits sends every audit event still unacknowledged (after a crash
// or a failure of the audit log), oldest first.
func (s *Scheduler) RetryAudits(ctx context.Context) error {
	type key struct{ num, seq uint64 }
	s.sp.mu.Lock()
	var todo []key
	for _, j := range s.sp.jobs {
		for _, r := range j.audits {
			todo = append(todo, key{j.Num, r.Seq})
		}
	}
	s.sp.mu.Unlock()
	sort.Slice(todo, func(a, b int) bool { return todo[a].seq < todo[b].seq })
	var errs []error
	for _, k := range todo {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := s.sendAudit(ctx, k.num, k.seq); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// commitIf looks the job up, lets check build the transition from the
// job's current state (or refuse it) and commits it, all under the spool
// lock; then it delivers the audit event. It returns the job as it was.
func (s *Scheduler) commitIf(ctx context.Context, ref, what string, check func(j *Job) (Record, error)) (Job, error) {
	s.sp.mu.Lock()
	j, err := s.sp.lookup(ref)
	if err != nil {
		s.sp.mu.Unlock()
		return Job{}, fmt.Errorf("spool: %s job %s: %w", what, ref, err)
	}
	before := *j
	r, err := check(j)
	if err != nil {
		s.sp.mu.Unlock()
		return before, fmt.Errorf("spool: %s job %s: %w", what, ref, err)
	}
	nj, err := s.sp.record(r)
	var seq uint64
	if err == nil && r.Audit != nil {
		seq = nj.History[len(nj.History)-1].Seq
	}
	s.sp.mu.Unlock()
	if err != nil {
		return before, err
	}
	s.log.Info("operator action", "action", what, "job", before.Num, "id", before.ID, "state", r.State)
	if seq != 0 {
		return before, s.sendAudit(ctx, r.Job, seq)
	}
	return before, nil
}
