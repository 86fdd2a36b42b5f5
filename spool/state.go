package spool

import (
	"time"

	"github.com/cardd/cardd/printer"
)

// State is a job's state, following IPP/CUPS job states.
type State string

// Job states.
const (
	// StatePending: waiting for a printer.
	StatePending State = "pending"
	// StateHeld: waiting for an operator (hold, outcome unknown, policy).
	StateHeld State = "held"
	// StateProcessing: a card is being composed or printed.
	StateProcessing State = "processing"
	// StateStopped: the job's printer stopped on a fault; the job resumes
	// when the printer's status clears.
	StateStopped State = "stopped"
	// StateCancelled: an operator cancelled the job (final).
	StateCancelled State = "cancelled"
	// StateAborted: the job was refused or failed for good (final); the
	// job's directory is in failed/ with a reason file.
	StateAborted State = "aborted"
	// StateCompleted: the card was printed (final).
	StateCompleted State = "completed"
)

// Final reports whether no further transition is expected.
func (s State) Final() bool {
	return s == StateCancelled || s == StateAborted || s == StateCompleted
}

// Sub is a card sub-state of a processing job.
type Sub string

// Card sub-states.
const (
	SubComposing Sub = "composing"
	SubVerifying Sub = "verifying"
	SubPrinting  Sub = "printing"
	SubEncoding  Sub = "encoding"
)

// ReasonOutcomeUnknown is the hold reason of a card whose outcome is not
// known: the daemon or the printer link died while it was in the printer.
// Such a job is never printed again automatically; an operator confirms or
// voids it.
const ReasonOutcomeUnknown = "outcome unknown"

// Job is what the spool knows about one job, rebuilt from the journal.
type Job struct {
	// Num is the spool's job number; the job's directory is named after
	// it (%08d).
	Num uint64 `json:"num"`
	// ID is the producer's job id ("" until the job file was read).
	ID     string `json:"id,omitempty"`
	State  State  `json:"state"`
	Sub    Sub    `json:"sub,omitempty"`
	Reason string `json:"reason,omitempty"`
	// Serial is the serial assigned to the card now; Voided the serials
	// voided for this job.
	Serial    string          `json:"serial,omitempty"`
	Voided    []string        `json:"voided,omitempty"`
	Printer   string          `json:"printer,omitempty"`
	Outcome   printer.Outcome `json:"outcome,omitempty"`
	Source    string          `json:"source,omitempty"` // name in incoming/
	Template  string          `json:"template,omitempty"`
	Mode      string          `json:"mode,omitempty"`
	ReprintOf string          `json:"reprint_of,omitempty"`
	Hash      string          `json:"hash,omitempty"`
	Attempt   int             `json:"attempt,omitempty"`
	NotBefore time.Time       `json:"not_before,omitzero"`
	Purged    bool            `json:"purged,omitempty"`
	Batch     string          `json:"batch,omitempty"`
	// Checked says the job is held by a check at intake (a Screener's
	// hold, such as the photo gate): Release refuses it, Override
	// releases it with a reason.
	Checked bool `json:"checked,omitempty"`
	// Evidence is what the printer said about itself before the job's
	// latest card was fed; EvidenceAfter what it said when that card's
	// unknown outcome was settled; Settled the settlement's decision
	// (for a job still held: why it could not be decided).
	Evidence      *printer.Evidence `json:"evidence,omitempty"`
	EvidenceAfter *printer.Evidence `json:"evidence_after,omitempty"`
	Settled       string            `json:"settled,omitempty"`
	// Rejecting is a reject intent not yet settled ("card" or "stray",
	// see Record.Rejecting).
	Rejecting string `json:"rejecting,omitempty"`
	// StrayCounted says a card found inside before the latest card was
	// counted as a stray (spoiled) in this attempt.
	StrayCounted bool `json:"stray_counted,omitempty"`
	// Created is the time of the job's first record, Updated of its last.
	Created time.Time `json:"created"`
	Updated time.Time `json:"updated"`
	// History is the job's records, oldest first (omitted by Jobs).
	History []Record `json:"history,omitempty"`
	// PendingAudits counts audit events not yet acknowledged.
	PendingAudits int `json:"pending_audits,omitempty"`

	audits []Record // records whose audit event is unacknowledged
	// raw is the history of a job loaded from a snapshot, as its journal
	// lines (each a length and the line), decoded on first use
	// (loadHistory): most jobs' histories are never looked at again.
	raw  string
	rawN int // lines in raw
	// evidenceSeq is the Seq of the record that set Evidence: with
	// Evidence.At it orders cards sent to one printer.
	evidenceSeq uint64
}

// loadHistory decodes a history kept raw since a snapshot was loaded; every
// reader and writer of History calls it first (s.mu held). The snapshot's
// checksum vouched for the lines; one that does not decode (never seen) is
// left out rather than stopping the reader.
func (j *Job) loadHistory() {
	if j.raw == "" {
		return
	}
	raw := j.raw
	h := make([]Record, 0, j.rawN+1)
	var line []byte
	for len(raw) > 0 {
		n, k := uvarint(raw)
		if k <= 0 || n > uint64(len(raw)-k) {
			break
		}
		line = append(line[:0], raw[k:k+int(n)]...)
		raw = raw[k+int(n):]
		if r, err := decodeLine(line); err == nil && r.Job == j.Num {
			h = append(h, r)
		}
	}
	j.History = append(h, j.History...)
	j.raw, j.rawN = "", 0
}

// apply folds one record into the job.
func (j *Job) apply(r *Record) {
	if r.Ack != 0 {
		for i := range j.audits {
			if j.audits[i].Seq == r.Ack {
				j.audits = append(j.audits[:i], j.audits[i+1:]...)
				break
			}
		}
		j.PendingAudits = len(j.audits)
		return
	}
	defer func() {
		if r.Audit != nil {
			j.audits = append(j.audits, *r)
		}
		j.PendingAudits = len(j.audits)
	}()
	if r.Snapshot {
		*j = Job{Num: r.Job, ID: r.ID, State: r.State, Sub: r.Sub, Reason: r.Reason, Serial: r.Serial,
			Voided: append([]string(nil), r.Voided...), Printer: r.Printer, Outcome: r.Outcome, Source: r.Source,
			Template: r.Template, Mode: r.Mode, ReprintOf: r.ReprintOf, Hash: r.Hash, Attempt: r.Attempt,
			NotBefore: r.NotBefore, Purged: r.Purged, Batch: r.Batch, Checked: r.Checked, Created: r.Created, Updated: r.Time,
			Evidence: r.Evidence}
		if r.Evidence != nil {
			j.evidenceSeq = r.Seq
		}
		return
	}
	if j.Num == 0 {
		j.Num = r.Job
		j.Created = r.Time
	}
	j.Updated = r.Time
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	set(&j.ID, r.ID)
	set(&j.Source, r.Source)
	set(&j.Template, r.Template)
	set(&j.Mode, r.Mode)
	set(&j.ReprintOf, r.ReprintOf)
	set(&j.Hash, r.Hash)
	set(&j.Batch, r.Batch)
	if r.State != "" {
		j.State = r.State
		j.Checked = r.Checked
	}
	j.Sub = r.Sub
	j.Reason = r.Reason
	if r.Printer != "" {
		j.Printer = r.Printer
	}
	if r.Outcome != "" {
		j.Outcome = r.Outcome
	}
	if r.Void {
		s := r.Serial
		if s == "" {
			s = j.Serial
		}
		if s != "" {
			j.Voided = append(j.Voided, s)
		}
		if s == j.Serial {
			j.Serial = ""
		}
	} else if r.Serial != "" {
		j.Serial = r.Serial
	}
	if r.Attempt != 0 {
		j.Attempt = max(r.Attempt, 0)
	}
	j.NotBefore = r.NotBefore
	if r.Evidence != nil {
		// A new card: what was said about the last one is over.
		j.Evidence, j.evidenceSeq = r.Evidence, r.Seq
		j.EvidenceAfter, j.Settled, j.StrayCounted = nil, "", false
	}
	if r.After != nil {
		j.EvidenceAfter = r.After
	}
	if r.Settled != "" {
		j.Settled = r.Settled
	}
	switch {
	case r.Rejecting != "":
		j.Rejecting = r.Rejecting
	case r.Stray && j.Rejecting == RejectingStray:
		j.Rejecting = ""
	case r.Outcome != "" && r.Outcome != printer.OutcomeUnknown && j.Rejecting == RejectingCard:
		j.Rejecting = ""
	}
	if r.Stray {
		j.StrayCounted = true
	}
	if r.Purged {
		j.Purged = true
	}
}

// dirFor is the spool area a job's directory lives in for a state.
func dirFor(s State) string {
	switch s {
	case StateHeld:
		return dirHeld
	case StateCompleted, StateCancelled:
		return dirDone
	case StateAborted:
		return dirFailed
	}
	return dirActive
}
