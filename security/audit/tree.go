package audit

import (
	"bytes"
	"crypto/ed25519"
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

// The Merkle tree. Every record line (its exact bytes, without the
// newline) is a leaf: tlog.RecordHash of the line. The tree's stored hashes
// (tlog.StoredHashes: about two per record) are kept in TreeFile(path),
// 32 bytes each in storage order, appended after each record (fsynced at
// Close, not per record). The file is derived data: Open recomputes it
// from the records and rewrites it (atomically) when it is missing, short
// or different, as a crash may leave it.

// TreeFile is the file beside the log at path holding its tree's stored
// hashes.
func TreeFile(path string) string { return path + ".tree" }

// CheckpointsFile is the append-only file beside the log at path holding
// every checkpoint the station signed, one JSON line each
// ({"time": …, "note": "<signed note>"}).
func CheckpointsFile(path string) string { return path + ".checkpoints" }

// hashes is an in-memory tlog.HashReader over stored hashes.
type hashes []tlog.Hash

func (h hashes) ReadHashes(idx []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(idx))
	for i, x := range idx {
		if x < 0 || x >= int64(len(h)) {
			return nil, fmt.Errorf("audit tree: stored hash %d of %d", x, len(h))
		}
		out[i] = h[x]
	}
	return out, nil
}

// extend adds the leaf for line as record number n (0-based) and returns
// the stored hashes that were added.
func (h *hashes) extend(n int64, line []byte) ([]tlog.Hash, error) {
	add, err := tlog.StoredHashes(n, line, *h)
	if err != nil {
		return nil, err
	}
	*h = append(*h, add...)
	return add, nil
}

func hashBytes(hs []tlog.Hash) []byte {
	b := make([]byte, 0, len(hs)*tlog.HashSize)
	for _, h := range hs {
		b = append(b, h[:]...)
	}
	return b
}

// Checkpoint is a signed statement of the log's state: its origin (the
// name of the key that signed it), how many records the tree held and the
// tree's root hash. Its text is the c2sp.org/tlog-checkpoint form — the
// origin line, the size in decimal and the base64 root hash, each on its
// own line — signed as a golang.org/x/mod/sumdb/note note.
//
// Whoever keeps a checkpoint (a witness, an auditor, the network's hub)
// can later check that the log still contains exactly what it covered
// (VerifyFile with VerifyOptions.Checkpoint, CheckTree with a consistency
// proof from Log.ProveConsistency) and that a record is in it (Log.Prove,
// CheckProof).
type Checkpoint struct {
	// Origin names the log (the signing key's name).
	Origin string
	// Size is the number of records covered.
	Size int64
	// Root is the Merkle tree hash of those records.
	Root tlog.Hash
	// Note is the signed note, as signed (text, blank line, signatures).
	Note []byte
}

// Text returns the checkpoint's body, the text that is signed.
func (c *Checkpoint) Text() string {
	return formatCheckpoint(c.Origin, c.Size, c.Root)
}

func formatCheckpoint(origin string, size int64, root tlog.Hash) string {
	return fmt.Sprintf("%s\n%d\n%s\n", origin, size, base64.StdEncoding.EncodeToString(root[:]))
}

// parseCheckpointText reads a checkpoint body: origin, size and root hash
// lines; further lines (extensions the format allows) are ignored.
func parseCheckpointText(text string) (origin string, size int64, root tlog.Hash, err error) {
	lines := strings.SplitAfter(text, "\n")
	if len(lines) < 4 || !strings.HasSuffix(text, "\n") {
		return "", 0, root, errors.New("checkpoint: want origin, size and root hash lines")
	}
	origin = strings.TrimSuffix(lines[0], "\n")
	if origin == "" {
		return "", 0, root, errors.New("checkpoint: empty origin line")
	}
	sz := strings.TrimSuffix(lines[1], "\n")
	size, err = strconv.ParseInt(sz, 10, 64)
	if err != nil || size < 0 || strconv.FormatInt(size, 10) != sz {
		return "", 0, root, fmt.Errorf("checkpoint: size line %q is not a decimal count", sz)
	}
	h, err := base64.StdEncoding.DecodeString(strings.TrimSuffix(lines[2], "\n"))
	if err != nil || len(h) != tlog.HashSize {
		return "", 0, root, fmt.Errorf("checkpoint: root hash line %q is not a base64 SHA-256", strings.TrimSuffix(lines[2], "\n"))
	}
	copy(root[:], h)
	return origin, size, root, nil
}

// ParseCheckpoint opens a signed checkpoint note with the given verifiers
// (one of them must have signed it, note.Open) and parses its text.
func ParseCheckpoint(msg []byte, verifiers ...note.Verifier) (*Checkpoint, error) {
	n, err := note.Open(msg, note.VerifierList(verifiers...))
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	origin, size, root, err := parseCheckpointText(n.Text)
	if err != nil {
		return nil, err
	}
	if origin != n.Sigs[0].Name {
		return nil, fmt.Errorf("checkpoint: origin %q is not the signer's name %q", origin, n.Sigs[0].Name)
	}
	return &Checkpoint{Origin: origin, Size: size, Root: root, Note: bytes.Clone(msg)}, nil
}

// parseUnverified parses a stored checkpoint's text without checking its
// signature (the station checks its own checkpoints against the records;
// a third party uses ParseCheckpoint).
func parseUnverified(msg []byte) (*Checkpoint, error) {
	i := bytes.Index(msg, []byte("\n\n"))
	if i < 0 {
		return nil, errors.New("checkpoint: not a signed note")
	}
	origin, size, root, err := parseCheckpointText(string(msg[:i+1]))
	if err != nil {
		return nil, err
	}
	return &Checkpoint{Origin: origin, Size: size, Root: root, Note: bytes.Clone(msg)}, nil
}

// checkpointLine is one line of the checkpoints file.
type checkpointLine struct {
	Time time.Time `json:"time"`
	Note string    `json:"note"`
}

// ReadCheckpoints reads the checkpoints file at path (CheckpointsFile of
// a log), oldest first, checking each note's text but not its signature.
// A missing file is no checkpoints.
func ReadCheckpoints(path string) ([]*Checkpoint, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("audit checkpoints: %w", err)
	}
	cps, _, err := parseCheckpointLines(path, b)
	return cps, err
}

// parseCheckpointLines parses the complete lines of a checkpoints file and
// returns them with the length of the complete part (a torn last line is
// left out).
func parseCheckpointLines(path string, b []byte) ([]*Checkpoint, int, error) {
	good := bytes.LastIndexByte(b, '\n') + 1
	var cps []*Checkpoint
	for i, line := range bytes.Split(b[:good], []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		var cl checkpointLine
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&cl); err != nil {
			return nil, 0, fmt.Errorf("audit checkpoints %s: line %d: %w", path, i+1, err)
		}
		cp, err := parseUnverified([]byte(cl.Note))
		if err != nil {
			return nil, 0, fmt.Errorf("audit checkpoints %s: line %d: %w", path, i+1, err)
		}
		if n := len(cps); n > 0 && cp.Size < cps[n-1].Size {
			return nil, 0, fmt.Errorf("audit checkpoints %s: line %d: size %d after %d (checkpoints only grow)", path, i+1, cp.Size, cps[n-1].Size)
		}
		cps = append(cps, cp)
	}
	return cps, good, nil
}

// GenerateKey makes a new checkpoint signing key named name (the origin
// line of every checkpoint it signs): the private key and the public
// verifier key in golang.org/x/mod/sumdb/note's text forms.
func GenerateKey(rand io.Reader, name string) (skey, vkey string, err error) {
	return note.GenerateKey(rand, name)
}

// LoadSigner reads a note signer key file (GenerateKey's skey) and returns
// the signer and its verifier key. The file must not be readable by group
// or others.
func LoadSigner(path string) (note.Signer, string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, "", fmt.Errorf("audit key: %w", err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, "", fmt.Errorf("audit key %s: mode %v: readable by group or others (chmod 600)", path, st.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, "", fmt.Errorf("audit key: %w", err)
	}
	skey := strings.TrimSpace(string(b))
	s, err := note.NewSigner(skey)
	if err != nil {
		return nil, "", fmt.Errorf("audit key %s: %w", path, err)
	}
	vkey, err := verifierKeyOf(skey)
	if err != nil {
		return nil, "", fmt.Errorf("audit key %s: %w", path, err)
	}
	return s, vkey, nil
}

// EnsureKey loads the checkpoint key at path, generating it (named name)
// on first use; its verifier key is written beside it as path+".pub".
func EnsureKey(path, name string, rand io.Reader) (note.Signer, string, bool, error) {
	created := false
	if _, err := os.Lstat(path); errors.Is(err, os.ErrNotExist) {
		skey, vkey, err := GenerateKey(rand, name)
		if err != nil {
			return nil, "", false, fmt.Errorf("audit key %s: %w", path, err)
		}
		if err := security.WriteFileAtomic(path, []byte(skey+"\n"), 0o600); err != nil {
			return nil, "", false, fmt.Errorf("audit key %s: %w", path, err)
		}
		if err := security.WriteFileAtomic(path+".pub", []byte(vkey+"\n"), 0o644); err != nil {
			return nil, "", false, fmt.Errorf("audit key %s.pub: %w", path, err)
		}
		created = true
	}
	s, vkey, err := LoadSigner(path)
	return s, vkey, created, err
}

// verifierKeyOf derives the verifier key from a note signer key
// ("PRIVATE+KEY+name+hash+base64(alg||seed)").
func verifierKeyOf(skey string) (string, error) {
	parts := strings.SplitN(skey, "+", 5)
	if len(parts) != 5 || parts[0] != "PRIVATE" || parts[1] != "KEY" {
		return "", errors.New("not a note signer key")
	}
	b, err := base64.StdEncoding.DecodeString(parts[4])
	if err != nil || len(b) != 1+32 || b[0] != 1 {
		return "", errors.New("not an Ed25519 note signer key")
	}
	pub := ed25519PublicFromSeed(b[1:])
	return note.NewEd25519VerifierKey(parts[2], pub)
}

// LoadVerifier reads a verifier key file (GenerateKey's vkey, the .pub
// beside an audit key).
func LoadVerifier(path string) (note.Verifier, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("audit verifier key: %w", err)
	}
	v, err := note.NewVerifier(strings.TrimSpace(string(b)))
	if err != nil {
		return nil, fmt.Errorf("audit verifier key %s: %w", path, err)
	}
	return v, nil
}

func ed25519PublicFromSeed(seed []byte) ed25519.PublicKey {
	return ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey)
}
