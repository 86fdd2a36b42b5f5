package spool

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cardd/cardd/printer"
)

// Snapshots. A restart used to replay the whole journal: tens of thousands
// of JSON records for a station that printed ten thousand cards, most of
// them about jobs whose story is long over. A snapshot is the spool's job
// table written beside the journal (JOURNAL.snapshot) in a compact binary
// form, together with the length of the journal it covers and the CRC-32C
// of those bytes. Open loads it and replays only the journal after that
// length.
//
// A snapshot is written (to a temporary file, fsynced, renamed over the old
// one, the directory fsynced) after a compaction, when the journal has
// grown by RunOptions.SnapshotAbove since the last one, and when the
// scheduler stops cleanly. The journal stays the record of truth: the
// journal is fsynced before a snapshot of it is taken, and a snapshot that
// is torn, damaged, of another version, or does not match the journal (the
// journal is shorter than what it covers, or those bytes have another
// checksum: a compaction replaced the journal and the crash came before
// the new snapshot) is ignored with its reason logged, and the whole
// journal is replayed. A snapshot never adds or drops a job.
//
// A job whose story is over (the jobs Compact folds: a final state, no
// audit event owed, its batch done) is kept as its fields and its history
// as journal lines, which are decoded only when something reads the
// history (Job, a batch report, a new record of the job): loading copies
// no record. Any other job is kept as its journal lines, replayed at load
// exactly as from the journal.
//
// Layout (integers are unsigned or zig-zag varints unless said otherwise,
// strings a length and the bytes):
//
//	magic "cardd-spool-snapshot\n", version
//	covered journal: records, bytes, CRC-32C (4 bytes little-endian)
//	next job number
//	batches: count, then each batch's fields
//	jobs: count, then per job a kind byte (folded or records) and its data
//	CRC-32C of everything above (4 bytes little-endian)

const (
	snapshotMagic   = "cardd-spool-snapshot\n"
	snapshotVersion = 2 // 2: Evidence.CardPanels
	// maxSnapshotBytes bounds the file read at start (a damaged or
	// hostile file cannot make Open allocate without limit).
	maxSnapshotBytes = 1 << 30
)

// Job kinds in a snapshot.
const (
	snapFolded  = 1
	snapRecords = 2
)

// snapCover is the part of the journal a snapshot covers.
type snapCover struct {
	seq  uint64 // records
	size int64  // bytes
	crc  uint32 // CRC-32C of those bytes
}

// snapshotPath is where the snapshot of the journal at path lives.
func snapshotPath(journal string) string { return journal + ".snapshot" }

// over reports whether job j's story is over (Compact folds it into one
// record, a snapshot keeps it as its fields); s.mu held.
func (s *Spool) over(j *Job) bool {
	if !j.State.Final() || len(j.audits) != 0 {
		return false
	}
	if j.Batch != "" {
		b := s.batches[j.Batch]
		if b == nil || b.State != BatchDone {
			return false
		}
	}
	return true
}

// foldedRecord is the one record that stands for the history of a job
// whose story is over.
func foldedRecord(n uint64, j *Job) Record {
	return Record{Snapshot: true, Time: j.Updated, Created: j.Created, Job: n, ID: j.ID, State: j.State, Sub: j.Sub,
		Reason: j.Reason, Serial: j.Serial, Voided: j.Voided, Printer: j.Printer, Outcome: j.Outcome, Source: j.Source,
		Template: j.Template, Mode: j.Mode, ReprintOf: j.ReprintOf, Hash: j.Hash, Attempt: j.Attempt,
		NotBefore: j.NotBefore, Purged: j.Purged, Batch: j.Batch, Checked: j.Checked, Evidence: j.Evidence}
}

// Snapshot writes a snapshot of the spool's state covering the whole
// journal as it is now (fsynced first), so the next Open replays only what
// is journaled after it. It is safe to call at any time; the daemon calls
// it through the scheduler (RunOptions.SnapshotAbove, and at a clean
// stop).
func (s *Spool) Snapshot() error {
	s.snapMu.Lock()
	defer s.snapMu.Unlock()
	s.mu.Lock()
	data, size, path, err := s.prepareSnapshot()
	sync := s.journal != nil && s.journal.sync
	s.mu.Unlock()
	if err != nil {
		return err
	}
	if err := writeSnapshotFile(path, data, sync); err != nil {
		return err
	}
	s.mu.Lock()
	if s.journal != nil && size > s.snapSize {
		s.snapSize = size
	}
	s.mu.Unlock()
	return nil
}

// prepareSnapshot fsyncs the journal and encodes the state; s.mu held.
func (s *Spool) prepareSnapshot() (data []byte, size int64, path string, err error) {
	if s.journal == nil {
		return nil, 0, "", errors.New("spool: snapshot: opened read-only or closed")
	}
	if s.journal.err != nil {
		return nil, 0, "", s.journal.err
	}
	if s.journal.sync {
		// Records written without fsync (admissions) are in the state:
		// make the journal the snapshot covers durable first.
		if err := s.journal.f.Sync(); err != nil {
			s.journal.err = fmt.Errorf("spool: journal %s: fsync before snapshot: %w", s.journal.path, err)
			return nil, 0, "", s.journal.err
		}
	}
	return s.encodeSnapshot(), s.journal.size, snapshotPath(s.journal.path), nil
}

// SnapshotLag returns how many bytes the journal has grown since the last
// snapshot (or since Open, when no snapshot was loaded or written: the
// whole journal).
func (s *Spool) SnapshotLag() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.journal == nil {
		return 0
	}
	return s.journal.size - s.snapSize
}

// writeSnapshotFile writes data atomically at path (writeFileAtomic),
// then fsyncs its directory when sync is set.
func writeSnapshotFile(path string, data []byte, sync bool) error {
	if err := writeFileAtomic(path, data, filePerm, sync); err != nil {
		return fmt.Errorf("spool: snapshot %s: %w", path, err)
	}
	if sync {
		if err := syncDirs(filepath.Dir(path)); err != nil {
			return fmt.Errorf("spool: snapshot %s: %w", path, err)
		}
	}
	return nil
}

// encodeSnapshot encodes the state; s.mu held.
func (s *Spool) encodeSnapshot() []byte {
	e := snapEnc{b: make([]byte, 0, 64+len(s.jobs)*256)}
	e.b = append(e.b, snapshotMagic...)
	e.uv(snapshotVersion)
	e.uv(s.journal.nextSeq - 1)
	e.uv(uint64(s.journal.size))
	e.b = binary.LittleEndian.AppendUint32(e.b, s.journal.crc)
	e.uv(s.nextNum)
	e.uv(uint64(len(s.batchOrder)))
	for _, id := range s.batchOrder {
		b := s.batches[id]
		e.str(b.ID)
		e.str(b.Key)
		e.str(string(b.State))
		e.time(b.Opened)
		e.time(b.Closed)
		e.time(b.Done)
		e.str(b.Reason)
	}
	e.uv(uint64(len(s.jobs)))
	for n, j := range s.jobs {
		e.uv(n)
		indexed := j.ID != "" && s.byID[j.ID] == n
		e.flag(indexed)
		if !s.over(j) {
			e.b = append(e.b, snapRecords)
			e.uv(uint64(len(j.History)))
			for i := range j.History {
				e.line(&j.History[i])
			}
			continue
		}
		e.b = append(e.b, snapFolded)
		e.job(j)
		if j.raw != "" {
			// Loaded from a snapshot and never read since: as it was.
			e.uv(uint64(j.rawN))
			e.str(j.raw)
			continue
		}
		var hist snapEnc
		for i := range j.History {
			hist.line(&j.History[i])
		}
		e.uv(uint64(len(j.History)))
		e.bytes(hist.b)
	}
	return binary.LittleEndian.AppendUint32(e.b, crc32.Checksum(e.b, castagnoli))
}

// loadSnapshot reads the snapshot of the journal at path into s (whose
// state must be empty), returning what of the journal it covers. On any
// error s is unchanged. fs.ErrNotExist: there is none.
func (s *Spool) loadSnapshot(journal string) (snapCover, error) {
	f, err := os.Open(snapshotPath(journal))
	if err != nil {
		return snapCover{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return snapCover{}, err
	}
	if fi.Size() > maxSnapshotBytes {
		return snapCover{}, fmt.Errorf("longer than %d bytes", maxSnapshotBytes)
	}
	// Read straight into the one string the jobs' strings and histories
	// are cut from, checksumming the body on the way: the file's bytes
	// are copied once, not twice.
	var sb strings.Builder
	sb.Grow(int(fi.Size()))
	h := crc32.New(castagnoli)
	body := max(fi.Size()-4, 0)
	if n, err := io.Copy(&sb, io.TeeReader(io.LimitReader(f, body), h)); err != nil || n != body {
		return snapCover{}, fmt.Errorf("read: %d of %d bytes: %v", n, fi.Size(), err)
	}
	// The checksum (the decoder checks the length).
	if _, err := io.Copy(&sb, f); err != nil {
		return snapCover{}, fmt.Errorf("read: %w", err)
	}
	st, err := decodeSnapshotString(sb.String(), h.Sum32())
	if err != nil {
		return snapCover{}, err
	}
	s.jobs, s.byID, s.batches, s.batchOrder = st.jobs, st.byID, st.batches, st.batchOrder
	if st.nextNum > s.nextNum {
		s.nextNum = st.nextNum
	}
	return st.cover, nil
}

// snapState is a decoded snapshot.
type snapState struct {
	cover      snapCover
	nextNum    uint64
	jobs       map[uint64]*Job
	byID       map[string]uint64
	batches    map[string]*Batch
	batchOrder []string
}

// errSnapshot: the snapshot is damaged.
var errSnapshot = errors.New("damaged")

// decodeSnapshot decodes a snapshot file, checking its magic, version,
// checksum and every length against the data.
func decodeSnapshot(data []byte) (*snapState, error) {
	var got uint32
	if len(data) >= 4 {
		got = crc32.Checksum(data[:len(data)-4], castagnoli)
	}
	return decodeSnapshotString(string(data), got)
}

// decodeSnapshotString is decodeSnapshot of the file's bytes as one
// string, whose body (all but the last 4 bytes) has the CRC-32C got. The
// jobs' strings and raw histories are cut from data instead of being
// allocated one by one (ten thousand jobs make tens of thousands).
func decodeSnapshotString(data string, got uint32) (*snapState, error) {
	if len(data) < len(snapshotMagic)+4 || data[:len(snapshotMagic)] != snapshotMagic {
		return nil, fmt.Errorf("%w: not a snapshot (bad magic or too short)", errSnapshot)
	}
	body, tail := data[:len(data)-4], data[len(data)-4:]
	sum := uint32(tail[0]) | uint32(tail[1])<<8 | uint32(tail[2])<<16 | uint32(tail[3])<<24
	d := &snapDec{s: body, i: len(snapshotMagic), intern: map[string]string{}}
	if v := d.uv(); d.err == nil && v != snapshotVersion {
		return nil, fmt.Errorf("version %d, this cardd reads version %d", v, snapshotVersion)
	}
	if got != sum {
		return nil, fmt.Errorf("%w: checksum %08x, want %08x (torn or damaged)", errSnapshot, got, sum)
	}
	st := &snapState{byID: map[string]uint64{}, batches: map[string]*Batch{}}
	st.cover.seq = d.uv()
	size := d.uv()
	if size > 1<<62 {
		d.fail("covered journal length %d", size)
	}
	st.cover.size = int64(size)
	st.cover.crc = d.u32()
	st.nextNum = d.uv()
	nb := d.count()
	for range nb {
		b := &Batch{ID: d.str(), Key: d.str(), State: BatchState(d.istr()), Opened: d.time(), Closed: d.time(), Done: d.time(), Reason: d.str()}
		if d.err != nil {
			break
		}
		if b.ID == "" || st.batches[b.ID] != nil {
			d.fail("batch %q empty or twice", b.ID)
			break
		}
		st.batches[b.ID] = b
		st.batchOrder = append(st.batchOrder, b.ID)
	}
	nj := d.count()
	st.jobs = make(map[uint64]*Job, nj)
	st.byID = make(map[string]uint64, nj)
	for range nj {
		if d.err != nil {
			break
		}
		n := d.uv()
		indexed := d.flag()
		kind := d.byte()
		if d.err != nil {
			break
		}
		if n == 0 || st.jobs[n] != nil {
			d.fail("job %d zero or twice", n)
			break
		}
		var j *Job
		switch kind {
		case snapFolded:
			j = d.job()
			j.Num = n
			nr := d.count()
			raw := d.str()
			if d.err == nil {
				if got := countLines(raw); got != nr {
					d.fail("job %d: %d history lines, want %d", n, got, nr)
				}
				j.raw, j.rawN = raw, nr
				if nr == 0 {
					j.raw = ""
				}
			}
		case snapRecords:
			nr := d.count()
			j = d.newJob()
			j.History = make([]Record, 0, nr)
			for range nr {
				line := d.str()
				if d.err != nil {
					break
				}
				r, err := decodeLine([]byte(line))
				if err != nil {
					d.fail("job %d: record: %v", n, err)
					break
				}
				if r.Job != n {
					d.fail("job %d: a record of job %d", n, r.Job)
					break
				}
				j.apply(&r)
				j.History = append(j.History, r)
			}
		default:
			d.fail("job %d: kind %d", n, kind)
		}
		if d.err != nil {
			break
		}
		if j.Num != n {
			d.fail("job %d has no records", n)
			break
		}
		st.jobs[n] = j
		if indexed {
			if j.ID == "" {
				d.fail("job %d indexed without an id", n)
				break
			}
			if _, dup := st.byID[j.ID]; dup {
				d.fail("id %q indexed twice", j.ID)
				break
			}
			st.byID[j.ID] = n
		}
		if n >= st.nextNum {
			d.fail("job %d not below the next job number %d", n, st.nextNum)
		}
	}
	if d.err == nil && d.i != len(d.s) {
		d.fail("%d bytes after the jobs", len(d.s)-d.i)
	}
	if d.err != nil {
		return nil, d.err
	}
	return st, nil
}

// snapEnc appends a snapshot's fields.
type snapEnc struct{ b []byte }

func (e *snapEnc) uv(v uint64) { e.b = binary.AppendUvarint(e.b, v) }
func (e *snapEnc) iv(v int)    { e.b = binary.AppendVarint(e.b, int64(v)) }
func (e *snapEnc) str(s string) {
	e.uv(uint64(len(s)))
	e.b = append(e.b, s...)
}
func (e *snapEnc) bytes(s []byte) {
	e.uv(uint64(len(s)))
	e.b = append(e.b, s...)
}

// line appends a record as journaled, without its newline (its own
// checksum guards it too).
func (e *snapEnc) line(r *Record) {
	line, err := encodeRecord(r)
	if err != nil {
		line = []byte{'\n'} // never: it was journaled so
	}
	e.bytes(line[:len(line)-1])
}

// countLines counts the length-prefixed lines of a raw history, or -1 when
// a length runs past its end.
func countLines(raw string) int {
	n := 0
	for len(raw) > 0 {
		l, k := uvarint(raw)
		if k <= 0 || l > uint64(len(raw)-k) {
			return -1
		}
		raw = raw[k+int(l):]
		n++
	}
	return n
}

func (e *snapEnc) flag(v bool) {
	if v {
		e.b = append(e.b, 1)
	} else {
		e.b = append(e.b, 0)
	}
}
func (e *snapEnc) time(t time.Time) {
	if t.IsZero() && t.Location() == time.UTC {
		e.b = append(e.b, 0)
		return
	}
	n := len(e.b)
	e.b = append(e.b, 0)
	b, err := t.AppendBinary(e.b)
	if err != nil {
		// Only a zone offset that is not whole minutes: keep the
		// instant in UTC.
		b, _ = t.UTC().AppendBinary(e.b)
	}
	e.b = b
	e.b[n] = byte(len(e.b) - n - 1)
}
func (e *snapEnc) evidence(ev *printer.Evidence) {
	if ev == nil {
		e.flag(false)
		return
	}
	e.flag(true)
	e.str(ev.Serial)
	e.iv(ev.Fed)
	e.iv(ev.Printed)
	e.iv(ev.Rejected)
	e.iv(ev.Panels)
	e.str(string(ev.Inside))
	e.time(ev.At)
	e.iv(ev.CardPanels)
}

// job encodes the fields of a folded job (not its history or audits: a
// folded job owes none).
func (e *snapEnc) job(j *Job) {
	e.str(j.ID)
	e.str(string(j.State))
	e.str(string(j.Sub))
	e.str(j.Reason)
	e.str(j.Serial)
	e.uv(uint64(len(j.Voided)))
	for _, v := range j.Voided {
		e.str(v)
	}
	e.str(j.Printer)
	e.str(string(j.Outcome))
	e.str(j.Source)
	e.str(j.Template)
	e.str(j.Mode)
	e.str(j.ReprintOf)
	e.str(j.Hash)
	e.iv(j.Attempt)
	e.time(j.NotBefore)
	e.flag(j.Purged)
	e.str(j.Batch)
	e.flag(j.Checked)
	e.evidence(j.Evidence)
	e.evidence(j.EvidenceAfter)
	e.str(j.Settled)
	e.str(j.Rejecting)
	e.flag(j.StrayCounted)
	e.time(j.Created)
	e.time(j.Updated)
	e.uv(j.evidenceSeq)
}

// snapDec reads a snapshot's fields with a sticky error; every length is
// checked against what is left, so damaged input fails instead of
// allocating or reading out of bounds. The strings it returns are cut
// from s.
type snapDec struct {
	s      string
	i      int
	err    error
	intern map[string]string // few distinct values: states, printers, templates
	tbuf   []byte            // a time's bytes, for time.UnmarshalBinary

	// Jobs and evidences are allocated in blocks.
	jobs []Job
	evs  []printer.Evidence
}

const snapBlock = 256

func (d *snapDec) newJob() *Job {
	if len(d.jobs) == 0 {
		d.jobs = make([]Job, snapBlock)
	}
	j := &d.jobs[0]
	d.jobs = d.jobs[1:]
	return j
}

func (d *snapDec) newEvidence() *printer.Evidence {
	if len(d.evs) == 0 {
		d.evs = make([]printer.Evidence, snapBlock)
	}
	e := &d.evs[0]
	d.evs = d.evs[1:]
	return e
}

func (d *snapDec) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w at byte %d: %s", errSnapshot, d.i, fmt.Sprintf(format, args...))
	}
}

// uvarint is binary.Uvarint of a string: the value and the bytes read,
// 0 when s ends first, negative on overflow.
func uvarint(s string) (uint64, int) {
	var x uint64
	var shift uint
	for i := 0; i < len(s); i++ {
		if i == binary.MaxVarintLen64 {
			return 0, -(i + 1)
		}
		c := s[i]
		if c < 0x80 {
			if i == binary.MaxVarintLen64-1 && c > 1 {
				return 0, -(i + 1)
			}
			return x | uint64(c)<<shift, i + 1
		}
		x |= uint64(c&0x7f) << shift
		shift += 7
	}
	return 0, 0
}

func (d *snapDec) uv() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := uvarint(d.s[d.i:])
	if n <= 0 {
		d.fail("bad number")
		return 0
	}
	d.i += n
	return v
}

func (d *snapDec) iv() int {
	if d.err != nil {
		return 0
	}
	u, n := uvarint(d.s[d.i:])
	v := int64(u >> 1)
	if u&1 != 0 {
		v = ^v
	}
	if n <= 0 || v != int64(int(v)) {
		d.fail("bad number")
		return 0
	}
	d.i += n
	return int(v)
}

func (d *snapDec) u32() uint32 {
	if d.err != nil {
		return 0
	}
	if len(d.s)-d.i < 4 {
		d.fail("short")
		return 0
	}
	b := d.s[d.i : d.i+4]
	d.i += 4
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}

func (d *snapDec) byte() byte {
	if d.err != nil {
		return 0
	}
	if d.i >= len(d.s) {
		d.fail("short")
		return 0
	}
	c := d.s[d.i]
	d.i++
	return c
}

func (d *snapDec) flag() bool {
	switch d.byte() {
	case 0:
		return false
	case 1:
		return true
	}
	d.fail("bad flag")
	return false
}

// count reads a number of items that each take at least one byte.
func (d *snapDec) count() int {
	n := d.uv()
	if n > uint64(len(d.s)-d.i) {
		d.fail("count %d beyond the data", n)
		return 0
	}
	return int(n)
}

// str reads a length and that many bytes.
func (d *snapDec) str() string {
	n := d.count()
	if d.err != nil {
		return ""
	}
	s := d.s[d.i : d.i+n]
	d.i += n
	return s
}

// istr is str for fields with few distinct values, shared between jobs.
func (d *snapDec) istr() string {
	s := d.str()
	if s == "" {
		return ""
	}
	if v, ok := d.intern[s]; ok {
		return v
	}
	if len(d.intern) < 4096 {
		d.intern[s] = s
	}
	return s
}

func (d *snapDec) time() time.Time {
	n := int(d.byte())
	if d.err != nil || n == 0 {
		return time.Time{}
	}
	if n > len(d.s)-d.i {
		d.fail("time beyond the data")
		return time.Time{}
	}
	d.tbuf = append(d.tbuf[:0], d.s[d.i:d.i+n]...)
	var t time.Time
	if err := t.UnmarshalBinary(d.tbuf); err != nil {
		d.fail("time: %v", err)
		return time.Time{}
	}
	d.i += n
	return t
}

func (d *snapDec) evidence() *printer.Evidence {
	if !d.flag() {
		return nil
	}
	e := d.newEvidence()
	*e = printer.Evidence{Serial: d.istr(), Fed: d.iv(), Printed: d.iv(), Rejected: d.iv(), Panels: d.iv(),
		Inside: printer.Presence(d.istr()), At: d.time(), CardPanels: d.iv()}
	return e
}

func (d *snapDec) job() *Job {
	j := d.newJob()
	*j = Job{ID: d.str(), State: State(d.istr()), Sub: Sub(d.istr()), Reason: d.istr(), Serial: d.str()}
	if nv := d.count(); nv > 0 {
		j.Voided = make([]string, nv)
		for i := range j.Voided {
			j.Voided[i] = d.str()
		}
	}
	j.Printer = d.istr()
	j.Outcome = printer.Outcome(d.istr())
	j.Source = d.str()
	j.Template = d.istr()
	j.Mode = d.istr()
	j.ReprintOf = d.str()
	j.Hash = d.str()
	j.Attempt = d.iv()
	j.NotBefore = d.time()
	j.Purged = d.flag()
	j.Batch = d.istr()
	j.Checked = d.flag()
	j.Evidence = d.evidence()
	j.EvidenceAfter = d.evidence()
	j.Settled = d.str()
	j.Rejecting = d.istr()
	j.StrayCounted = d.flag()
	j.Created = d.time()
	j.Updated = d.time()
	j.evidenceSeq = d.uv()
	if d.err == nil && !j.State.Final() {
		d.fail("folded job in state %q", j.State)
	}
	return j
}
