package spool

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// A job that crashes the daemon (a decoder bug, memory exhausted while
// composing) must not crash it again at every restart: the station would
// never come back without a person. The two risky steps leave a trace a
// restart can read:
//
//   - admission (reading, checking and screening a claimed job) writes the
//     job's number and its attempt count to ROOT/admitting before it
//     starts and blanks the marker after (the file is kept, open, and
//     overwritten in place: creating and removing it at every job cost
//     more than the rest of the admission's file system work);
//   - composition is journaled (sub-state composing) before it starts, and
//     a restart that finds a job composing journals "requeued after
//     restart".
//
// Admission handles one job at a time, so the marker names the culprit.
// Composition runs several cards at once, so a restart that finds several
// jobs composing cannot tell which one crashed the daemon: it requeues
// them all as suspects, and the scheduler composes a suspect only with
// nothing else in flight. A job found composing alone at a restart is
// counted; so is a job found mid-admission.
//
// A job counted crashLimit times is quarantined: aborted into failed/
// with a reason, its serial (if any) voided, without reading it again.

// crashLimit is how many restarts a job may be found in the middle of a
// risky step before it is quarantined.
const crashLimit = 2

// fileAdmitting names the admission marker in the spool root.
const fileAdmitting = "admitting"

// reasonRequeued is the reason a restart journals for a job it found
// composing with others, reasonRequeuedSolo for one it found composing
// alone (a crash that counts against the job).
const (
	reasonRequeued     = "requeued after restart"
	reasonRequeuedSolo = "requeued after restart (it was the only card composing)"
)

// admitMarker is the admission in progress: job number and attempts
// started.
type admitMarker struct {
	job      uint64
	attempts int
}

// readAdmitMarker reads ROOT/admitting; a missing or unreadable marker is
// none.
func readAdmitMarker(root string) admitMarker {
	b, err := os.ReadFile(filepath.Join(root, fileAdmitting))
	if err != nil {
		return admitMarker{}
	}
	return parseAdmitMarker(b)
}

// parseAdmitMarker parses the marker's "JOB ATTEMPTS" line; anything else
// is no marker.
func parseAdmitMarker(b []byte) admitMarker {
	if len(b) > 64 {
		return admitMarker{}
	}
	num, count, ok := strings.Cut(strings.TrimSpace(string(b)), " ")
	n, err1 := strconv.ParseUint(num, 10, 64)
	k, err2 := strconv.Atoi(count)
	if !ok || err1 != nil || err2 != nil || k < 0 {
		return admitMarker{}
	}
	return admitMarker{job: n, attempts: k}
}

// markerLen is the length of every write of the admission marker: a
// marker padded with spaces, or nothing but spaces (no admission in
// progress), always covering the one before.
const markerLen = 32

// openAdmitMarker opens ROOT/admitting for writing in place, creating it
// when missing, and cuts a longer file (not a marker) to markerLen.
func openAdmitMarker(root string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(root, fileAdmitting), os.O_RDWR|os.O_CREATE, filePerm)
	if err != nil {
		return nil, fmt.Errorf("admission marker: %w", err)
	}
	if fi, err := f.Stat(); err != nil || fi.Size() > markerLen {
		if err == nil {
			err = f.Truncate(markerLen)
		}
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("admission marker: %w", err)
		}
	}
	return f, nil
}

// encodeAdmitMarker returns the marker's write for m (spaces for none).
func encodeAdmitMarker(m admitMarker) []byte {
	b := make([]byte, 0, markerLen)
	if m != (admitMarker{}) {
		b = fmt.Appendf(b, "%d %d", m.job, m.attempts)
	}
	for len(b) < markerLen-1 {
		b = append(b, ' ')
	}
	return append(b, '\n')
}

// writeAdmitMarker overwrites the marker with m. No fsync: the marker
// only has to survive the death of the process, not of the machine, and
// a write of the page cache survives the process.
func (s *Scheduler) writeAdmitMarker(m admitMarker) error {
	if f := s.sp.admitFile; f != nil {
		_, err := f.WriteAt(encodeAdmitMarker(m), 0)
		return err
	}
	p := filepath.Join(s.sp.root, fileAdmitting) // a spool opened read-only
	if m == (admitMarker{}) {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	}
	return os.WriteFile(p, encodeAdmitMarker(m), filePerm)
}

// startAdmission records that admission of job n starts and returns how
// many earlier attempts at it crashed the daemon.
func (s *Scheduler) startAdmission(n uint64) (crashed int, err error) {
	if s.admitting.job == n {
		crashed = s.admitting.attempts
	}
	if crashed >= crashLimit {
		return crashed, nil
	}
	s.admitting = admitMarker{job: n, attempts: crashed + 1}
	if err := s.writeAdmitMarker(s.admitting); err != nil {
		return crashed, fmt.Errorf("spool: admission marker: %w", err)
	}
	return crashed, nil
}

// endAdmission blanks the admission marker.
func (s *Scheduler) endAdmission() {
	s.admitting = admitMarker{}
	if err := s.writeAdmitMarker(admitMarker{}); err != nil {
		s.log.Warn("admission marker not cleared", "err", err)
	}
}

// composeCrashes counts the restarts that found job j composing alone.
func composeCrashes(j *Job) int {
	n := 0
	j.loadHistory()
	for _, r := range j.History {
		if r.Reason == reasonRequeuedSolo && r.State == StatePending {
			n++
		}
	}
	return n
}

// suspect reports whether a restart found job j composing.
func suspect(j *Job) bool {
	j.loadHistory()
	for _, r := range j.History {
		if r.State == StatePending && (r.Reason == reasonRequeued || r.Reason == reasonRequeuedSolo) {
			return true
		}
	}
	return false
}

// suspectWaits reports whether job j, next in line, must wait: a suspect
// is composed only with nothing else in flight, and nothing is taken while
// a suspect is in flight. s.sp.mu must be held.
func (s *Scheduler) suspectWaits(j *Job) bool {
	if len(s.claims) == 0 {
		return false
	}
	if suspect(j) {
		return true
	}
	for num := range s.claims {
		if o := s.sp.jobs[num]; o != nil && suspect(o) {
			return true
		}
	}
	return false
}

func quarantineReason(step string, crashes int) string {
	return fmt.Sprintf("quarantined: the daemon stopped %d times while %s this job, which may be what crashes it; not tried again (look at the job and the daemon's log, then submit it again)", crashes, step)
}
