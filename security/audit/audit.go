package audit

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/cardd/cardd/security"
)

// Event is what a record records.
type Event string

// The events.
const (
	// EventIssued: a serial was assigned to a job's card and the signed
	// payload fixed, before the first byte went to the printer.
	EventIssued Event = "issued"
	// EventVoided: a card (printed or not) must no longer be accepted.
	EventVoided Event = "voided"
	// EventSpoiled: a card was damaged or misprinted and destroyed.
	EventSpoiled Event = "spoiled"
	// EventReprinted: a new serial replaces an earlier one (Replaces), with
	// a reason. The replaced serial is denied from then on.
	EventReprinted Event = "reprinted"
	// EventOperator: an operator action (confirm, void, batch close …).
	EventOperator Event = "operator"
	// EventPrinted: the card was printed (or an operator confirmed it).
	EventPrinted Event = "printed"
	// EventOutcomeUnknown: the card's outcome is unknown (crash or device
	// loss mid-print); the job is held for an operator.
	EventOutcomeUnknown Event = "outcome-unknown"
)

func (e Event) valid() bool {
	switch e {
	case EventIssued, EventVoided, EventSpoiled, EventReprinted, EventOperator, EventPrinted, EventOutcomeUnknown:
		return true
	}
	return false
}

// Record is one line of the log. Fields that do not apply are empty.
type Record struct {
	// Seq numbers records from 1; set by Append.
	Seq uint64 `json:"seq"`
	// Time is when the record was appended (UTC); set by Append.
	Time time.Time `json:"time"`
	// At is when the event happened as its reporter says (the spool's
	// transition time), when that differs from Time; with Event, Serial
	// and Job it identifies an event delivered more than once (AppendOnce).
	At time.Time `json:"at,omitzero"`
	// Event is what happened.
	Event Event `json:"event"`
	// Serial is the card serial concerned.
	Serial string `json:"serial,omitempty"`
	// Replaces is, for EventReprinted, the serial the new card replaces.
	Replaces string `json:"replaces,omitempty"`
	// Job is the producer's job ID.
	Job string `json:"job,omitempty"`
	// JobNum is the spool's job number.
	JobNum uint64 `json:"job_num,omitempty"`
	// Template and Printer name the template and the printer.
	Template string `json:"template,omitempty"`
	Printer  string `json:"printer,omitempty"`
	// PayloadHash is the hex SHA-256 of the signed QR text
	// (security.PayloadHash), never the text itself.
	PayloadHash string `json:"payload_sha256,omitempty"`
	// InputHash is the hex SHA-256 of the job's input (job file and
	// photo), as the spool computes it.
	InputHash string `json:"input_sha256,omitempty"`
	// Operator identifies the operator for operator actions.
	Operator string `json:"operator,omitempty"`
	// Action names an operator action.
	Action string `json:"action,omitempty"`
	// Reason is a short free-text reason (no personal data).
	Reason string `json:"reason,omitempty"`
	// Prev is the hex SHA-256 of the previous line (without its newline);
	// GenesisHash for the first record. Set by Append.
	Prev string `json:"prev"`
}

// GenesisHash is the Prev of the first record.
var GenesisHash = strings.Repeat("0", 64)

// Limits.
const (
	// MaxLine is the longest record line accepted, in bytes.
	MaxLine = 4096
	// MaxField is the longest text field, in bytes.
	MaxField = 256
)

func (r *Record) check() error {
	if !r.Event.valid() {
		return fmt.Errorf("unknown event %q", string(r.Event))
	}
	for _, f := range []struct{ name, v string }{
		{"serial", r.Serial}, {"replaces", r.Replaces}, {"job", r.Job}, {"template", r.Template},
		{"printer", r.Printer}, {"payload_sha256", r.PayloadHash}, {"input_sha256", r.InputHash}, {"operator", r.Operator},
		{"action", r.Action}, {"reason", r.Reason},
	} {
		if len(f.v) > MaxField {
			return fmt.Errorf("%s is %d bytes (max %d)", f.name, len(f.v), MaxField)
		}
		if strings.ContainsAny(f.v, "\n\r") {
			return fmt.Errorf("%s contains a line break", f.name)
		}
	}
	switch r.Event {
	case EventIssued:
		if r.Serial == "" || r.PayloadHash == "" && r.InputHash == "" {
			return errors.New("issued record needs a serial and payload_sha256 or input_sha256")
		}
	case EventSpoiled:
		// A spoiled blank whose serial is not known (a stray card left
		// in a printer) is recorded with a reason instead.
		if r.Serial == "" && r.Reason == "" {
			return errors.New("spoiled record needs a serial or a reason")
		}
	case EventVoided, EventPrinted, EventOutcomeUnknown:
		if r.Serial == "" {
			return fmt.Errorf("%s record needs a serial", r.Event)
		}
	case EventReprinted:
		if r.Serial == "" || r.Replaces == "" || r.Reason == "" {
			return errors.New("reprinted record needs serial, replaces and reason")
		}
	case EventOperator:
		if r.Action == "" {
			return errors.New("operator record needs an action")
		}
	}
	for _, h := range []struct{ name, v string }{{"payload_sha256", r.PayloadHash}, {"input_sha256", r.InputHash}} {
		if h.v == "" {
			continue
		}
		if b, err := hex.DecodeString(h.v); err != nil || len(b) != sha256.Size {
			return fmt.Errorf("%s is not a hex SHA-256", h.name)
		}
	}
	return nil
}

func lineHash(line []byte) string {
	sum := sha256.Sum256(line)
	return hex.EncodeToString(sum[:])
}

// Log is an open audit log. It is safe for concurrent use; one process at a
// time may have a log open (an exclusive flock).
type Log struct {
	path string
	now  func() time.Time
	log  *slog.Logger

	mu   sync.Mutex
	f    *os.File
	seq  uint64
	prev string
	last time.Time
	// size is the length of the log file (complete records).
	size int64
	indexes

	// The open state (state.go): whether the log keeps one (stateOn),
	// how many records may be appended between two (stateEvery), the
	// records the last one written or read covers, whether it was given
	// up (stateOff: the log failed VerifyOpened), what Open took on
	// trust from it until VerifyOpened checks it (claim), and that
	// check's failure. stateMu orders state writes and removal.
	stateMu    sync.Mutex
	stateOn    bool
	stateEvery int
	stateSeq   uint64
	stateOff   bool
	claim      *claim
	// treeKnown is how many of the tree's stored hashes Open found in
	// the tree file as the state vouches for them.
	treeKnown int
	failed    error

	// The Merkle tree over the records and its file (TreeFile).
	tree  hashes
	treeF *os.File
	// Checkpoints: the signer (nil: none are signed), how many records
	// may pass between two, the file (CheckpointsFile), the latest, the
	// records appended since it, and one signed but not yet announced to
	// onCheckpoint.
	signer       note.Signer
	every        int
	onCheckpoint func(*Checkpoint)
	cpF          *os.File
	latest       *Checkpoint
	sinceCp      int
	pending      *Checkpoint
}

// Options configure OpenWith.
type Options struct {
	// Now is the clock for record and checkpoint times (nil: time.Now).
	Now func() time.Time
	// Logger gets warnings (nil: discarded).
	Logger *slog.Logger
	// Signer signs checkpoints (a note signer, EnsureKey); its name is
	// the checkpoints' origin. Nil: no checkpoints are signed (the tree is
	// still kept, and checkpoints already in the file are still checked).
	Signer note.Signer
	// CheckpointEvery signs a checkpoint once this many records were
	// appended since the last one (0: only when Checkpoint is called).
	CheckpointEvery int
	// OnCheckpoint, if set, is called with each newly signed checkpoint,
	// after the log's lock is released (so it may call the log). A
	// witness (the network's hub) is fed from here.
	OnCheckpoint func(*Checkpoint)
	// State keeps an open state file beside the log (StateFile) and
	// opens from it when it matches: only the records after the prefix
	// it covers are read at Open, and VerifyOpened must then be called
	// to verify the rest (state.go).
	State bool
	// StateEvery writes the state file again once this many records were
	// appended since it was (0: DefaultStateEvery); it is also written
	// at Close.
	StateEvery int
}

// eventKey identifies an event for AppendOnce.
type eventKey struct {
	event       Event
	serial, job string
	at          int64 // UnixNano
}

func keyOf(r *Record) eventKey {
	return eventKey{event: r.Event, serial: r.Serial, job: r.Job, at: r.At.UnixNano()}
}

// indexes are what a log keeps in memory about its records.
type indexes struct {
	// seen holds the identity of every record with an At (AppendOnce);
	// serials the serial of each job's latest issued or printed record.
	seen    map[eventKey]struct{}
	serials map[string]string
	// denied holds, in log order, the serial each record denies (deniedBy):
	// what DenyList derives from the file, kept so that the deny list
	// need not read the log again.
	denied []string
}

// add notes r in the indexes.
func (ix *indexes) add(r *Record) {
	if !r.At.IsZero() {
		ix.seen[keyOf(r)] = struct{}{}
	}
	if (r.Event == EventIssued || r.Event == EventPrinted) && r.Job != "" && r.Serial != "" {
		ix.serials[r.Job] = r.Serial
	}
	if s, ok := deniedBy(r); ok {
		ix.denied = append(ix.denied, s)
	}
}

// deniedBy returns the serial a record denies: a voided or spoiled serial
// (a spoiled blank without a serial denies nothing), or the serial a
// reprint replaces.
func deniedBy(r *Record) (string, bool) {
	switch r.Event {
	case EventVoided, EventSpoiled:
		return r.Serial, r.Serial != ""
	case EventReprinted:
		return r.Replaces, true
	}
	return "", false
}

// DenyList returns the serials that must no longer be accepted, from the
// records the log holds (read when it was opened and appended since): the
// same list as the function DenyList of the log's file, without reading it.
func (l *Log) DenyList(generated time.Time) *security.DenyList {
	l.mu.Lock()
	defer l.mu.Unlock()
	return security.NewDenyList(generated, l.denied)
}

// Open opens the log at path, creating it if needed, after verifying the
// whole chain. A torn last line (no newline: a crash during an Append that
// therefore never returned) is cut off with a warning; any other damage is
// an error naming the first bad record. now is the clock for record times
// (nil: time.Now).
func Open(path string, now func() time.Time, log *slog.Logger) (*Log, error) {
	return OpenWith(path, Options{Now: now, Logger: log})
}

// OpenWith opens the log at path as Open does, with checkpoint signing
// configured by o. Beside the records it keeps the Merkle tree's stored
// hashes (TreeFile, rebuilt from the records when missing or different)
// and checks every checkpoint in CheckpointsFile against the records: a
// log rewritten, reordered or truncated below a checkpoint it signed is
// refused with an error naming the checkpoint.
func OpenWith(path string, o Options) (*Log, error) {
	now, log := o.Now, o.Logger
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("audit log %s: in use by another process: %w", path, err)
	}
	l := &Log{path: path, now: now, log: log, f: f, prev: GenesisHash,
		signer: o.Signer, every: o.CheckpointEvery, onCheckpoint: o.OnCheckpoint,
		stateOn: o.State, stateEvery: o.StateEvery}
	if l.stateEvery <= 0 {
		l.stateEvery = DefaultStateEvery
	}
	fromState := false
	if o.State {
		if err := l.loadState(); err == nil {
			fromState = true
		} else if !errors.Is(err, os.ErrNotExist) {
			log.Warn("audit state: not used; verifying the whole log", "path", StateFile(path), "reason", err)
		}
	}
	if !fromState {
		l.reset()
		if err := l.load(); err != nil {
			l.closeFiles()
			return nil, err
		}
	}
	if err := l.loadTree(); err != nil {
		l.closeFiles()
		return nil, err
	}
	if err := l.loadCheckpoints(); err != nil {
		l.closeFiles()
		return nil, err
	}
	return l, nil
}

func (l *Log) closeFiles() {
	for _, f := range []*os.File{l.f, l.treeF, l.cpF} {
		if f != nil {
			f.Close()
		}
	}
	l.f, l.treeF, l.cpF = nil, nil, nil
}

// reset empties what load fills (after a state that was not used).
func (l *Log) reset() {
	l.seq, l.prev, l.last, l.size = 0, GenesisHash, time.Time{}, 0
	l.indexes = indexes{seen: map[eventKey]struct{}{}, serials: map[string]string{}}
	l.tree, l.claim, l.stateSeq, l.treeKnown = nil, nil, 0, 0
}

// load reads and verifies the whole log (the full open).
func (l *Log) load() error {
	data, err := io.ReadAll(l.f)
	if err != nil {
		return fmt.Errorf("audit log %s: %w", l.path, err)
	}
	return l.loadRecords(0, Stats{Head: GenesisHash, Events: map[Event]int{}}, data)
}

// loadRecords verifies and indexes the records in data, the log from byte
// base on, which continue the chain start describes; a torn last record is
// cut off the file.
func (l *Log) loadRecords(base int64, start Stats, data []byte) error {
	good := len(data)
	if i := bytes.LastIndexByte(data, '\n'); i != len(data)-1 {
		good = i + 1
		l.log.Warn("audit log: cutting off a torn last record", "path", l.path, "bytes", len(data)-good)
	}
	st, err := readFrom(bytes.NewReader(data[:good]), start, func(r Record, line []byte) error {
		l.add(&r)
		_, err := l.tree.extend(int64(r.Seq-1), line)
		return err
	})
	if err != nil {
		return fmt.Errorf("audit log %s: %w", l.path, err)
	}
	end := base + int64(good)
	if good != len(data) {
		if err := l.f.Truncate(end); err != nil {
			return fmt.Errorf("audit log %s: truncate torn record: %w", l.path, err)
		}
		if err := l.f.Sync(); err != nil {
			return fmt.Errorf("audit log %s: %w", l.path, err)
		}
	}
	if _, err := l.f.Seek(end, io.SeekStart); err != nil {
		return fmt.Errorf("audit log %s: %w", l.path, err)
	}
	l.seq, l.prev, l.last, l.size = st.Records, st.Head, st.Last, end
	return nil
}

// Append completes r (Seq, Time, Prev), writes it as one line and fsyncs
// the file before returning the completed record.
func (l *Log) Append(ctx context.Context, r Record) (Record, error) {
	if err := ctx.Err(); err != nil {
		return Record{}, err
	}
	if err := r.check(); err != nil {
		return Record{}, fmt.Errorf("audit log %s: %s record for serial %q: %w", l.path, r.Event, r.Serial, err)
	}
	l.mu.Lock()
	rec, err := l.appendLocked(r)
	cp := l.takePending()
	due := l.stateDueLocked()
	l.mu.Unlock()
	l.announce(cp)
	l.saveStateIf(due)
	return rec, err
}

// stateDueLocked reports whether StateEvery records were appended since
// the state file was written; l.mu held.
func (l *Log) stateDueLocked() bool {
	return l.stateOn && !l.stateOff && l.claim == nil && l.seq-l.stateSeq >= uint64(l.stateEvery)
}

// saveStateIf writes the state file when due, logging a failure (the
// state only saves time at the next Open).
// An appender never waits for another's state write: it skips.
func (l *Log) saveStateIf(due bool) {
	if !due || !l.stateMu.TryLock() {
		return
	}
	defer l.stateMu.Unlock()
	l.mu.Lock()
	due = l.stateDueLocked()
	l.mu.Unlock()
	if !due {
		return // written meanwhile
	}
	if err := l.saveStateLocked(); err != nil {
		l.log.Warn("audit state not written; the next start reads more of the log", "err", err)
	}
}

// AppendOnce appends r unless the log already holds a record of the same
// Event, Serial, Job and At (an event delivered again after a crash or a
// retry): then it returns that the record was not appended, and no error.
// r.At must be set. The index behind it is built when the log is opened
// and kept as records are appended.
func (l *Log) AppendOnce(ctx context.Context, r Record) (rec Record, appended bool, err error) {
	if err := ctx.Err(); err != nil {
		return Record{}, false, err
	}
	if r.At.IsZero() {
		return Record{}, false, fmt.Errorf("audit log %s: %s record for serial %q: AppendOnce needs the event's time (At)", l.path, r.Event, r.Serial)
	}
	r.At = r.At.UTC()
	if err := r.check(); err != nil {
		return Record{}, false, fmt.Errorf("audit log %s: %s record for serial %q: %w", l.path, r.Event, r.Serial, err)
	}
	l.mu.Lock()
	if _, dup := l.seen[keyOf(&r)]; dup {
		l.mu.Unlock()
		return Record{}, false, nil
	}
	rec, err = l.appendLocked(r)
	cp := l.takePending()
	due := l.stateDueLocked()
	l.mu.Unlock()
	l.announce(cp)
	l.saveStateIf(due)
	return rec, err == nil, err
}

// SerialOf returns the serial of job's latest issued or printed record.
func (l *Log) SerialOf(job string) (string, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	s, ok := l.serials[job]
	return s, ok
}

func (l *Log) appendLocked(r Record) (Record, error) {
	if l.f == nil {
		return Record{}, fmt.Errorf("audit log %s: closed", l.path)
	}
	r.Seq = l.seq + 1
	r.Time = l.now().UTC().Truncate(time.Microsecond)
	if r.Time.Before(l.last) {
		// The clock stepped back (NTP, operator): keep record times
		// monotonic rather than write a log that looks reordered.
		l.log.Warn("audit log: clock is behind the last record; using the last record's time",
			"path", l.path, "now", r.Time, "last", l.last)
		r.Time = l.last
	}
	r.Prev = l.prev
	line, err := json.Marshal(r)
	if err != nil {
		return Record{}, fmt.Errorf("audit log %s: encode record %d: %w", l.path, r.Seq, err)
	}
	if len(line) >= MaxLine {
		return Record{}, fmt.Errorf("audit log %s: record %d is %d bytes (max %d)", l.path, r.Seq, len(line), MaxLine-1)
	}
	if _, err := l.f.Write(append(line, '\n')); err != nil {
		return Record{}, fmt.Errorf("audit log %s: write record %d: %w", l.path, r.Seq, err)
	}
	if err := l.f.Sync(); err != nil {
		return Record{}, fmt.Errorf("audit log %s: fsync record %d: %w", l.path, r.Seq, err)
	}
	l.seq, l.prev, l.last = r.Seq, lineHash(line), r.Time
	l.size += int64(len(line)) + 1
	l.add(&r)
	add, err := l.tree.extend(int64(r.Seq-1), line)
	if err != nil {
		return r, fmt.Errorf("audit log %s: tree after record %d: %w", l.path, r.Seq, err)
	}
	if err := l.writeTree(add); err != nil {
		// The record is durable; the tree file is rebuilt from the
		// records at the next Open.
		return r, err
	}
	l.sinceCp++
	if l.signer != nil && (l.every > 0 && l.sinceCp >= l.every || isBatchClose(&r)) {
		if _, err := l.signLocked(); err != nil {
			return r, err
		}
	}
	return r, nil
}

// Head returns the number of records and the hash of the last line.
func (l *Log) Head() (records uint64, hash string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.seq, l.prev
}

// Close writes the open state file (Options.State; when the log is
// verified and grew since it was written) and closes the log file.
func (l *Log) Close() error {
	if err := l.saveState(); err != nil {
		l.log.Warn("audit state not written at close; the next start reads more of the log", "err", err)
	}
	l.stateMu.Lock()
	defer l.stateMu.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	if l.treeF != nil {
		// Written without fsync per record (derived data); a clean
		// close leaves it in step so the next Open need not rebuild it.
		if serr := l.treeF.Sync(); err == nil && serr != nil {
			err = fmt.Errorf("audit tree %s: fsync: %w", TreeFile(l.path), serr)
		}
	}
	for _, f := range []*os.File{l.treeF, l.cpF} {
		if f != nil {
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}
	}
	l.treeF, l.cpF = nil, nil
	return err
}

// ChainError reports the first record at which a log fails verification.
type ChainError struct {
	// Line is the 1-based line number.
	Line int
	// Seq is the record's seq field if it could be read, else 0.
	Seq uint64
	// Reason says what is wrong.
	Reason string
}

// Error describes the broken record.
func (e *ChainError) Error() string {
	if e.Seq != 0 {
		return fmt.Sprintf("record %d (line %d): %s", e.Seq, e.Line, e.Reason)
	}
	return fmt.Sprintf("line %d: %s", e.Line, e.Reason)
}

// Stats summarises a verified log.
type Stats struct {
	// Records is the number of records; Head the hash of the last line
	// (GenesisHash for an empty log).
	Records uint64
	Head    string
	// Events counts records per event.
	Events map[Event]int
	// Last is the time of the last record.
	Last time.Time
}

// Read parses the log from r record by record, checking the chain, and
// calls fn for each record. It stops at the first broken record with a
// *ChainError.
func Read(r io.Reader, fn func(Record) error) (Stats, error) {
	return read(r, func(rec Record, _ []byte) error {
		if fn == nil {
			return nil
		}
		return fn(rec)
	})
}

// read is Read giving fn each record's line as well (valid only during
// the call).
func read(r io.Reader, fn func(Record, []byte) error) (Stats, error) {
	return readFrom(r, Stats{Head: GenesisHash, Events: map[Event]int{}}, fn)
}

// readFrom is read for records that continue the chain st describes (a
// log read from the middle: line numbers count from there).
func readFrom(r io.Reader, st Stats, fn func(Record, []byte) error) (Stats, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1024), MaxLine)
	line := 0
	for sc.Scan() {
		line++
		b := sc.Bytes()
		var rec Record
		if err := decodeRecord(b, &rec); err != nil {
			var tr trailingError
			if errors.As(err, &tr) {
				return st, &ChainError{Line: line, Seq: rec.Seq, Reason: "trailing data after the record"}
			}
			return st, &ChainError{Line: line, Reason: "not a record: " + err.Error()}
		}
		if rec.Seq != st.Records+1 {
			return st, &ChainError{Line: line, Seq: rec.Seq, Reason: fmt.Sprintf("seq %d, want %d", rec.Seq, st.Records+1)}
		}
		if rec.Prev != st.Head {
			return st, &ChainError{Line: line, Seq: rec.Seq, Reason: "prev hash does not match the previous record (a record was changed, removed or inserted)"}
		}
		if err := rec.check(); err != nil {
			return st, &ChainError{Line: line, Seq: rec.Seq, Reason: err.Error()}
		}
		st.Last = rec.Time
		// The hash covers the exact bytes, so a re-encoding that parses to
		// the same record still breaks the next link.
		st.Records, st.Head = rec.Seq, lineHash(b)
		st.Events[rec.Event]++
		if fn != nil {
			if err := fn(rec, b); err != nil {
				return st, err
			}
		}
	}
	if err := sc.Err(); err != nil {
		return st, &ChainError{Line: line + 1, Reason: err.Error()}
	}
	return st, nil
}

// trailingError is decodeRecordJSON's error for data after the record.
type trailingError struct{}

func (trailingError) Error() string { return "trailing data after the record" }

// decodeRecordJSON decodes one line into rec with encoding/json, refusing
// unknown fields and anything after the record.
func decodeRecordJSON(b []byte, rec *Record) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(rec); err != nil {
		return err
	}
	if dec.More() {
		return trailingError{}
	}
	return nil
}

// Verify checks the whole chain read from r.
func Verify(r io.Reader) (Stats, error) { return Read(r, nil) }

// VerifyFile checks the log file at path.
func VerifyFile(path string) (Stats, error) {
	f, err := os.Open(path)
	if err != nil {
		return Stats{}, fmt.Errorf("audit log: %w", err)
	}
	defer f.Close()
	st, err := Verify(f)
	if err != nil {
		return st, fmt.Errorf("audit log %s: %w", path, err)
	}
	return st, nil
}

// DenyList reads a log and returns the serials that must no longer be
// accepted: voided and spoiled serials and serials replaced by a reprint.
// The log must verify.
func DenyList(r io.Reader, generated time.Time) (*security.DenyList, error) {
	var serials []string
	_, err := Read(r, func(rec Record) error {
		if s, ok := deniedBy(&rec); ok {
			serials = append(serials, s)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return security.NewDenyList(generated, serials), nil
}
