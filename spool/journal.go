package spool

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/cardd/cardd/printer"
)

// The journal is an append-only file of job state transitions, one record
// a line:
//
//	CRC SP JSON LF
//
// where CRC is the CRC-32C (Castagnoli) of the JSON bytes in eight lower-case
// hex digits. Every record is written with one write(2) and fsync(2)ed
// before the transition it describes is acted on. Reading tolerates a torn
// last record (a crash mid-write leaves a line without its newline, a
// checksum mismatch or trailing NUL bytes at the very end) and reports
// ErrCorrupt for damage anywhere else; Open truncates a torn tail away
// before appending.

// ErrCorrupt reports a damaged journal record that is not the last one.
var ErrCorrupt = errors.New("spool: journal corrupt")

// maxRecordBytes bounds one journal line, so a damaged file cannot make the
// reader allocate without limit.
const maxRecordBytes = 64 << 10

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Record is one journal entry: a job's new state and what goes with it.
// Fields left empty keep the job's previous value when replayed (a serial,
// once recorded, stays until a record sets Void).
type Record struct {
	// Seq numbers records from 1, without gaps.
	Seq uint64 `json:"seq"`
	// Time is when the transition was made (the scheduler's clock).
	Time time.Time `json:"t"`
	// Job is the spool's own job number; it names the job's directory.
	Job uint64 `json:"job"`
	// ID is the producer's job id, once the job file was read.
	ID string `json:"id,omitempty"`
	// State is the job's new state.
	State State `json:"state"`
	// Sub is the card sub-state while processing.
	Sub Sub `json:"sub,omitempty"`
	// Serial is the card serial assigned to the job.
	Serial string `json:"serial,omitempty"`
	// Void marks Serial (or the job's current serial) as voided and
	// released from the job.
	Void bool `json:"void,omitempty"`
	// Printer is the printer the card went to.
	Printer string `json:"printer,omitempty"`
	// Outcome is how far the card got in the printer.
	Outcome printer.Outcome `json:"outcome,omitempty"`
	// Reason explains the state (why held, failed, stopped, cancelled).
	Reason string `json:"reason,omitempty"`
	// Source is the name the job arrived under in incoming/.
	Source string `json:"source,omitempty"`
	// Template and Mode come from the job file.
	Template string `json:"template,omitempty"`
	Mode     string `json:"mode,omitempty"`
	// ReprintOf is the producer id of the job this one reprints.
	ReprintOf string `json:"reprint_of,omitempty"`
	// Hash is the SHA-256 of the job file and photo, kept after the
	// personal data is purged.
	Hash string `json:"hash,omitempty"`
	// Attempt counts print attempts of the job; -1 resets the count (an
	// operator released the job).
	Attempt int `json:"attempt,omitempty"`
	// NotBefore delays the next attempt (retry back-off).
	NotBefore time.Time `json:"not_before,omitzero"`
	// Purged says the job's personal data was deleted from the spool.
	Purged bool `json:"purged,omitempty"`
	// Batch names the batch the job belongs to (permanent mode). With
	// Job 0 the record is about the batch itself.
	Batch string `json:"batch,omitempty"`
	// BatchState is the batch's new state (records with Job 0).
	BatchState BatchState `json:"batch_state,omitempty"`
	// Checked says the job is held by a check at intake (a Screener's
	// hold): releasing it overrides the check and needs a reason
	// (Scheduler.Override).
	Checked bool `json:"checked,omitempty"`
	// Stray says that before this job's card was fed, the printer sent a
	// card left inside by an earlier attempt to the reject box: one
	// spoiled blank, counted in this job's batch (see Scheduler.settle).
	Stray bool `json:"stray,omitempty"`
	// StraySerial names the stray card's serial when it could be
	// attributed (the one job held as outcome unknown on that printer):
	// that blank is already accounted for by that job.
	StraySerial string `json:"stray_serial,omitempty"`
	// Evidence is what the printer said about itself just before this
	// job's card was fed (serial, counters, card inside), journaled with
	// the printing record; settlement compares it with what the printer
	// says after a crash or a lost link (see settle.go).
	Evidence *printer.Evidence `json:"evidence,omitempty"`
	// After is the evidence read when the card's outcome was settled.
	After *printer.Evidence `json:"evidence_after,omitempty"`
	// Rejecting is an intent: the printer is about to be told to send a
	// card to the reject box, the job's own card ("card") or a card left
	// inside by an earlier attempt ("stray"). It is journaled durably
	// before the command, so a crash after it still counts the blank; the
	// record of the outcome settles it.
	Rejecting string `json:"rejecting,omitempty"`
	// Settled is the automatic settlement's decision about an unknown
	// outcome, with the evidence it rests on.
	Settled string `json:"settled,omitempty"`

	// Snapshot marks a record written by Compact that replaces a job's
	// history: it sets every field of the job, including Voided and
	// Created, instead of folding into the previous state.
	Snapshot bool `json:"snapshot,omitempty"`
	// Audit is the audit event the transition owes (see PendingAudit).
	Audit *PendingAudit `json:"audit,omitempty"`
	// Ack acknowledges the audit event of the record with this Seq; such
	// a record changes nothing else.
	Ack     uint64    `json:"ack,omitempty"`
	Voided  []string  `json:"voided,omitempty"`
	Created time.Time `json:"created,omitzero"`
}

// maxReasonBytes bounds a record's free-text fields.
const maxReasonBytes = 2048

// clipReason shortens s to maxReasonBytes on a rune boundary.
func clipReason(s string) string {
	if len(s) <= maxReasonBytes {
		return s
	}
	cut := maxReasonBytes
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// encodeRecord returns r as one journal line.
func encodeRecord(r *Record) ([]byte, error) {
	js, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("spool: journal: encode record %d of job %d: %w", r.Seq, r.Job, err)
	}
	line := make([]byte, 0, len(js)+10)
	line = fmt.Appendf(line, "%08x ", crc32.Checksum(js, castagnoli))
	line = append(line, js...)
	return append(line, '\n'), nil
}

// decodeLine parses one journal line without its newline.
func decodeLine(line []byte) (Record, error) {
	var r Record
	if len(line) < 10 || line[8] != ' ' {
		return r, errors.New("short or malformed line")
	}
	want, err := strconv.ParseUint(string(line[:8]), 16, 32)
	if err != nil {
		return r, fmt.Errorf("bad checksum field: %v", err)
	}
	js := line[9:]
	if got := crc32.Checksum(js, castagnoli); uint32(want) != got {
		return r, fmt.Errorf("checksum %08x, want %08x", got, want)
	}
	if fastDecode(js, &r) {
		return r, nil
	}
	r = Record{}
	if err := json.Unmarshal(js, &r); err != nil {
		return r, fmt.Errorf("decode: %v", err)
	}
	return r, nil
}

// ReadJournal reads every record of a journal. good is the length of the
// intact prefix: when it is shorter than the input, the rest is a torn last
// record that a crash left behind and that may be discarded. Damage before
// the last record is ErrCorrupt, naming the byte offset; so is a record
// whose Seq does not follow its predecessor's.
func ReadJournal(rd io.Reader) (recs []Record, good int64, err error) {
	_, good, _, err = scanJournal(rd, snapCover{}, func(r *Record) { recs = append(recs, *r) })
	return recs, good, err
}

// scanJournal is ReadJournal handing each intact record to fn as it is
// read (no slice of every record is built: replaying a large journal is
// part of a restart's time). rd is positioned after the records from
// covers (a snapshot's, or none); n counts the records including those,
// good and crc (CRC-32C of the intact journal) include them too.
func scanJournal(rd io.Reader, from snapCover, fn func(*Record)) (n uint64, good int64, crc uint32, err error) {
	br := bufio.NewReaderSize(rd, 256<<10)
	n, good, crc = from.seq, from.size, from.crc
	off := from.size
	var pendingErr error // a bad line, fatal unless nothing valid follows
	var pendingOff int64
	for {
		line, rerr := br.ReadSlice('\n')
		if errors.Is(rerr, bufio.ErrBufferFull) {
			// Over-long line: collect it to its end to stay in step.
			buf := append([]byte(nil), line...)
			for errors.Is(rerr, bufio.ErrBufferFull) && len(buf) <= maxRecordBytes {
				line, rerr = br.ReadSlice('\n')
				buf = append(buf, line...)
			}
			line = buf
			if errors.Is(rerr, bufio.ErrBufferFull) {
				return n, good, crc, fmt.Errorf("%w: record at byte %d longer than %d bytes", ErrCorrupt, off, maxRecordBytes)
			}
		}
		if len(line) == 0 && rerr == io.EOF {
			break
		}
		if rerr != nil && rerr != io.EOF {
			return n, good, crc, fmt.Errorf("spool: journal: read: %w", rerr)
		}
		complete := rerr == nil // ends in '\n'
		body := bytes.TrimSuffix(line, []byte{'\n'})
		if pendingErr != nil {
			if len(bytes.Trim(line, "\x00\n")) == 0 {
				// NULs or blank after a bad record: still a torn tail.
				off += int64(len(line))
				if rerr == io.EOF {
					break
				}
				continue
			}
			return n, good, crc, fmt.Errorf("%w: record at byte %d: %v", ErrCorrupt, pendingOff, pendingErr)
		}
		rec, derr := decodeLine(body)
		if derr == nil && !complete {
			derr = errors.New("no newline (torn write)")
		}
		if derr == nil && rec.Seq != n+1 {
			derr = fmt.Errorf("sequence %d, want %d", rec.Seq, n+1)
			// A sequence error is never a torn write.
			return n, good, crc, fmt.Errorf("%w: record at byte %d: %v", ErrCorrupt, off, derr)
		}
		if derr != nil {
			pendingErr, pendingOff = derr, off
		} else {
			n++
			fn(&rec)
			good = off + int64(len(line))
			crc = crc32.Update(crc, castagnoli, line)
		}
		off += int64(len(line))
		if rerr == io.EOF {
			break
		}
	}
	return n, good, crc, nil
}

// Journal is the open, append-only journal of a spool. It is not safe for
// concurrent use; the Spool serialises access.
type Journal struct {
	f       *os.File
	path    string
	nextSeq uint64
	size    int64  // length of the intact journal
	crc     uint32 // CRC-32C of those bytes (what a snapshot covers)
	sync    bool
	err     error // sticky: after a failed fsync nothing more is trusted
}

// openJournal opens (creating) the journal at path, reads its records,
// truncates a torn tail and positions for appending.
func openJournal(path string, sync bool) (*Journal, []Record, error) {
	var recs []Record
	j, err := openJournalFunc(path, sync, snapCover{}, func(r *Record) { recs = append(recs, *r) })
	return j, recs, err
}

// openJournalFunc is openJournal handing each record to fn as it is read,
// after the records a snapshot covers (from; none when zero), which the
// caller checked are the journal's (checkCover).
func openJournalFunc(path string, sync bool, from snapCover, fn func(*Record)) (*Journal, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, filePerm)
	if err != nil {
		return nil, fmt.Errorf("spool: journal %s: %w", path, err)
	}
	if _, err := f.Seek(from.size, io.SeekStart); err != nil {
		f.Close()
		return nil, fmt.Errorf("spool: journal %s: %w", path, err)
	}
	n, good, crc, err := scanJournal(f, from, fn)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("spool: journal %s: %w", path, err)
	}
	end, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("spool: journal %s: %w", path, err)
	}
	if good < end {
		if err := f.Truncate(good); err != nil {
			f.Close()
			return nil, fmt.Errorf("spool: journal %s: drop torn tail: %w", path, err)
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return nil, fmt.Errorf("spool: journal %s: %w", path, err)
		}
	}
	if _, err := f.Seek(good, io.SeekStart); err != nil {
		f.Close()
		return nil, fmt.Errorf("spool: journal %s: %w", path, err)
	}
	return &Journal{f: f, path: path, nextSeq: n + 1, size: good, crc: crc, sync: sync}, nil
}

// append numbers r, writes it and fsyncs it (unless syncing is off).
func (j *Journal) append(r *Record) error { return j.write(r, true) }

// write appends r, fsyncing only when durable is set. A record written
// without fsync becomes durable with the next fsynced one (fsync flushes
// the whole file), so it may only describe a state that is re-derived
// after a crash if the record is lost.
func (j *Journal) write(r *Record, durable bool) error {
	if j.err != nil {
		return j.err
	}
	r.Seq = j.nextSeq
	line, err := encodeRecord(r)
	if err != nil {
		return err
	}
	if _, err := j.f.Write(line); err != nil {
		// Cut a partial line away so the next record does not follow
		// garbage (which the reader would rightly call corruption).
		_ = j.f.Truncate(j.size)
		_, _ = j.f.Seek(j.size, io.SeekStart)
		return fmt.Errorf("spool: journal %s: append record %d (job %d): %w", j.path, r.Seq, r.Job, err)
	}
	if j.sync && durable {
		if err := j.f.Sync(); err != nil {
			// After a failed fsync the kernel may have dropped the
			// dirty pages: stop trusting the file (restart re-reads it).
			j.err = fmt.Errorf("spool: journal %s: fsync record %d (job %d): %w", j.path, r.Seq, r.Job, err)
			return j.err
		}
	}
	j.nextSeq++
	j.size += int64(len(line))
	j.crc = crc32.Update(j.crc, castagnoli, line)
	return nil
}

// Close closes the journal file.
func (j *Journal) Close() error { return j.f.Close() }

// checkCover reports whether the journal at path begins with the records a
// snapshot covers: at least from.size bytes whose CRC-32C is from.crc (the
// last of them a whole record numbered from.seq). Reading them is far
// cheaper than decoding them.
func checkCover(path string, from snapCover) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	h := crc32.New(castagnoli)
	// Large reads: the covered part is most of a long journal.
	got, err := io.CopyBuffer(h, io.LimitReader(f, from.size), make([]byte, 1<<20))
	if err != nil {
		return fmt.Errorf("read the journal: %w", err)
	}
	if got < from.size {
		return fmt.Errorf("it covers %d bytes of the journal, which has %d", from.size, got)
	}
	if h.Sum32() != from.crc {
		return fmt.Errorf("the journal's first %d bytes have checksum %08x, the snapshot's %08x (the journal was replaced: compacted after the snapshot)", from.size, h.Sum32(), from.crc)
	}
	if from.size > 0 {
		// The covered part ends with a whole record numbered from.seq.
		back := min(from.size, maxRecordBytes+10)
		buf := make([]byte, back)
		if _, err := f.ReadAt(buf, from.size-back); err != nil {
			return fmt.Errorf("read the journal: %w", err)
		}
		if buf[len(buf)-1] != '\n' {
			return fmt.Errorf("the covered part does not end with a whole record")
		}
		line := buf[:len(buf)-1]
		if i := bytes.LastIndexByte(line, '\n'); i >= 0 {
			line = line[i+1:]
		} else if back < from.size {
			return fmt.Errorf("the covered part's last record is too long")
		}
		r, err := decodeLine(line)
		if err != nil {
			return fmt.Errorf("the covered part's last record: %v", err)
		}
		if r.Seq != from.seq {
			return fmt.Errorf("the covered part's last record is number %d, the snapshot's %d", r.Seq, from.seq)
		}
	} else if from.seq != 0 {
		return fmt.Errorf("it covers %d records in no bytes", from.seq)
	}
	return nil
}
