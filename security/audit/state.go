package audit

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/cardd/cardd/security"
)

// The open state. Opening a log the full way reads every record, hashes
// each line twice (the chain and the tree's leaf) and rebuilds the
// indexes: for a station that issued ten thousand cards that is most of
// its restart. With Options.State the log keeps, beside itself, an open
// state file (StateFile): what a full open derived from a prefix of the
// log — the prefix's length in records and bytes, the hash of its last
// line (the chain's head there), the time of its last record, the SHA-256
// of the tree file's stored hashes for those records, the deny list, the
// serial of each job and the identities AppendOnce looks up. Open then
// checks that the log still begins with that prefix (it is at least that
// long and its line ending there hashes to the head kept), that the tree
// file still holds the prefix's hashes, and reads, verifies and indexes
// only the records after it.
//
// What Open no longer checks itself — the chain and records inside the
// prefix, the tree's hashes against those records, the indexes against
// them — VerifyOpened checks in the background: it reads the prefix from
// the start, verifies it exactly as a full open does, encodes the state
// those records give and compares it with the state file Open used. The
// encoding is canonical (maps in sorted order), so equal bytes mean every
// field matches. If it fails, the state file is removed (the next Open is
// a full one, which refuses a log that does not verify) and the error is
// returned for the station to stop on. Until it passed no new state file
// is written, so a state is only ever derived from a verified log.
//
// A state file that is torn, damaged, of another version or does not
// match the log or its tree file is ignored with its reason logged, and
// the log is opened the full way. The file is written (a temporary file,
// fsynced, renamed, the directory fsynced; the tree file fsynced first) at
// Close, by VerifyOpened once the log is verified, and every
// Options.StateEvery records appended.
//
// Layout (integers are unsigned varints unless said otherwise, strings a
// length and the bytes):
//
//	magic "cardd-audit-state\n", version
//	covered prefix: records, bytes, head hash (32 bytes), last record's
//	time (zig-zag varint of Unix nanoseconds)
//	SHA-256 of the prefix's stored tree hashes (32 bytes)
//	deny list: count, serials in log order
//	serials: count, (job, serial) sorted by job
//	AppendOnce identities: count, (event, serial, job, at as a zig-zag
//	varint of Unix nanoseconds) sorted
//	CRC-32C of everything above (4 bytes little-endian)

const (
	stateMagic   = "cardd-audit-state\n"
	stateVersion = 1
	// maxStateBytes bounds the file read at open.
	maxStateBytes = 1 << 30
	// DefaultStateEvery is Options.StateEvery's default.
	DefaultStateEvery = 1000
)

// StateFile is the open state file beside the log at path.
func StateFile(path string) string { return path + ".state" }

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// openState is what a full open derives from the first Records records of
// a log.
type openState struct {
	Records uint64
	Size    int64
	Head    [sha256.Size]byte
	Last    time.Time
	TreeSum [sha256.Size]byte
	Denied  []string
	Serials map[string]string
	Seen    map[eventKey]struct{}
}

// treeSum is the SHA-256 of stored hashes as the tree file holds them.
func treeSum(hs []tlog.Hash) [sha256.Size]byte {
	h := sha256.New()
	for i := range hs {
		h.Write(hs[i][:])
	}
	var s [sha256.Size]byte
	h.Sum(s[:0])
	return s
}

// encodeState returns st's canonical encoding.
func encodeState(st *openState) []byte {
	n := 128 + 24*len(st.Denied) + 48*len(st.Serials) + 64*len(st.Seen)
	b := make([]byte, 0, n)
	b = append(b, stateMagic...)
	b = binary.AppendUvarint(b, stateVersion)
	b = binary.AppendUvarint(b, st.Records)
	b = binary.AppendUvarint(b, uint64(st.Size))
	b = append(b, st.Head[:]...)
	b = binary.AppendVarint(b, st.Last.UnixNano())
	b = append(b, st.TreeSum[:]...)
	str := func(s string) {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	b = binary.AppendUvarint(b, uint64(len(st.Denied)))
	for _, s := range st.Denied {
		str(s)
	}
	jobs := make([]string, 0, len(st.Serials))
	for j := range st.Serials {
		jobs = append(jobs, j)
	}
	slices.Sort(jobs)
	b = binary.AppendUvarint(b, uint64(len(jobs)))
	for _, j := range jobs {
		str(j)
		str(st.Serials[j])
	}
	keys := make([]eventKey, 0, len(st.Seen))
	for k := range st.Seen {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, compareKeys)
	b = binary.AppendUvarint(b, uint64(len(keys)))
	for _, k := range keys {
		str(string(k.event))
		str(k.serial)
		str(k.job)
		b = binary.AppendVarint(b, k.at)
	}
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

// compareKeys orders identities in a state file.
func compareKeys(x, y eventKey) int {
	return cmp.Or(cmp.Compare(x.at, y.at), cmp.Compare(x.event, y.event), cmp.Compare(x.serial, y.serial), cmp.Compare(x.job, y.job))
}

// stateDec reads an encoded state. The strings it returns share one copy
// of the file's bytes.
type stateDec struct {
	s   string
	i   int
	err error
}

func (d *stateDec) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%s at byte %d", what, d.i)
	}
}

func (d *stateDec) uv(what string) uint64 {
	if d.err != nil {
		return 0
	}
	var x uint64
	for shift, i := uint(0), d.i; i < len(d.s) && shift < 64; shift += 7 {
		c := d.s[i]
		i++
		x |= uint64(c&0x7f) << shift
		if c < 0x80 {
			if shift == 63 && c > 1 {
				break
			}
			d.i = i
			return x
		}
	}
	d.fail("bad " + what)
	return 0
}

func (d *stateDec) v(what string) int64 {
	u := d.uv(what)
	x := int64(u >> 1)
	if u&1 != 0 {
		x = ^x
	}
	return x
}

func (d *stateDec) fixed(dst []byte, what string) {
	if d.err != nil {
		return
	}
	if len(d.s)-d.i < len(dst) {
		d.fail("short " + what)
		return
	}
	copy(dst, d.s[d.i:])
	d.i += len(dst)
}

func (d *stateDec) str(what string) string {
	n := d.uv(what + " length")
	if d.err != nil {
		return ""
	}
	if n > MaxField || n > uint64(len(d.s)-d.i) {
		d.fail(fmt.Sprintf("%s of %d bytes", what, n))
		return ""
	}
	s := d.s[d.i : d.i+int(n)]
	d.i += int(n)
	return s
}

// count reads a count of entries that take at least min bytes each.
func (d *stateDec) count(what string, min int) int {
	n := d.uv(what)
	if d.err == nil && n > uint64((len(d.s)-d.i)/min) {
		d.fail(fmt.Sprintf("%s count %d", what, n))
	}
	return int(n)
}

// decodeState parses a state file's bytes.
func decodeState(data []byte) (*openState, error) {
	var crc uint32
	if len(data) >= 4 {
		crc = crc32.Checksum(data[:len(data)-4], castagnoli)
	}
	return decodeStateString(string(data), crc)
}

// decodeStateString parses a state file's bytes as one string, whose body
// (all but the last 4 bytes) has the CRC-32C crc. The strings of the
// state are cut from data.
func decodeStateString(data string, crc uint32) (*openState, error) {
	if len(data) < len(stateMagic)+4 || data[:len(stateMagic)] != stateMagic {
		return nil, errors.New("not an audit open state file")
	}
	body, tail := data[:len(data)-4], data[len(data)-4:]
	if crc != uint32(tail[0])|uint32(tail[1])<<8|uint32(tail[2])<<16|uint32(tail[3])<<24 {
		return nil, errors.New("checksum mismatch (torn or damaged)")
	}
	d := &stateDec{s: body, i: len(stateMagic)}
	if v := d.uv("version"); d.err == nil && v != stateVersion {
		return nil, fmt.Errorf("version %d (this build reads %d)", v, stateVersion)
	}
	st := &openState{}
	st.Records = d.uv("records")
	size := d.uv("bytes")
	if size > 1<<62 {
		d.fail("bytes")
	}
	st.Size = int64(size)
	d.fixed(st.Head[:], "head hash")
	st.Last = time.Unix(0, d.v("last time")).UTC()
	d.fixed(st.TreeSum[:], "tree hash")
	if n := d.count("deny list", 1); d.err == nil {
		st.Denied = make([]string, n)
		for i := range st.Denied {
			st.Denied[i] = d.str("denied serial")
		}
	}
	if n := d.count("serials", 2); d.err == nil {
		st.Serials = make(map[string]string, n)
		prev := ""
		for i := range n {
			j, s := d.str("job"), d.str("serial")
			if d.err != nil {
				break
			}
			if i > 0 && j <= prev {
				d.fail("jobs out of order")
			}
			st.Serials[j], prev = s, j
		}
	}
	if n := d.count("identities", 4); d.err == nil {
		st.Seen = make(map[eventKey]struct{}, n)
		var prev eventKey
		for i := range n {
			k := eventKey{event: Event(d.str("event")), serial: d.str("serial"), job: d.str("job"), at: d.v("at")}
			if d.err != nil {
				break
			}
			if !k.event.valid() {
				d.fail(fmt.Sprintf("unknown event %q", string(k.event)))
			}
			if i > 0 && compareKeys(prev, k) >= 0 {
				d.fail("identities out of order")
			}
			st.Seen[k], prev = struct{}{}, k
		}
	}
	if d.err == nil && d.i != len(d.s) {
		d.fail("trailing data")
	}
	if d.err != nil {
		return nil, d.err
	}
	if st.Records == 0 || st.Size <= 0 {
		return nil, errors.New("covers no records")
	}
	return st, nil
}

// stateLocked is the open state of the whole log as it is; l.mu held.
func (l *Log) stateLocked() (*openState, error) {
	st := &openState{Records: l.seq, Size: l.size, Last: l.last, TreeSum: treeSum(l.tree),
		Denied: l.denied, Serials: l.serials, Seen: l.seen}
	if _, err := hex.Decode(st.Head[:], []byte(l.prev)); err != nil {
		return nil, fmt.Errorf("head hash %q: %w", l.prev, err)
	}
	return st, nil
}

// claim is what a log opened from its state file took on trust until
// VerifyOpened checks it: the prefix covered and the SHA-256 of the state
// file's bytes.
type claim struct {
	records uint64
	size    int64
	sum     [sha256.Size]byte
}

// loadState opens the log from its state file: it checks that the log
// begins with the prefix the state covers and that the tree file holds
// its hashes, then reads the records after it. It fills l only when it
// succeeds; an error says why the state was not used.
func (l *Log) loadState() error {
	path := StateFile(l.path)
	sf, err := os.Open(path)
	if err != nil {
		return err
	}
	defer sf.Close()
	sfi, err := sf.Stat()
	if err != nil {
		return err
	}
	if sfi.Size() > maxStateBytes {
		return fmt.Errorf("more than %d bytes", maxStateBytes)
	}
	// Read straight into the string the state's strings are cut from,
	// hashing on the way.
	var sb strings.Builder
	sb.Grow(int(sfi.Size()))
	whole, crc := sha256.New(), crc32.New(castagnoli)
	body := max(sfi.Size()-4, 0)
	if n, err := io.Copy(&sb, io.TeeReader(io.LimitReader(sf, body), io.MultiWriter(whole, crc))); err != nil || n != body {
		return fmt.Errorf("read: %d of %d bytes: %v", n, sfi.Size(), err)
	}
	if _, err := io.Copy(&sb, io.TeeReader(sf, whole)); err != nil {
		return fmt.Errorf("read: %w", err)
	}
	st, err := decodeStateString(sb.String(), crc.Sum32())
	if err != nil {
		return err
	}
	fi, err := l.f.Stat()
	if err != nil {
		return err
	}
	if fi.Size() < st.Size {
		return fmt.Errorf("the log is %d bytes, the state covers %d", fi.Size(), st.Size)
	}
	// The line that ends the prefix must hash to the head kept: every
	// line before it is then the chain the state was made from (or the
	// background verification says otherwise).
	from := max(st.Size-MaxLine-1, 0)
	edge := make([]byte, st.Size-from)
	if _, err := l.f.ReadAt(edge, from); err != nil {
		return fmt.Errorf("read the covered prefix's last record: %w", err)
	}
	if edge[len(edge)-1] != '\n' {
		return fmt.Errorf("byte %d is not the end of a record", st.Size)
	}
	line := edge[:len(edge)-1]
	i := bytes.LastIndexByte(line, '\n')
	if i < 0 && from > 0 {
		return fmt.Errorf("no record ends at byte %d", st.Size)
	}
	line = line[i+1:]
	if sum := sha256.Sum256(line); sum != st.Head {
		return fmt.Errorf("the record ending at byte %d hashes to %x, the state says %x (the log was changed or replaced)", st.Size, sum, st.Head)
	}
	var last Record
	if err := decodeRecord(line, &last); err != nil || last.Seq != st.Records {
		return fmt.Errorf("the record ending at byte %d is not record %d", st.Size, st.Records)
	}
	// The tree file's first hashes must be those the state was made with.
	n := tlog.StoredHashCount(int64(st.Records))
	tf, err := os.Open(TreeFile(l.path))
	if err != nil {
		return fmt.Errorf("tree file: %w", err)
	}
	tree := make(hashes, n, n+n/8+64)
	tr := bufio.NewReaderSize(tf, 64<<10)
	for k := range tree {
		if _, err = io.ReadFull(tr, tree[k][:]); err != nil {
			break
		}
	}
	tf.Close()
	if err != nil {
		return fmt.Errorf("tree file: %d stored hashes wanted: %w", n, err)
	}
	if treeSum(tree) != st.TreeSum {
		return errors.New("the tree file's hashes are not those of the covered records")
	}
	tail, err := io.ReadAll(io.NewSectionReader(l.f, st.Size, fi.Size()-st.Size))
	if err != nil {
		return err
	}
	l.tree, l.denied, l.serials, l.seen = tree, st.Denied, st.Serials, st.Seen
	start := Stats{Records: st.Records, Head: hex.EncodeToString(st.Head[:]), Last: st.Last, Events: map[Event]int{}}
	if err := l.loadRecords(st.Size, start, tail); err != nil {
		return err
	}
	c := &claim{records: st.Records, size: st.Size}
	whole.Sum(c.sum[:0])
	l.claim, l.stateSeq, l.treeKnown = c, st.Records, int(n)
	return nil
}

// saveState writes the state file for the whole log as it is, when the
// log keeps one, it is verified (VerifyOpened) and it grew since the last
// one.
func (l *Log) saveState() error {
	l.stateMu.Lock()
	defer l.stateMu.Unlock()
	return l.saveStateLocked()
}

// saveStateLocked is saveState with l.stateMu held.
func (l *Log) saveStateLocked() error {
	l.mu.Lock()
	if !l.stateOn || l.stateOff || l.claim != nil || l.f == nil || l.treeF == nil || l.seq == 0 || l.seq == l.stateSeq {
		l.mu.Unlock()
		return nil
	}
	st, err := l.stateLocked()
	var data []byte
	if err == nil {
		data = encodeState(st)
	}
	seq, treeF := l.seq, l.treeF
	l.mu.Unlock()
	if err != nil {
		return fmt.Errorf("audit state %s: %w", StateFile(l.path), err)
	}
	// The tree file is written without fsync: what the state vouches
	// for must be durable before the state is.
	if err := treeF.Sync(); err != nil {
		return fmt.Errorf("audit tree %s: fsync: %w", TreeFile(l.path), err)
	}
	if err := security.WriteFileAtomic(StateFile(l.path), data, 0o600); err != nil {
		return fmt.Errorf("audit state %s: %w", StateFile(l.path), err)
	}
	l.mu.Lock()
	l.stateSeq = seq
	l.mu.Unlock()
	return nil
}

// ErrOpenState: a log opened from its open state file failed the full
// verification that followed (VerifyOpened).
var ErrOpenState = errors.New("audit log: full verification after opening from the open state failed")

// VerifyOpened completes the verification of a log opened from its open
// state file (Options.State): it reads the records the state covered
// from the start and checks them as a full open does — the chain, each
// record, the tree — and that the state file Open used is exactly the
// state those records give (every field). On failure it removes the state
// file, so the next Open verifies the whole log (and refuses it), and
// returns an error wrapping ErrOpenState and the first problem; Verified
// reports it from then on. A log opened the full way needs nothing more.
// Once the log is verified, VerifyOpened writes a state file when the log
// keeps one and it is missing or behind. The station runs it in the
// background right after it starts and stops printing if it fails.
func (l *Log) VerifyOpened(ctx context.Context) error {
	l.mu.Lock()
	c := l.claim
	l.mu.Unlock()
	if c != nil {
		if err := l.checkClaim(ctx, c); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			err = fmt.Errorf("%w: %s: %w", ErrOpenState, l.path, err)
			l.stateMu.Lock()
			l.mu.Lock()
			l.stateOff, l.failed = true, err
			l.mu.Unlock()
			if rerr := os.Remove(StateFile(l.path)); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
				l.log.Error("audit state: cannot remove the state file of a log that failed verification", "path", StateFile(l.path), "err", rerr)
			}
			l.stateMu.Unlock()
			return err
		}
		l.mu.Lock()
		l.claim = nil
		l.mu.Unlock()
	}
	if err := l.saveState(); err != nil {
		l.log.Warn("audit state not written; the next start verifies the whole log", "err", err)
	}
	return nil
}

// Verified reports whether the log is verified whole (opened the full
// way, or VerifyOpened passed) and the error VerifyOpened failed with.
func (l *Log) Verified() (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.claim == nil && l.failed == nil, l.failed
}

// checkClaim reads the first c.size bytes of the log and checks them as a
// full open does, then that they give the state Open took on trust.
func (l *Log) checkClaim(ctx context.Context, c *claim) error {
	f, err := os.Open(l.path)
	if err != nil {
		return err
	}
	defer f.Close()
	var (
		tree hashes
		ix   = indexes{seen: map[eventKey]struct{}{}, serials: map[string]string{}}
	)
	st, err := read(io.NewSectionReader(f, 0, c.size), func(r Record, line []byte) error {
		if r.Seq%256 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		ix.add(&r)
		_, err := tree.extend(int64(r.Seq-1), line)
		return err
	})
	if err != nil {
		return err
	}
	if st.Records != c.records {
		return fmt.Errorf("the first %d bytes hold %d records, the open state covered %d", c.size, st.Records, c.records)
	}
	got := &openState{Records: st.Records, Size: c.size, Last: st.Last, TreeSum: treeSum(tree),
		Denied: ix.denied, Serials: ix.serials, Seen: ix.seen}
	if _, err := hex.Decode(got.Head[:], []byte(st.Head)); err != nil {
		return err
	}
	if sha256.Sum256(encodeState(got)) != c.sum {
		return fmt.Errorf("the open state file is not what the first %d records give (changed, or made from another log)", c.records)
	}
	return nil
}
