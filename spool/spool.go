// Package spool is cardd's scheduler: the spool directory protocol, the
// durable job lifecycle with its journal, and the scheduler that takes jobs
// from incoming/ to a printed card.
//
// # Directory layout
//
// The spool directory is owned by the daemon's user. Open creates what is
// missing:
//
//	ROOT/            0750  the spool
//	ROOT/incoming/   0770  producers drop jobs here (group = producers)
//	ROOT/active/     0700  claimed jobs: pending, processing, stopped
//	ROOT/held/       0700  jobs waiting for an operator (reason.txt inside)
//	ROOT/done/       0700  completed and cancelled jobs until purged
//	ROOT/failed/     0700  refused or aborted jobs, with reason.txt
//	ROOT/control/    0770  operator requests from "cardd jobs" (see SendRequest)
//	ROOT/batches/    0750  permanent mode: BATCH/report.{json,txt}
//	ROOT/journal     0600  the append-only journal of every transition
//	                       (elsewhere if Options.Journal says so)
//	ROOT/lock        0600  flock(2)ed by the one daemon using the spool
//
// Files the daemon writes are 0600 (job data) or 0640 (reason files). A
// claimed job's directory is named after its spool job number (%08d) in
// whichever area its state puts it; the journal maps numbers to producer
// ids.
//
// # Committing a job (for producers)
//
// Preferred: write a directory holding the job file (job.toml or
// job.json) and the photo it names, somewhere on the same filesystem (or
// in incoming/ under a name starting with "."), fsync it, then rename(2) it
// into incoming/ under any name not starting with ".". The daemon claims a
// directory as soon as it sees it. Submit does exactly this.
//
// Also accepted: a plain job file written straight into incoming/ (NAME.toml
// or NAME.json), with its photo written there first. Such a file is claimed
// only once complete: immediately if a marker file NAME.toml.ready (or
// NAME.json.ready) exists, which the producer creates after closing the job
// file; otherwise when the file's size, modification time and inode are
// unchanged across two scans at least StableAfter apart. The photo the
// job names is moved along with it. Names starting with "." are never
// claimed.
//
// Claiming is a rename(2) into active/; a claimed job belongs to the daemon.
//
// # Lifecycle
//
// A claimed job is read and checked (job file, photo header, duplicate
// id, reprint rules), screened (Screener: template, photo limits, face …)
// and becomes pending, held for an operator, or aborted into failed/ with
// reason.txt — all before a serial exists for it. A printer takes the oldest eligible pending job: a serial is
// assigned and journaled (sub-state composing) and the AuditIssued event
// written, the card composed (and verified, with a Verifier), the
// sub-state printing journaled, and only then the card sent. The outcome
// decides: printed → completed; rejected → the serial is voided and the
// printer's error policy applies; not fed → the policy applies with the
// serial kept; unknown → held with ReasonOutcomeUnknown until an operator
// confirms or voids. A restart holds every job journaled as printing the
// same way and requeues the ones caught composing.
//
// Every transition is a journal record, fsynced before it is acted on
// (except admission records, which the directories re-derive). Audit
// events travel with their records and are delivered at least once.
// Retention purges the directories of final jobs; Compact folds finished
// jobs' histories into one record each.
package spool

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"time"
)

// Areas of the spool directory.
const (
	dirIncoming = "incoming"
	dirActive   = "active"
	dirHeld     = "held"
	dirDone     = "done"
	dirFailed   = "failed"
	dirControl  = "control"
	fileJournal = "journal"
	fileLock    = "lock"
	fileReason  = "reason.txt"
)

// Permissions of what the daemon creates.
const (
	rootPerm     fs.FileMode = 0o750
	incomingPerm fs.FileMode = 0o770
	privatePerm  fs.FileMode = 0o700
	filePerm     fs.FileMode = 0o600
	reasonPerm   fs.FileMode = 0o640
)

// errDirMissing: a job's directory is in none of the spool's areas.
var errDirMissing = errors.New("directory missing from the spool")

// ErrNotFound: no job matches the reference.
var ErrNotFound = errors.New("spool: no such job")

// ErrNoBatch: no batch has the id. It is an ErrNotFound (errors.Is), with
// words of its own: "cardd batch show B000009" on a station without that
// batch said "no such job".
var ErrNoBatch error = noBatchError{}

type noBatchError struct{}

func (noBatchError) Error() string        { return "spool: no such batch" }
func (noBatchError) Is(target error) bool { return target == ErrNotFound }

// ErrLocked: another process holds the spool.
var ErrLocked = errors.New("spool: in use by another process")

// ErrState: the job is not in a state that allows the action.
var ErrState = errors.New("spool: action not allowed in the job's state")

// Options tune a Spool. The zero value is usable.
type Options struct {
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// StableAfter is how long a plain job file in incoming/ must stay
	// unchanged before it is claimed without a .ready marker (default 2s).
	StableAfter time.Duration
	// NoSync skips fsync of the journal and directories. Only for tests
	// that measure something else; a daemon never sets it.
	NoSync bool
	// ReadOnly opens the spool without taking the lock or writing (for
	// "cardd jobs list" beside a running daemon).
	ReadOnly bool
	// Journal is the journal file; ROOT/journal when empty (config's
	// paths.journal). It must be on a local filesystem.
	Journal string
}

// Spool is an open spool directory: its areas, its journal and the state
// of every job replayed from it. Its methods are safe for concurrent use.
type Spool struct {
	root string
	log  *slog.Logger
	opts Options
	// admitFile is ROOT/admitting, kept open for the scheduler's
	// admission marker (set by Open, never changed; nil read-only).
	admitFile *os.File

	mu      sync.Mutex
	journal *Journal
	lock    *os.File
	jobs    map[uint64]*Job
	byID    map[string]uint64 // live (not aborted or cancelled) jobs by producer id
	nextNum uint64
	seen    map[string]seenFile // incoming plain files under observation
	sources map[uint64]string   // incoming name of claimed, unadmitted jobs

	batches    map[string]*Batch
	batchOrder []string
	// left is Config.Left of the scheduler on the spool (nil: none).
	left func(id string)

	snapMu   sync.Mutex // one Snapshot at a time
	snapSize int64      // journal bytes the newest snapshot covers
}

type seenFile struct {
	size  int64
	mtime time.Time
	ino   uint64
	first time.Time
}

// Open opens the spool at root, creating its areas, taking its lock and
// replaying its journal. It does not claim or recover jobs; the Scheduler
// does that when it starts.
func Open(root string, opts Options, log *slog.Logger) (*Spool, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Journal == "" {
		opts.Journal = filepath.Join(root, fileJournal)
	}
	if opts.StableAfter == 0 {
		opts.StableAfter = 2 * time.Second
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Spool{root: root, log: log, opts: opts, jobs: map[uint64]*Job{}, byID: map[string]uint64{}, seen: map[string]seenFile{}, sources: map[uint64]string{}, batches: map[string]*Batch{}, nextNum: 1}
	if opts.ReadOnly {
		f, err := os.Open(opts.Journal)
		if errors.Is(err, fs.ErrNotExist) {
			return s, nil // a spool no daemon has used yet
		}
		if err != nil {
			return nil, fmt.Errorf("spool %s: %w", root, err)
		}
		defer f.Close()
		from := s.startFromSnapshot(opts.Journal)
		if _, err := f.Seek(from.size, io.SeekStart); err != nil {
			return nil, fmt.Errorf("spool %s: %w", root, err)
		}
		if _, _, _, err := scanJournal(f, from, s.replayOne); err != nil {
			return nil, fmt.Errorf("spool %s: %w", root, err)
		}
		return s, nil
	}
	if err := s.makeDirs(); err != nil {
		return nil, err
	}
	lock, err := lockFile(filepath.Join(root, fileLock))
	if err != nil {
		return nil, fmt.Errorf("spool %s: %w", root, err)
	}
	s.lock = lock
	if s.admitFile, err = openAdmitMarker(root); err != nil {
		lock.Close()
		return nil, fmt.Errorf("spool %s: %w", root, err)
	}
	from := s.startFromSnapshot(opts.Journal)
	j, err := openJournalFunc(opts.Journal, !opts.NoSync, from, s.replayOne)
	if err != nil {
		s.admitFile.Close()
		lock.Close()
		return nil, err
	}
	s.journal = j
	s.snapSize = from.size
	// A number already used by a directory (claimed but not journaled
	// before a crash) is never handed out again.
	for _, area := range []string{dirActive, dirHeld, dirDone, dirFailed} {
		ents, _ := os.ReadDir(filepath.Join(root, area))
		for _, e := range ents {
			if n, ok := parseNum(e.Name()); ok && n >= s.nextNum {
				s.nextNum = n + 1
			}
		}
	}
	return s, nil
}

// startFromSnapshot loads the journal's snapshot, if there is one and it
// is the journal's, and returns what of the journal it covers (zero: replay
// it all). A snapshot that cannot be used is logged with its reason and
// ignored.
func (s *Spool) startFromSnapshot(journal string) snapCover {
	from, err := s.loadSnapshot(journal)
	if errors.Is(err, fs.ErrNotExist) {
		return snapCover{}
	}
	if err == nil {
		err = checkCover(journal, from)
		if err != nil {
			// Back to the empty state of a full replay.
			s.jobs, s.byID, s.batches, s.batchOrder, s.nextNum = map[uint64]*Job{}, map[string]uint64{}, map[string]*Batch{}, nil, 1
		}
	}
	if err != nil {
		s.log.Warn("journal snapshot ignored: replaying the whole journal", "snapshot", snapshotPath(journal), "reason", err)
		return snapCover{}
	}
	s.log.Debug("journal snapshot loaded", "snapshot", snapshotPath(journal), "jobs", len(s.jobs), "journal_bytes_covered", from.size)
	return from
}

func (s *Spool) makeDirs() error {
	mk := func(p string, perm fs.FileMode) error {
		err := os.Mkdir(p, perm)
		switch {
		case err == nil:
			// Explicitly: the umask (UMask=0027 in the packaged
			// unit) would take the group write bit producers and
			// operators need on incoming/ and control/. A directory
			// that exists keeps the mode its administrator chose.
			if err := os.Chmod(p, perm); err != nil {
				return fmt.Errorf("spool: create %s: %w", p, err)
			}
		case !errors.Is(err, fs.ErrExist):
			return fmt.Errorf("spool: create %s: %w", p, err)
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return fmt.Errorf("spool: %w", err)
		}
		if !fi.IsDir() {
			return fmt.Errorf("spool: %s is not a directory", p)
		}
		return nil
	}
	if err := mk(s.root, rootPerm); err != nil {
		return err
	}
	for _, d := range []struct {
		name string
		perm fs.FileMode
	}{{dirIncoming, incomingPerm}, {dirActive, privatePerm}, {dirHeld, privatePerm}, {dirDone, privatePerm}, {dirFailed, privatePerm}, {dirControl, incomingPerm}} {
		if err := mk(filepath.Join(s.root, d.name), d.perm); err != nil {
			return err
		}
	}
	return nil
}

// replayOne folds one journal record into the spool's state (s.nextNum
// starts at 1).
func (s *Spool) replayOne(r *Record) {
	if r.Job == 0 {
		s.applyBatch(r)
		return
	}
	j := s.jobs[r.Job]
	if j == nil {
		// A job's history as written runs to about eight records
		// (queued, composing, its acknowledgement, printing, the
		// outcome and its acknowledgement, purged); a compacted one is
		// one snapshot. Sized once, it is not copied as it grows.
		n := 8
		if r.Snapshot {
			n = 1
		}
		j = &Job{History: make([]Record, 0, n)}
		s.jobs[r.Job] = j
	}
	j.loadHistory()
	j.apply(r)
	j.History = append(j.History, *r)
	s.index(j)
	if r.Job >= s.nextNum {
		s.nextNum = r.Job + 1
	}
}

// index keeps byID in step with a job's state.
func (s *Spool) index(j *Job) {
	if j.ID == "" {
		return
	}
	live := j.State != StateAborted && j.State != StateCancelled
	cur, ok := s.byID[j.ID]
	switch {
	case live && !ok:
		s.byID[j.ID] = j.Num
	case !live && ok && cur == j.Num:
		delete(s.byID, j.ID)
	}
}

// Root returns the spool directory.
func (s *Spool) Root() string { return s.root }

// Close releases the journal and the lock.
func (s *Spool) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	if s.journal != nil {
		errs = append(errs, s.journal.Close())
		s.journal = nil
	}
	if s.lock != nil {
		if s.admitFile != nil {
			errs = append(errs, s.admitFile.Close())
		}
		errs = append(errs, s.lock.Close())
		s.lock = nil
	}
	return errors.Join(errs...)
}

func numName(n uint64) string { return fmt.Sprintf("%08d", n) }

func parseNum(name string) (uint64, bool) {
	if len(name) != 8 {
		return 0, false
	}
	n, err := strconv.ParseUint(name, 10, 64)
	return n, err == nil && n > 0
}

// JobDir returns the directory of job num for its current state.
func (s *Spool) JobDir(num uint64) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	j := s.jobs[num]
	if j == nil {
		return filepath.Join(s.root, dirActive, numName(num))
	}
	return filepath.Join(s.root, dirFor(j.State), numName(num))
}

// record makes a transition durable (journal append with fsync), applies
// it, and then acts on it: moves the job's directory to the area of its
// new state and writes or removes its reason file. s.mu must be held.
func (s *Spool) record(r Record) (*Job, error) { return s.put(r, true) }

// recordLazy is record without the fsync, for a transition that is
// re-derived from the spool's directories if a crash loses it (admission
// of a claimed job: its directory in active/ is admitted again). The next
// durable record makes it durable too.
func (s *Spool) recordLazy(r Record) (*Job, error) { return s.put(r, false) }

func (s *Spool) put(r Record, durable bool) (*Job, error) {
	if s.journal == nil {
		return nil, errors.New("spool: opened read-only or closed")
	}
	// Reasons carry error text of any length; the reader refuses records
	// over maxRecordBytes, so keep every record well inside it.
	r.Reason = clipReason(r.Reason)
	r.Source = clipReason(r.Source)
	if r.Time.IsZero() {
		r.Time = s.opts.Now()
	}
	if r.Job == 0 {
		if r.Batch == "" || r.BatchState == "" {
			return nil, errors.New("spool: record without a job or a batch")
		}
		if err := s.journal.write(&r, durable); err != nil {
			return nil, err
		}
		s.applyBatch(&r)
		return nil, nil
	}
	j := s.jobs[r.Job]
	prev := StatePending
	isNew := j == nil
	if !isNew {
		prev = j.State
	}
	if err := s.journal.write(&r, durable); err != nil {
		return nil, err
	}
	if isNew {
		j = &Job{}
		s.jobs[r.Job] = j
	}
	j.loadHistory()
	j.apply(&r)
	j.History = append(j.History, r)
	s.index(j)
	if r.Job >= s.nextNum {
		s.nextNum = r.Job + 1
	}
	if r.Ack != 0 {
		return j, nil // changes no state
	}
	if s.left != nil && j.ID != "" && (isNew || prev != j.State) && (j.State == StateHeld || j.State.Final()) {
		s.left(j.ID)
	}
	if err := s.place(j, dirFor(prev)); err != nil {
		return j, err
	}
	return j, nil
}

// place moves a job's directory into the area of its state (looking in
// from first, then everywhere) and keeps its reason file current.
func (s *Spool) place(j *Job, from string) error {
	if j.Purged {
		return nil
	}
	name := numName(j.Num)
	want := filepath.Join(s.root, dirFor(j.State), name)
	if _, err := os.Lstat(want); err != nil {
		moved := false
		if fi, err := os.Lstat(want + ".entry"); err == nil && !fi.IsDir() {
			moved = true // wrapped half-way before a crash: finish below
			if err := os.Mkdir(want, privatePerm); err != nil {
				return fmt.Errorf("spool: job %d: %w", j.Num, err)
			}
			if err := os.Rename(want+".entry", filepath.Join(want, "entry")); err != nil {
				return fmt.Errorf("spool: job %d: %w", j.Num, err)
			}
		}
		for _, area := range []string{from, dirActive, dirHeld, dirDone, dirFailed} {
			if moved {
				break
			}
			src := filepath.Join(s.root, area, name)
			if src == want {
				continue
			}
			if _, err := os.Lstat(src); err != nil {
				continue
			}
			// Not fsynced: the journal is the truth, and start-up
			// (Scheduler recovery) puts every directory back where its
			// state says, so a move lost in a crash is redone.
			if err := os.Rename(src, want); err != nil {
				return fmt.Errorf("spool: job %d (%s): move to %s: %w", j.Num, j.ID, dirFor(j.State), err)
			}
			moved = true
			break
		}
		if !moved {
			return fmt.Errorf("spool: job %d (%s): %w", j.Num, j.ID, errDirMissing)
		}
	}
	// A claimed entry that is not a real directory (a symlink dropped in
	// incoming/) is never written through: it is wrapped in a directory
	// of its own as "entry" before a reason file goes beside it.
	if fi, err := os.Lstat(want); err == nil && !fi.IsDir() {
		tmp := want + ".entry"
		if err := os.Rename(want, tmp); err != nil {
			return fmt.Errorf("spool: job %d: wrap non-directory entry: %w", j.Num, err)
		}
		if err := os.Mkdir(want, privatePerm); err != nil {
			return fmt.Errorf("spool: job %d: wrap non-directory entry: %w", j.Num, err)
		}
		if err := os.Rename(tmp, filepath.Join(want, "entry")); err != nil {
			return fmt.Errorf("spool: job %d: wrap non-directory entry: %w", j.Num, err)
		}
	}
	reason := filepath.Join(want, fileReason)
	if j.State == StateHeld || j.State == StateAborted {
		id := j.ID
		if id == "" {
			id = "(id unknown: the job file was not read)"
		}
		text := fmt.Sprintf("job %s (spool job %d)\npath: %s\nstate: %s\nreason: %s\ntime: %s\n", id, j.Num, want, j.State, j.Reason, j.Updated.UTC().Format(time.RFC3339))
		if old, err := os.ReadFile(reason); err == nil && string(old) == text {
			// Already current (a restart places every held job again):
			// no rewrite and fsync per held job before the station runs.
			return nil
		}
		if err := writeFileAtomic(reason, []byte(text), reasonPerm, !s.opts.NoSync); err != nil {
			return fmt.Errorf("spool: job %d (%s): reason file: %w", j.Num, j.ID, err)
		}
	} else if err := os.Remove(reason); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("spool: job %d (%s): %w", j.Num, j.ID, err)
	}
	return nil
}

func (s *Spool) syncDirs(dirs ...string) error {
	if s.opts.NoSync {
		return nil
	}
	return syncDirs(dirs...)
}

// syncDirs fsyncs directories so renames in them are durable.
func syncDirs(dirs ...string) error {
	for i, d := range dirs {
		if i > 0 && d == dirs[i-1] {
			continue
		}
		f, err := os.Open(d)
		if err != nil {
			return fmt.Errorf("sync dir: %w", err)
		}
		err = f.Sync()
		f.Close()
		if err != nil {
			return fmt.Errorf("sync dir %s: %w", d, err)
		}
	}
	return nil
}

// writeFileAtomic writes data to a temporary file beside path, fsyncs it
// and renames it over path.
func writeFileAtomic(path string, data []byte, perm fs.FileMode, sync bool) error {
	tmp := path + ".tmp-" + randHex(4)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil && sync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	if sync {
		return syncDirs(filepath.Dir(path))
	}
	return nil
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Jobs returns a snapshot of every job, oldest first, without histories.
func (s *Spool) Jobs() []Job {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Job, 0, len(s.jobs))
	for _, j := range s.jobs {
		c := *j
		c.History, c.audits, c.raw, c.rawN = nil, nil, "", 0
		c.Voided = append([]string(nil), j.Voided...)
		out = append(out, c)
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Num < out[b].Num })
	return out
}

// Job returns a snapshot of one job, with its history. ref is a producer
// job id or a spool job number; an id names the live job with that id, or
// else its most recent job.
func (s *Spool) Job(ref string) (Job, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j, err := s.lookup(ref)
	if err != nil {
		return Job{}, err
	}
	j.loadHistory()
	c := *j
	c.audits = nil
	c.History = append([]Record(nil), j.History...)
	c.Voided = append([]string(nil), j.Voided...)
	return c, nil
}

// lookup resolves a job reference; s.mu must be held.
func (s *Spool) lookup(ref string) (*Job, error) {
	if n, ok := s.byID[ref]; ok {
		return s.jobs[n], nil
	}
	var best *Job
	for _, j := range s.jobs {
		if j.ID == ref && (best == nil || j.Num > best.Num) {
			best = j
		}
	}
	if best != nil {
		return best, nil
	}
	if n, err := strconv.ParseUint(ref, 10, 64); err == nil {
		if j := s.jobs[n]; j != nil {
			return j, nil
		}
	}
	return nil, fmt.Errorf("%w: %q", ErrNotFound, ref)
}

// Counts returns how many jobs are in each state.
func (s *Spool) Counts() map[State]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := map[State]int{}
	for _, j := range s.jobs {
		m[j.State]++
	}
	return m
}
