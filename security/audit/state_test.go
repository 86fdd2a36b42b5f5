package audit

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"
)

// stateRecords are n jobs' records as a station writes them: issued,
// then printed (every third job: outcome unknown, then voided) with the
// spool's event time (At), and a reprint now and then.
func stateRecords(n int) []Record {
	t0 := time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC)
	var out []Record
	for i := 1; i <= n; i++ {
		at := t0.Add(time.Duration(i) * time.Minute)
		serial, job := fmt.Sprintf("CARD-01-%07d-X", i), fmt.Sprintf("job-%d", i)
		out = append(out, Record{Event: EventIssued, Serial: serial, Job: job, Template: "t", Printer: "evo1", PayloadHash: hashA})
		switch {
		case i%3 == 0:
			out = append(out, Record{Event: EventOutcomeUnknown, At: at, Serial: serial, Job: job, JobNum: uint64(i), Printer: "evo1", Reason: "crash"},
				Record{Event: EventVoided, At: at.Add(time.Second), Serial: serial, Job: job, Reason: "operator voided"})
		case i%7 == 0:
			out = append(out, Record{Event: EventReprinted, Serial: serial + "R", Replaces: serial, Job: job, Reason: "damaged"},
				Record{Event: EventPrinted, At: at, Serial: serial + "R", Job: job, JobNum: uint64(i), Printer: "evo1"})
		default:
			out = append(out, Record{Event: EventPrinted, At: at, Serial: serial, Job: job, JobNum: uint64(i), Printer: "evo1"})
		}
	}
	return out
}

// appendAll appends recs to the log at path opened with o.
func appendAll(t testing.TB, path string, o Options, recs []Record) {
	t.Helper()
	l, err := OpenWith(path, o)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if r.At.IsZero() {
			_, err = l.Append(context.Background(), r)
		} else {
			_, _, err = l.AppendOnce(context.Background(), r)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
}

// logView is everything an open log derived from its file.
type logView struct {
	seq     uint64
	prev    string
	last    time.Time
	size    int64
	tree    hashes
	denied  []string
	serials map[string]string
	seen    map[eventKey]struct{}
}

func viewOf(l *Log) logView {
	l.mu.Lock()
	defer l.mu.Unlock()
	return logView{l.seq, l.prev, l.last, l.size, slices.Clone(l.tree), slices.Clone(l.denied), maps.Clone(l.serials), maps.Clone(l.seen)}
}

func (v logView) diff(w logView) string {
	var d []string
	if v.seq != w.seq || v.prev != w.prev || !v.last.Equal(w.last) || v.size != w.size {
		d = append(d, fmt.Sprintf("head %d %s %v %d vs %d %s %v %d", v.seq, v.prev, v.last, v.size, w.seq, w.prev, w.last, w.size))
	}
	if !slices.Equal(v.tree, w.tree) {
		d = append(d, fmt.Sprintf("tree of %d vs %d hashes", len(v.tree), len(w.tree)))
	}
	if !slices.Equal(v.denied, w.denied) {
		d = append(d, fmt.Sprintf("deny list %v vs %v", v.denied, w.denied))
	}
	if !maps.Equal(v.serials, w.serials) {
		d = append(d, fmt.Sprintf("serials of %d vs %d jobs", len(v.serials), len(w.serials)))
	}
	if !maps.Equal(v.seen, w.seen) {
		d = append(d, fmt.Sprintf("%d vs %d identities", len(v.seen), len(w.seen)))
	}
	return strings.Join(d, "; ")
}

// fullView opens the log at path the full way (no state) and returns
// what it derived.
func fullView(t testing.TB, path string) logView {
	t.Helper()
	l, err := OpenWith(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return viewOf(l)
}

// logBuffer is a slog handler's output for checking warnings.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (lb *logBuffer) Write(p []byte) (int, error) {
	lb.mu.Lock()
	defer lb.mu.Unlock()
	return lb.b.Write(p)
}

func (lb *logBuffer) String() string {
	lb.mu.Lock()
	defer lb.mu.Unlock()
	return lb.b.String()
}

// TestStateMatchesFullOpen: the state file written while appending and
// at Close holds exactly what a full open derives (every field); a log
// opened from it — with records appended after it, by a process that
// kept no state — is the same log as a full open gives, takes only the
// tail on trust-free reading, and VerifyOpened passes and writes a state
// covering the whole log.
func TestStateMatchesFullOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	recs := stateRecords(300)
	appendAll(t, path, Options{State: true, StateEvery: 100}, recs[:500])
	data, err := os.ReadFile(StateFile(path))
	if err != nil {
		t.Fatal(err)
	}
	st, err := decodeState(data)
	if err != nil {
		t.Fatal(err)
	}
	full := fullView(t, path)
	var head [32]byte
	hex.Decode(head[:], []byte(full.prev))
	if st.Records != full.seq || st.Size != full.size || st.Head != head || !st.Last.Equal(full.last) || st.TreeSum != treeSum(full.tree) ||
		!slices.Equal(st.Denied, full.denied) || !maps.Equal(st.Serials, full.serials) || !maps.Equal(st.Seen, full.seen) {
		t.Fatalf("state %d records %d bytes, %d denied, %d serials, %d identities; full open %d records %d bytes, %d, %d, %d",
			st.Records, st.Size, len(st.Denied), len(st.Serials), len(st.Seen), full.seq, full.size, len(full.denied), len(full.serials), len(full.seen))
	}
	if len(full.denied) == 0 || len(full.seen) == 0 || len(full.serials) == 0 {
		t.Fatalf("the sample has an empty index: %d %d %d", len(full.denied), len(full.seen), len(full.serials))
	}
	if !bytes.Equal(encodeState(st), data) {
		t.Fatal("decoding and encoding the state file changes it")
	}

	// Records appended without the state: the state covers a prefix.
	appendAll(t, path, Options{}, recs[500:])
	full = fullView(t, path)
	var lb logBuffer
	l, err := OpenWith(path, Options{State: true, StateEvery: 100, Logger: slog.New(slog.NewTextHandler(&lb, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if l.claim == nil || l.claim.records != 500 {
		t.Fatalf("not opened from the state covering 500 records: %+v (log: %s)", l.claim, lb.String())
	}
	if ok, _ := l.Verified(); ok {
		t.Fatal("verified before VerifyOpened")
	}
	if d := viewOf(l).diff(full); d != "" {
		t.Fatalf("opened from the state, the log differs from a full open: %s", d)
	}
	// The log works as one opened whole: a repeat is found in the state's
	// identities, a new record continues the chain.
	if _, appended, err := l.AppendOnce(t.Context(), recs[1]); err != nil || appended {
		t.Fatalf("repeat of record 2 appended=%v err=%v", appended, err)
	}
	if s, ok := l.SerialOf("job-10"); !ok || s != "CARD-01-0000010-X" {
		t.Fatalf("SerialOf(job-10) = %q %v", s, ok)
	}
	if err := l.VerifyOpened(t.Context()); err != nil {
		t.Fatal(err)
	}
	if ok, err := l.Verified(); !ok || err != nil {
		t.Fatalf("Verified %v %v", ok, err)
	}
	if _, err := l.Voided(t.Context(), "CARD-01-0009999-X", "lost"); err != nil {
		t.Fatal(err)
	}
	data, _ = os.ReadFile(StateFile(path))
	if st, err := decodeState(data); err != nil || st.Records != uint64(len(recs)) {
		t.Fatalf("VerifyOpened did not write a state of the whole log: %v %v", st, err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := VerifyFile(path); err != nil {
		t.Fatal(err)
	}
	full = fullView(t, path)
	l, err = OpenWith(path, Options{State: true})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if l.claim == nil || l.claim.records != full.seq {
		t.Fatalf("Close did not write a state of the whole log: %+v, %d records", l.claim, full.seq)
	}
	if d := viewOf(l).diff(full); d != "" {
		t.Fatal(d)
	}
}

// reencode rewrites a state file with change applied to its fields and a
// valid checksum.
func reencode(t *testing.T, path string, change func(*openState)) {
	t.Helper()
	data, err := os.ReadFile(StateFile(path))
	if err != nil {
		t.Fatal(err)
	}
	st, err := decodeState(data)
	if err != nil {
		t.Fatal(err)
	}
	change(st)
	if err := os.WriteFile(StateFile(path), encodeState(st), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestStateDamageIgnored: a state file that is torn, damaged, of another
// version, or does not match the log or its tree file is not used — the
// reason is logged and the log is opened the full way, giving the same
// log as without a state file.
func TestStateDamageIgnored(t *testing.T) {
	recs := stateRecords(60)
	for _, tc := range []struct {
		name   string
		damage func(t *testing.T, path string)
		reason string
	}{
		{"torn", func(t *testing.T, path string) {
			b, _ := os.ReadFile(StateFile(path))
			os.WriteFile(StateFile(path), b[:len(b)/2], 0o600)
		}, "checksum mismatch"},
		{"flipped byte", func(t *testing.T, path string) {
			b, _ := os.ReadFile(StateFile(path))
			b[len(b)/2] ^= 0x10
			os.WriteFile(StateFile(path), b, 0o600)
		}, "checksum mismatch"},
		{"empty", func(t *testing.T, path string) { os.WriteFile(StateFile(path), nil, 0o600) }, "not an audit open state file"},
		{"other version", func(t *testing.T, path string) {
			b, _ := os.ReadFile(StateFile(path))
			body := b[:len(b)-4]
			body[len(stateMagic)] = stateVersion + 1
			os.WriteFile(StateFile(path), binary.LittleEndian.AppendUint32(body, crc32.Checksum(body, castagnoli)), 0o600)
		}, "version 2"},
		{"log shorter", func(t *testing.T, path string) {
			b, _ := os.ReadFile(path)
			lines := bytes.SplitAfter(b, []byte("\n"))
			os.WriteFile(path, bytes.Join(lines[:len(lines)-20], nil), 0o600)
		}, "the state covers"},
		{"log replaced", func(t *testing.T, path string) {
			// Another log, longer than the first.
			os.Remove(path)
			os.Remove(TreeFile(path))
			appendAll(t, path, Options{}, append(recs, recs...))
		}, "hashes to|is not the end of a record|no record ends"},
		{"covered bytes not at a record's end", func(t *testing.T, path string) {
			reencode(t, path, func(st *openState) { st.Size -= 3 })
		}, "is not the end of a record"},
		{"record count", func(t *testing.T, path string) {
			reencode(t, path, func(st *openState) { st.Records++ })
		}, "is not record"},
		{"tree file short", func(t *testing.T, path string) {
			b, _ := os.ReadFile(TreeFile(path))
			os.WriteFile(TreeFile(path), b[:len(b)/2], 0o600)
		}, "tree file"},
		{"tree file changed", func(t *testing.T, path string) {
			b, _ := os.ReadFile(TreeFile(path))
			b[100] ^= 1
			os.WriteFile(TreeFile(path), b, 0o600)
		}, "tree file's hashes"},
		{"tree hash", func(t *testing.T, path string) {
			reencode(t, path, func(st *openState) { st.TreeSum[0] ^= 1 })
		}, "tree file's hashes"},
		{"unknown event", func(t *testing.T, path string) {
			reencode(t, path, func(st *openState) { st.Seen[eventKey{event: "minted", at: -1}] = struct{}{} })
		}, `unknown event`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "audit.log")
			appendAll(t, path, Options{State: true}, recs[:len(recs)-10])
			appendAll(t, path, Options{}, recs[len(recs)-10:])
			if _, err := os.Stat(StateFile(path)); err != nil {
				t.Fatal(err)
			}
			tc.damage(t, path)
			var lb logBuffer
			l, err := OpenWith(path, Options{State: true, Logger: slog.New(slog.NewTextHandler(&lb, nil))})
			if err != nil {
				t.Fatal(err)
			}
			got := viewOf(l)
			claimed := l.claim
			l.Close()
			if claimed != nil {
				t.Fatalf("opened from the damaged state (%+v); log: %s", claimed, lb.String())
			}
			if out := lb.String(); !strings.Contains(out, "audit state: not used") || !regexp.MustCompile(tc.reason).MatchString(out) {
				t.Fatalf("log %q, want the reason %q", out, tc.reason)
			}
			os.Remove(StateFile(path))
			if d := got.diff(fullView(t, path)); d != "" {
				t.Fatalf("not the full open: %s", d)
			}
		})
	}
}

// TestStateTamperCaughtInBackground: what the open takes on trust — the
// records inside the covered prefix and the state's own fields — is
// checked by VerifyOpened: a record changed inside the prefix (the chain
// breaks there, the boundary is intact) or a state file rewritten with a
// serial taken off its deny list (a valid checksum) opens, and then fails
// VerifyOpened; the state file is removed, and the next open, the full
// way, refuses the changed log.
func TestStateTamperCaughtInBackground(t *testing.T) {
	recs := stateRecords(60)
	setup := func(t *testing.T) string {
		path := filepath.Join(t.TempDir(), "audit.log")
		appendAll(t, path, Options{State: true}, recs[:len(recs)-10])
		appendAll(t, path, Options{}, recs[len(recs)-10:])
		return path
	}
	t.Run("record in the prefix", func(t *testing.T) {
		path := setup(t)
		b, _ := os.ReadFile(path)
		changed := bytes.Replace(b, []byte(`"reason":"operator voided"`), []byte(`"reason":"operator voidee"`), 1)
		if bytes.Equal(changed, b) {
			t.Fatal("nothing changed")
		}
		os.WriteFile(path, changed, 0o600)
		l, err := OpenWith(path, Options{State: true})
		if err != nil {
			t.Fatalf("the open itself reads only the tail: %v", err)
		}
		defer l.Close()
		if l.claim == nil {
			t.Fatal("not opened from the state")
		}
		err = l.VerifyOpened(t.Context())
		var ce *ChainError
		if !errors.Is(err, ErrOpenState) || !errors.As(err, &ce) || ce.Seq != 8 {
			t.Fatalf("VerifyOpened: %v", err)
		}
		if ok, verr := l.Verified(); ok || verr == nil {
			t.Fatalf("Verified %v %v", ok, verr)
		}
		if _, err := os.Stat(StateFile(path)); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("state file kept: %v", err)
		}
		l.Close()
		if _, err := OpenWith(path, Options{State: true}); err == nil || !errors.As(err, &ce) {
			t.Fatalf("the next open accepts the changed log: %v", err)
		}
	})
	t.Run("state file rewritten", func(t *testing.T) {
		path := setup(t)
		var dropped string
		reencode(t, path, func(st *openState) { dropped, st.Denied = st.Denied[0], st.Denied[1:] })
		l, err := OpenWith(path, Options{State: true})
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		if l.claim == nil || l.DenyList(time.Now()).Contains(dropped) {
			t.Fatalf("not opened from the rewritten state (claim %v)", l.claim)
		}
		if err := l.VerifyOpened(t.Context()); !errors.Is(err, ErrOpenState) || !strings.Contains(err.Error(), "open state file is not what") {
			t.Fatalf("VerifyOpened: %v", err)
		}
		// No state is written from an unverified log, at Close either.
		l.Close()
		if _, err := os.Stat(StateFile(path)); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("state file: %v", err)
		}
		l, err = OpenWith(path, Options{State: true})
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		if l.claim != nil || !l.DenyList(time.Now()).Contains(dropped) {
			t.Fatal("the full open does not deny the serial")
		}
	})
}

// FuzzStateDecode: the state file decoder never panics, and what it
// accepts is the canonical encoding of what it returns.
func FuzzStateDecode(f *testing.F) {
	path := filepath.Join(f.TempDir(), "audit.log")
	appendAll(f, path, Options{State: true}, stateRecords(20))
	good, err := os.ReadFile(StateFile(path))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(good[:len(good)-1])
	f.Add([]byte(stateMagic))
	f.Add(good[:len(good)-4]) // a body: the checksum is added below
	f.Fuzz(func(t *testing.T, b []byte) {
		// As given, and as a body with its checksum (so that the fuzzer
		// reaches past the checksum).
		for _, in := range [][]byte{b, binary.LittleEndian.AppendUint32(slices.Clip(b), crc32.Checksum(b, castagnoli))} {
			st, err := decodeState(in)
			if err != nil {
				continue
			}
			if out := encodeState(st); !bytes.Equal(out, in) {
				t.Fatalf("accepted a non-canonical state:\n%x\n%x", in, out)
			}
		}
	})
}

// TestStateTreeTailRebuilt: the tree file after the prefix a state covers
// is written without fsync, so a crash may leave it short; a log opened
// from its state rebuilds that part and is the same log as a full open.
func TestStateTreeTailRebuilt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	recs := stateRecords(60)
	appendAll(t, path, Options{State: true}, recs[:len(recs)-10])
	appendAll(t, path, Options{}, recs[len(recs)-10:])
	full := fullView(t, path)
	data, _ := os.ReadFile(StateFile(path))
	st, err := decodeState(data)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(TreeFile(path))
	cut := int(tlog.StoredHashCount(int64(st.Records)))*tlog.HashSize + 40
	if err := os.WriteFile(TreeFile(path), b[:cut], 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := OpenWith(path, Options{State: true})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if l.claim == nil {
		t.Fatal("not opened from the state")
	}
	if d := viewOf(l).diff(full); d != "" {
		t.Fatal(d)
	}
	if got, _ := os.ReadFile(TreeFile(path)); !bytes.Equal(got, hashBytes(full.tree)) {
		t.Fatalf("tree file of %d bytes, want %d", len(got), len(full.tree)*tlog.HashSize)
	}
}
