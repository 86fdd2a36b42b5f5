package audit

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/cardd/cardd/security"
)

// ActionBatchClose is the operator action of a batch close; the log signs
// a checkpoint after recording it.
const ActionBatchClose = "batch-close"

func isBatchClose(r *Record) bool {
	return r.Event == EventOperator && r.Action == ActionBatchClose
}

// ErrCheckpoint: the log does not contain what a checkpoint covered — it
// was truncated below it, or a record up to it was changed, removed,
// inserted or reordered.
var ErrCheckpoint = errors.New("audit log does not match the checkpoint")

// ErrNoSigner: the log was opened without a checkpoint signer.
var ErrNoSigner = errors.New("audit log: no checkpoint key")

// loadTree makes TreeFile match the tree built from the records (load
// filled l.tree) and opens it for appending. The first l.treeKnown hashes
// were read from the file already (an open from the state): only the
// rest is compared.
func (l *Log) loadTree() error {
	path := TreeFile(l.path)
	known := min(l.treeKnown, len(l.tree))
	want := hashBytes(l.tree[known:])
	have, err := readFileFrom(path, int64(known)*tlog.HashSize)
	if err != nil && !errors.Is(err, os.ErrNotExist) && !errors.Is(err, errShort) {
		return fmt.Errorf("audit tree %s: %w", path, err)
	}
	if err != nil || !bytes.Equal(have, want) {
		if !errors.Is(err, os.ErrNotExist) {
			l.log.Warn("audit tree: file does not match the records; rebuilding it", "path", path,
				"bytes", int64(known)*tlog.HashSize+int64(len(have)), "want", len(l.tree)*tlog.HashSize)
		}
		if err := security.WriteFileAtomic(path, hashBytes(l.tree), 0o600); err != nil {
			return fmt.Errorf("audit tree %s: %w", path, err)
		}
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("audit tree: %w", err)
	}
	l.treeF = f
	return nil
}

// errShort: a file ends before the offset asked for.
var errShort = errors.New("shorter than expected")

// readFileFrom reads the file at path from byte off to its end.
func readFileFrom(path string, off int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if fi.Size() < off {
		return nil, errShort
	}
	b := make([]byte, fi.Size()-off)
	if _, err := f.ReadAt(b, off); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return b, nil
}

func (l *Log) writeTree(add []tlog.Hash) error {
	if l.treeF == nil {
		return fmt.Errorf("audit tree %s: closed", TreeFile(l.path))
	}
	// No fsync: the file is derived data, which Open checks against the
	// records (fsynced) and rewrites when a crash left it short or torn,
	// so syncing it per record would guarantee nothing more. Close syncs
	// it once.
	if _, err := l.treeF.Write(hashBytes(add)); err != nil {
		return fmt.Errorf("audit tree %s: %w", TreeFile(l.path), err)
	}
	return nil
}

// loadCheckpoints reads CheckpointsFile, cuts off a torn last line, checks
// every checkpoint against the tree and opens the file for appending.
func (l *Log) loadCheckpoints() error {
	path := CheckpointsFile(l.path)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("audit checkpoints: %w", err)
	}
	l.cpF = f
	b, err := io.ReadAll(f)
	if err != nil {
		return fmt.Errorf("audit checkpoints %s: %w", path, err)
	}
	cps, good, err := parseCheckpointLines(path, b)
	if err != nil {
		return err
	}
	if good != len(b) {
		l.log.Warn("audit checkpoints: cutting off a torn last line", "path", path, "bytes", len(b)-good)
		if err := f.Truncate(int64(good)); err != nil {
			return fmt.Errorf("audit checkpoints %s: %w", path, err)
		}
		if err := f.Sync(); err != nil {
			return fmt.Errorf("audit checkpoints %s: %w", path, err)
		}
	}
	if _, err := f.Seek(int64(good), io.SeekStart); err != nil {
		return fmt.Errorf("audit checkpoints %s: %w", path, err)
	}
	for _, cp := range cps {
		if err := checkAgainst(l.tree, int64(l.seq), cp); err != nil {
			return fmt.Errorf("audit log %s: %w", l.path, err)
		}
	}
	if n := len(cps); n > 0 {
		l.latest = cps[n-1]
		l.sinceCp = int(int64(l.seq) - l.latest.Size)
	} else {
		l.sinceCp = int(l.seq)
	}
	return nil
}

// checkAgainst checks that a tree of n records contains what cp covered.
func checkAgainst(tree hashes, n int64, cp *Checkpoint) error {
	if cp.Size > n {
		return fmt.Errorf("%w: it holds %d records, the checkpoint covered %d (truncated)", ErrCheckpoint, n, cp.Size)
	}
	root, err := tlog.TreeHash(cp.Size, tree)
	if err != nil {
		return err
	}
	if root != cp.Root {
		return fmt.Errorf("%w: the first %d records hash to %s, the checkpoint says %s (a record was changed, removed, inserted or reordered)",
			ErrCheckpoint, cp.Size, root, cp.Root)
	}
	return nil
}

// signLocked signs a checkpoint of the whole log unless the latest one
// already covers it, appends it to CheckpointsFile (fsync) and keeps it
// for announce.
func (l *Log) signLocked() (*Checkpoint, error) {
	if l.signer == nil {
		return nil, ErrNoSigner
	}
	size := int64(l.seq)
	if l.latest != nil && l.latest.Size == size && l.latest.Origin == l.signer.Name() {
		return l.latest, nil
	}
	if l.cpF == nil {
		return nil, fmt.Errorf("audit log %s: closed", l.path)
	}
	root, err := tlog.TreeHash(size, l.tree)
	if err != nil {
		return nil, fmt.Errorf("audit log %s: tree hash: %w", l.path, err)
	}
	cp := &Checkpoint{Origin: l.signer.Name(), Size: size, Root: root}
	msg, err := note.Sign(&note.Note{Text: cp.Text()}, l.signer)
	if err != nil {
		return nil, fmt.Errorf("audit log %s: sign checkpoint of %d records: %w", l.path, size, err)
	}
	cp.Note = msg
	line, err := json.Marshal(checkpointLine{Time: l.now().UTC().Truncate(time.Second), Note: string(msg)})
	if err != nil {
		return nil, err
	}
	if _, err := l.cpF.Write(append(line, '\n')); err != nil {
		return nil, fmt.Errorf("audit checkpoints %s: %w", CheckpointsFile(l.path), err)
	}
	if err := l.cpF.Sync(); err != nil {
		return nil, fmt.Errorf("audit checkpoints %s: fsync: %w", CheckpointsFile(l.path), err)
	}
	l.latest, l.sinceCp, l.pending = cp, 0, cp
	return cp, nil
}

func (l *Log) takePending() *Checkpoint {
	cp := l.pending
	l.pending = nil
	return cp
}

func (l *Log) announce(cp *Checkpoint) {
	if cp != nil && l.onCheckpoint != nil {
		l.onCheckpoint(cp)
	}
}

// Checkpoint signs a checkpoint of the whole log now, unless the latest
// one already covers every record (then it returns that one). The station
// calls it on a timer and after a batch closes.
func (l *Log) Checkpoint(ctx context.Context) (*Checkpoint, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	l.mu.Lock()
	cp, err := l.signLocked()
	p := l.takePending()
	l.mu.Unlock()
	l.announce(p)
	return cp, err
}

// LatestCheckpoint returns the latest checkpoint the log holds (nil when
// none was signed yet).
func (l *Log) LatestCheckpoint() *Checkpoint {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.latest
}

// ProveConsistency returns a proof that the log's latest checkpoint
// extends old (the same records first, then more), for a witness that
// holds old: check it with CheckConsistency(old, latest, proof).
func (l *Log) ProveConsistency(old *Checkpoint) (tlog.TreeProof, *Checkpoint, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.latest == nil {
		return nil, nil, fmt.Errorf("audit log %s: no checkpoint yet", l.path)
	}
	if old.Size > l.latest.Size {
		return nil, nil, fmt.Errorf("%w: checkpoint of %d records is beyond the latest (%d)", ErrCheckpoint, old.Size, l.latest.Size)
	}
	p, err := tlog.ProveTree(l.latest.Size, old.Size, l.tree)
	if err != nil {
		return nil, nil, fmt.Errorf("audit log %s: %w", l.path, err)
	}
	return p, l.latest, nil
}

// CheckConsistency checks a consistency proof that newer extends older
// (both from the same origin): the log was only appended to between them.
func CheckConsistency(older, newer *Checkpoint, proof tlog.TreeProof) error {
	if older.Origin != newer.Origin {
		return fmt.Errorf("checkpoints of %q and %q: different logs", older.Origin, newer.Origin)
	}
	if older.Size > newer.Size {
		return fmt.Errorf("%w: %d records after %d", ErrCheckpoint, newer.Size, older.Size)
	}
	if err := tlog.CheckTree(proof, newer.Size, newer.Root, older.Size, older.Root); err != nil {
		return fmt.Errorf("%w: checkpoint of %d records does not extend the one of %d: %v", ErrCheckpoint, newer.Size, older.Size, err)
	}
	return nil
}

// treeOf reads the log at path, checking its chain, and builds its tree.
// keep, when set, is called with each record and its line.
func treeOf(path string, keep func(Record, []byte) error) (Stats, hashes, error) {
	f, err := os.Open(path)
	if err != nil {
		return Stats{}, nil, fmt.Errorf("audit log: %w", err)
	}
	defer f.Close()
	var tree hashes
	st, err := read(f, func(r Record, line []byte) error {
		if keep != nil {
			if err := keep(r, line); err != nil {
				return err
			}
		}
		_, err := tree.extend(int64(r.Seq-1), line)
		return err
	})
	if err != nil {
		return st, nil, fmt.Errorf("audit log %s: %w", path, err)
	}
	return st, tree, nil
}

// VerifyAgainst checks the log file at path — its chain, and that it
// still contains exactly the records cp covered (the Merkle tree hash of
// its first cp.Size records is cp.Root) — and returns its stats. A log
// truncated below the checkpoint, or with a record up to it changed,
// removed, inserted or reordered, fails with ErrCheckpoint. Check cp's
// signature first (ParseCheckpoint).
func VerifyAgainst(path string, cp *Checkpoint) (Stats, error) {
	st, tree, err := treeOf(path, nil)
	if err != nil {
		return st, err
	}
	if err := checkAgainst(tree, int64(st.Records), cp); err != nil {
		return st, fmt.Errorf("audit log %s: %w", path, err)
	}
	return st, nil
}

// TreeRoot returns the Merkle tree hash of the first n records of the log
// at path (all of them when n < 0) and the number of records.
func TreeRoot(path string, n int64) (tlog.Hash, int64, error) {
	st, tree, err := treeOf(path, nil)
	if err != nil {
		return tlog.Hash{}, 0, err
	}
	if n < 0 {
		n = int64(st.Records)
	}
	if n > int64(st.Records) {
		return tlog.Hash{}, 0, fmt.Errorf("%w: %d records, want %d", ErrCheckpoint, st.Records, n)
	}
	h, err := tlog.TreeHash(n, tree)
	return h, int64(st.Records), err
}

// Proof is an inclusion proof: a record of the log, its place, and the
// hashes that lead from it to a checkpoint's root. A third party with the
// station's verifier key checks it with CheckProof; its text form
// (Marshal, ParseProof) is what "cardd audit prove" prints.
type Proof struct {
	// Seq is the record's number (1-based; leaf Seq-1 of the tree).
	Seq int64
	// Line is the record's line, exactly as logged.
	Line []byte
	// Hashes is the tlog.RecordProof.
	Hashes tlog.RecordProof
	// Checkpoint is the signed checkpoint the proof leads to.
	Checkpoint *Checkpoint
}

const proofHeader = "cardd audit inclusion proof"

// Marshal returns the proof's text: a header line, "record SEQ", the
// record line, "proof N", N base64 hashes, "checkpoint", then the signed
// checkpoint note.
func (p *Proof) Marshal() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s\nrecord %d\n%s\nproof %d\n", proofHeader, p.Seq, p.Line, len(p.Hashes))
	for _, h := range p.Hashes {
		fmt.Fprintf(&b, "%s\n", base64.StdEncoding.EncodeToString(h[:]))
	}
	b.WriteString("checkpoint\n")
	b.Write(p.Checkpoint.Note)
	return b.Bytes()
}

// MaxProof bounds a proof's text (a proof of a log of 2^63 records has 63
// hashes; records are at most MaxLine bytes).
const MaxProof = 64 << 10

// ParseProof reads a proof's text (Marshal) and checks the checkpoint's
// signature with verifiers; CheckProof then checks the proof itself.
func ParseProof(text []byte, verifiers ...note.Verifier) (*Proof, error) {
	if len(text) > MaxProof {
		return nil, fmt.Errorf("proof: %d bytes (max %d)", len(text), MaxProof)
	}
	sc := bufio.NewScanner(bytes.NewReader(text))
	sc.Buffer(make([]byte, 0, 1024), MaxLine+64)
	line := 0
	next := func(what string) (string, error) {
		if !sc.Scan() {
			return "", fmt.Errorf("proof: line %d: missing %s", line+1, what)
		}
		line++
		return sc.Text(), nil
	}
	h, err := next("header")
	if err != nil {
		return nil, err
	}
	if h != proofHeader {
		return nil, fmt.Errorf("proof: line 1: %q is not %q", h, proofHeader)
	}
	p := &Proof{}
	s, err := next("record line")
	if err != nil {
		return nil, err
	}
	if p.Seq, err = strconv.ParseInt(strings.TrimPrefix(s, "record "), 10, 64); err != nil || !strings.HasPrefix(s, "record ") || p.Seq < 1 {
		return nil, fmt.Errorf("proof: line %d: %q is not \"record SEQ\"", line, s)
	}
	rec, err := next("the record")
	if err != nil {
		return nil, err
	}
	p.Line = []byte(rec)
	s, err = next("proof line")
	if err != nil {
		return nil, err
	}
	n, err := strconv.Atoi(strings.TrimPrefix(s, "proof "))
	if err != nil || !strings.HasPrefix(s, "proof ") || n < 0 || n > 64 {
		return nil, fmt.Errorf("proof: line %d: %q is not \"proof N\"", line, s)
	}
	for range n {
		s, err := next("proof hash")
		if err != nil {
			return nil, err
		}
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil || len(b) != tlog.HashSize {
			return nil, fmt.Errorf("proof: line %d: not a base64 SHA-256", line)
		}
		p.Hashes = append(p.Hashes, tlog.Hash(b))
	}
	if s, err := next("checkpoint line"); err != nil {
		return nil, err
	} else if s != "checkpoint" {
		return nil, fmt.Errorf("proof: line %d: %q is not \"checkpoint\"", line, s)
	}
	// The note is everything after the "checkpoint" line.
	i := bytes.Index(text, []byte("\ncheckpoint\n"))
	if i < 0 {
		return nil, errors.New("proof: no checkpoint")
	}
	cp, err := ParseCheckpoint(text[i+len("\ncheckpoint\n"):], verifiers...)
	if err != nil {
		return nil, fmt.Errorf("proof: %w", err)
	}
	p.Checkpoint = cp
	return p, nil
}

// CheckProof checks that p.Line is record p.Seq of the log p.Checkpoint
// covers. The checkpoint's signature must have been checked (ParseProof,
// ParseCheckpoint).
func CheckProof(p *Proof) error {
	if p.Checkpoint == nil {
		return errors.New("proof: no checkpoint")
	}
	if p.Seq < 1 || p.Seq > p.Checkpoint.Size {
		return fmt.Errorf("proof: record %d is not among the %d the checkpoint covers", p.Seq, p.Checkpoint.Size)
	}
	var rec Record
	dec := json.NewDecoder(bytes.NewReader(p.Line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rec); err != nil || rec.Seq != uint64(p.Seq) {
		return fmt.Errorf("proof: the record line is not record %d", p.Seq)
	}
	if err := tlog.CheckRecord(p.Hashes, p.Checkpoint.Size, p.Checkpoint.Root, p.Seq-1, tlog.RecordHash(p.Line)); err != nil {
		return fmt.Errorf("proof: record %d is not in the log of checkpoint %q size %d: %w", p.Seq, p.Checkpoint.Origin, p.Checkpoint.Size, err)
	}
	return nil
}

// Prove returns inclusion proofs, against cp, of every record of the log
// file at path that names serial (as its serial or the serial it
// replaces) and that cp covers. The log must contain what cp covered.
func Prove(path, serial string, cp *Checkpoint) ([]*Proof, error) {
	var seqs []int64
	lines := map[int64][]byte{}
	st, tree, err := treeOf(path, func(r Record, line []byte) error {
		if (r.Serial == serial || r.Replaces == serial) && int64(r.Seq) <= cp.Size {
			seqs = append(seqs, int64(r.Seq))
			lines[int64(r.Seq)] = bytes.Clone(line)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := checkAgainst(tree, int64(st.Records), cp); err != nil {
		return nil, fmt.Errorf("audit log %s: %w", path, err)
	}
	var out []*Proof
	for _, seq := range seqs {
		rp, err := tlog.ProveRecord(cp.Size, seq-1, tree)
		if err != nil {
			return nil, fmt.Errorf("audit log %s: record %d: %w", path, seq, err)
		}
		out = append(out, &Proof{Seq: seq, Line: lines[seq], Hashes: rp, Checkpoint: cp})
	}
	return out, nil
}
