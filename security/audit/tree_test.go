package audit

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// testKey returns a checkpoint signer and its verifier.
func testKey(t testing.TB, name string) (note.Signer, note.Verifier) {
	t.Helper()
	skey, vkey, err := GenerateKey(rand.Reader, name)
	if err != nil {
		t.Fatal(err)
	}
	s, err := note.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	return s, v
}

// signedLog writes the sample records to a log that signs a checkpoint
// every every records, then signs one of the whole log, and returns its
// path and the checkpoints announced.
func signedLog(t *testing.T, s note.Signer, every int) (string, []*Checkpoint) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "audit.log")
	clk := &fakeClock{t: time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)}
	var got []*Checkpoint
	l, err := OpenWith(path, Options{Now: clk.now, Signer: s, CheckpointEvery: every,
		OnCheckpoint: func(cp *Checkpoint) { got = append(got, cp) }})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range sampleRecords() {
		if _, err := l.Append(t.Context(), r); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := l.Checkpoint(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return path, got
}

func TestCheckpointsSignedAndKept(t *testing.T) {
	s, v := testKey(t, "cardd.example/audit/office-7")
	path, got := signedLog(t, s, 4)
	// 9 records: checkpoints after 4 and 8 records, then Checkpoint's 9.
	if len(got) != 3 || got[0].Size != 4 || got[1].Size != 8 || got[2].Size != 9 {
		t.Fatalf("announced %d checkpoints: %+v", len(got), got)
	}
	kept, err := ReadCheckpoints(CheckpointsFile(path))
	if err != nil || len(kept) != 3 {
		t.Fatalf("kept %d checkpoints: %v", len(kept), err)
	}
	for i, cp := range kept {
		parsed, err := ParseCheckpoint(cp.Note, v)
		if err != nil {
			t.Fatalf("checkpoint %d: %v", i, err)
		}
		if parsed.Size != got[i].Size || parsed.Root != got[i].Root || parsed.Origin != "cardd.example/audit/office-7" {
			t.Fatalf("checkpoint %d: %+v, announced %+v", i, parsed, got[i])
		}
		if _, err := VerifyAgainst(path, parsed); err != nil {
			t.Fatalf("checkpoint %d: %v", i, err)
		}
	}
	// The c2sp.org/tlog-checkpoint body: origin, size, base64 root.
	lines := strings.Split(string(kept[2].Note), "\n")
	if lines[0] != "cardd.example/audit/office-7" || lines[1] != "9" || len(lines[2]) != 44 || lines[3] != "" || !strings.HasPrefix(lines[4], "— cardd.example/audit/office-7 ") {
		t.Fatalf("note:\n%s", kept[2].Note)
	}
	// Another key's verifier refuses it.
	_, other := testKey(t, "cardd.example/audit/office-7")
	if _, err := ParseCheckpoint(kept[2].Note, other); err == nil {
		t.Fatal("a checkpoint opened with another key")
	}
	// Reopening checks the records against the kept checkpoints and
	// continues from the latest.
	l, err := OpenWith(path, Options{Signer: s})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if cp := l.LatestCheckpoint(); cp == nil || cp.Size != 9 {
		t.Fatalf("latest after reopen: %+v", cp)
	}
	if cp, err := l.Checkpoint(t.Context()); err != nil || cp.Size != 9 {
		t.Fatalf("checkpoint of an unchanged log: %+v, %v", cp, err)
	}
	if kept, _ := ReadCheckpoints(CheckpointsFile(path)); len(kept) != 3 {
		t.Fatalf("an unchanged log was checkpointed again: %d", len(kept))
	}
}

// rewrite replaces the log at path with recs, renumbered and re-chained:
// what someone who can write the file and knows the format would do. The
// plain hash chain cannot tell.
func rewrite(t *testing.T, path string, recs []Record) {
	t.Helper()
	var b bytes.Buffer
	prev := GenesisHash
	for i, r := range recs {
		r.Seq, r.Prev = uint64(i+1), prev
		line, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(line)
		b.WriteByte('\n')
		prev = lineHash(line)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

func readAll(t *testing.T, path string) []Record {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var recs []Record
	if _, err := Read(bytes.NewReader(b), func(r Record) error { recs = append(recs, r); return nil }); err != nil {
		t.Fatal(err)
	}
	return recs
}

// TestTamperCaughtByCheckpoint: truncation, a rewritten middle and a
// reordered pair, each re-chained so that the hash chain alone (VerifyFile,
// all a log could be checked with before) still verifies, are caught
// against a checkpoint — by VerifyAgainst, by reopening the log, and with
// a consistency proof.
func TestTamperCaughtByCheckpoint(t *testing.T) {
	s, v := testKey(t, "cardd.example/audit/office-7")
	for _, tc := range []struct {
		name   string
		tamper func([]Record) []Record
	}{
		{"truncated", func(r []Record) []Record { return r[:len(r)-2] }},
		{"rewritten middle", func(r []Record) []Record {
			r[3].Reason = "misprint"
			return r
		}},
		{"removed record", func(r []Record) []Record { return append(r[:2], r[3:]...) }},
		{"reordered", func(r []Record) []Record {
			r[1], r[2] = r[2], r[1]
			return r
		}},
		{"inserted record", func(r []Record) []Record {
			extra := Record{Event: EventVoided, Serial: "CARD-01-0000005-X", Reason: "x", Time: r[4].Time}
			return append(r[:5], append([]Record{extra}, r[5:]...)...)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path, _ := signedLog(t, s, 0)
			kept, err := ReadCheckpoints(CheckpointsFile(path))
			if err != nil || len(kept) != 1 {
				t.Fatalf("%d checkpoints: %v", len(kept), err)
			}
			cp, err := ParseCheckpoint(kept[0].Note, v)
			if err != nil {
				t.Fatal(err)
			}
			rewrite(t, path, tc.tamper(readAll(t, path)))
			if _, err := VerifyFile(path); err != nil {
				t.Fatalf("the re-chained log does not verify as a chain (the test's tampering is wrong): %v", err)
			}
			if _, err := VerifyAgainst(path, cp); !errors.Is(err, ErrCheckpoint) {
				t.Fatalf("VerifyAgainst: %v, want ErrCheckpoint", err)
			}
			if l, err := OpenWith(path, Options{Signer: s}); !errors.Is(err, ErrCheckpoint) {
				if l != nil {
					l.Close()
				}
				t.Fatalf("reopen: %v, want ErrCheckpoint", err)
			}
			// A witness holding cp and shown a new checkpoint of the
			// tampered log (signed by the same key) cannot be given a
			// consistency proof that passes.
			os.Remove(CheckpointsFile(path))
			l, err := OpenWith(path, Options{Signer: s})
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			if _, err := l.Append(t.Context(), Record{Event: EventVoided, Serial: "CARD-01-0000006-X", Reason: "y"}); err != nil {
				t.Fatal(err)
			}
			newer, err := l.Checkpoint(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			proof, latest, err := l.ProveConsistency(cp)
			if err == nil {
				if latest != newer {
					t.Fatal("ProveConsistency against another checkpoint")
				}
				if err := CheckConsistency(cp, newer, proof); !errors.Is(err, ErrCheckpoint) {
					t.Fatalf("CheckConsistency: %v, want ErrCheckpoint", err)
				}
			}
		})
	}
}

func TestConsistencyOfAnHonestLog(t *testing.T) {
	s, v := testKey(t, "cardd.example/audit/office-7")
	path, got := signedLog(t, s, 4)
	l, err := OpenWith(path, Options{Signer: s})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for range 5 {
		if _, err := l.Append(t.Context(), Record{Event: EventVoided, Serial: "CARD-01-0000007-X", Reason: "lost"}); err != nil {
			t.Fatal(err)
		}
	}
	newer, err := l.Checkpoint(t.Context())
	if err != nil || newer.Size != 14 {
		t.Fatalf("checkpoint %+v: %v", newer, err)
	}
	if _, err := ParseCheckpoint(newer.Note, v); err != nil {
		t.Fatal(err)
	}
	for _, old := range got {
		proof, latest, err := l.ProveConsistency(old)
		if err != nil {
			t.Fatal(err)
		}
		if err := CheckConsistency(old, latest, proof); err != nil {
			t.Fatalf("size %d → %d: %v", old.Size, latest.Size, err)
		}
	}
}

func TestInclusionProof(t *testing.T) {
	s, v := testKey(t, "cardd.example/audit/office-7")
	path, _ := signedLog(t, s, 0)
	kept, _ := ReadCheckpoints(CheckpointsFile(path))
	cp, err := ParseCheckpoint(kept[0].Note, v)
	if err != nil {
		t.Fatal(err)
	}
	proofs, err := Prove(path, "CARD-01-0000002-X", cp)
	if err != nil {
		t.Fatal(err)
	}
	// Issued (2), spoiled (3) and replaced by the reprint (4).
	if len(proofs) != 3 || proofs[0].Seq != 2 || proofs[1].Seq != 3 || proofs[2].Seq != 4 {
		t.Fatalf("%d proofs", len(proofs))
	}
	for _, p := range proofs {
		text := p.Marshal()
		parsed, err := ParseProof(text, v)
		if err != nil {
			t.Fatalf("record %d: %v\n%s", p.Seq, err, text)
		}
		if err := CheckProof(parsed); err != nil {
			t.Fatalf("record %d: %v", p.Seq, err)
		}
		// A changed record, or the proof of another place, fails.
		bad := *parsed
		bad.Line = bytes.Replace(parsed.Line, []byte("CARD-01-0000002-X"), []byte("CARD-01-0000008-X"), 1)
		if err := CheckProof(&bad); err == nil {
			t.Fatalf("record %d: a changed record passes", p.Seq)
		}
		bad = *parsed
		bad.Seq++
		if err := CheckProof(&bad); err == nil {
			t.Fatalf("record %d: the proof passes for record %d", p.Seq, bad.Seq)
		}
		// Another key cannot open the proof's checkpoint.
		_, other := testKey(t, "cardd.example/audit/office-7")
		if _, err := ParseProof(text, other); err == nil {
			t.Fatal("proof opened with another key")
		}
	}
	if proofs, err := Prove(path, "NO-SUCH-SERIAL", cp); err != nil || len(proofs) != 0 {
		t.Fatalf("unknown serial: %d proofs, %v", len(proofs), err)
	}
}

// TestTreeFileRebuilt: the tree file is derived from the records; a
// missing or damaged one is rebuilt, and an existing hash-chained log
// without one (written before the tree) is migrated on Open.
func TestTreeFileRebuilt(t *testing.T) {
	path, _ := writeLog(t) // a plain log, as before checkpoints
	want, err := os.ReadFile(TreeFile(path))
	if err != nil {
		t.Fatal(err)
	}
	if len(want) != int(tlog.StoredHashCount(9))*tlog.HashSize {
		t.Fatalf("tree file of %d bytes", len(want))
	}
	for name, damage := range map[string]func(){
		"missing":   func() { os.Remove(TreeFile(path)) },
		"short":     func() { os.Truncate(TreeFile(path), 100) },
		"corrupted": func() { b := bytes.Clone(want); b[40] ^= 1; os.WriteFile(TreeFile(path), b, 0o600) },
	} {
		t.Run(name, func(t *testing.T) {
			damage()
			s, v := testKey(t, "cardd.example/audit/migrated")
			l, err := OpenWith(path, Options{Signer: s})
			if err != nil {
				t.Fatal(err)
			}
			cp, err := l.Checkpoint(context.Background())
			l.Close()
			if err != nil {
				t.Fatal(err)
			}
			if got, _ := os.ReadFile(TreeFile(path)); !bytes.Equal(got, want) {
				t.Fatal("tree file not rebuilt")
			}
			if _, err := ParseCheckpoint(cp.Note, v); err != nil {
				t.Fatal(err)
			}
			if _, err := VerifyAgainst(path, cp); err != nil {
				t.Fatal(err)
			}
			os.Remove(CheckpointsFile(path))
		})
	}
}

func TestEnsureKey(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "keys", "audit.key")
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	s, vkey, created, err := EnsureKey(path, "cardd.example/audit/office-7", rand.Reader)
	if err != nil || !created {
		t.Fatalf("created %v: %v", created, err)
	}
	v, err := LoadVerifier(path + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	if v.Name() != s.Name() || v.KeyHash() != s.KeyHash() || !strings.HasPrefix(vkey, "cardd.example/audit/office-7+") {
		t.Fatalf("verifier %s %x, signer %s %x", v.Name(), v.KeyHash(), s.Name(), s.KeyHash())
	}
	s2, vkey2, created, err := EnsureKey(path, "ignored", rand.Reader)
	if err != nil || created || s2.KeyHash() != s.KeyHash() || vkey2 != vkey {
		t.Fatalf("second EnsureKey: created %v, %v", created, err)
	}
	os.Chmod(path, 0o640)
	if _, _, err := LoadSigner(path); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("group-readable key: %v", err)
	}
}

func FuzzParseProof(f *testing.F) {
	s, v := testKey(f, "cardd.example/audit/fuzz")
	path := filepath.Join(f.TempDir(), "audit.log")
	l, err := OpenWith(path, Options{Signer: s})
	if err != nil {
		f.Fatal(err)
	}
	for _, r := range sampleRecords() {
		if _, err := l.Append(context.Background(), r); err != nil {
			f.Fatal(err)
		}
	}
	cp, err := l.Checkpoint(context.Background())
	l.Close()
	if err != nil {
		f.Fatal(err)
	}
	proofs, err := Prove(path, "CARD-01-0000001-X", cp)
	if err != nil || len(proofs) == 0 {
		f.Fatal(err)
	}
	good := proofs[0]
	f.Add(good.Marshal())
	f.Add(cp.Note)
	f.Add([]byte(proofHeader + "\nrecord 1\n{}\nproof 0\ncheckpoint\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParseProof(b, v)
		if err != nil {
			return
		}
		if CheckProof(p) == nil {
			// Only the station's own records verify: the same line at
			// the same place of the same tree.
			if p.Seq != good.Seq || !bytes.Equal(p.Line, good.Line) || p.Checkpoint.Root != cp.Root {
				t.Fatalf("a proof that is not the station's verified: %q", b)
			}
		}
		ParseCheckpoint(b, v)
	})
}
