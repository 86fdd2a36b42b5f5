package spool

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/cardd/cardd/printer"
)

func journalBytes(t testing.TB, n int) ([]byte, []int) {
	t.Helper()
	var buf bytes.Buffer
	var ends []int
	for i := 1; i <= n; i++ {
		r := Record{Seq: uint64(i), Time: time.Date(2026, 1, 1, 0, 0, i, 0, time.UTC), Job: uint64(i), ID: "J-1", State: StateProcessing, Sub: SubPrinting, Serial: "S1", Printer: "p1", Outcome: printer.OutcomeUnknown}
		line, err := encodeRecord(&r)
		if err != nil {
			t.Fatal(err)
		}
		buf.Write(line)
		ends = append(ends, buf.Len())
	}
	return buf.Bytes(), ends
}

func TestReadJournal(t *testing.T) {
	t.Parallel()
	data, ends := journalBytes(t, 3)
	flip := func(off int) []byte {
		b := bytes.Clone(data)
		b[off] ^= 0x20
		return b
	}
	tests := []struct {
		name    string
		data    []byte
		recs    int
		good    int
		corrupt bool
	}{
		{"empty", nil, 0, 0, false},
		{"intact", data, 3, ends[2], false},
		{"torn mid-record", data[:ends[2]-7], 2, ends[1], false},
		{"torn before newline", data[:ends[2]-1], 2, ends[1], false},
		{"torn in checksum", data[:ends[1]+3], 2, ends[1], false},
		{"trailing NULs", append(bytes.Clone(data[:ends[1]]), make([]byte, 300)...), 2, ends[1], false},
		{"bad checksum last", flip(ends[1] + 20), 2, ends[1], false},
		{"bad checksum last then NULs", append(flip(ends[1]+20), make([]byte, 10)...), 2, ends[1], false},
		{"bad checksum middle", flip(ends[0] + 20), 1, ends[0], true},
		{"bad first", flip(3), 0, 0, true},
		{"garbage line middle", append(append(bytes.Clone(data[:ends[0]]), "hello\n"...), data[ends[0]:]...), 1, ends[0], true},
		{"sequence gap", append(bytes.Clone(data[:ends[0]]), data[ends[1]:]...), 1, ends[0], true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			recs, good, err := ReadJournal(bytes.NewReader(tc.data))
			if tc.corrupt != errors.Is(err, ErrCorrupt) {
				t.Fatalf("err = %v, corrupt %v", err, tc.corrupt)
			}
			if !tc.corrupt && err != nil {
				t.Fatal(err)
			}
			if len(recs) != tc.recs || good != int64(tc.good) {
				t.Errorf("got %d records, good %d; want %d, %d", len(recs), good, tc.recs, tc.good)
			}
			for i, r := range recs {
				if r.Seq != uint64(i+1) || r.Serial != "S1" || r.Outcome != printer.OutcomeUnknown {
					t.Errorf("record %d = %+v", i, r)
				}
			}
		})
	}
}

func TestOpenJournalTruncatesTornTail(t *testing.T) {
	t.Parallel()
	data, ends := journalBytes(t, 3)
	path := filepath.Join(t.TempDir(), "journal")
	if err := os.WriteFile(path, data[:ends[2]-5], 0o600); err != nil {
		t.Fatal(err)
	}
	j, recs, err := openJournal(path, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 {
		t.Fatalf("%d records", len(recs))
	}
	if err := j.append(&Record{Job: 9, State: StatePending}); err != nil {
		t.Fatal(err)
	}
	j.Close()
	f, _ := os.Open(path)
	defer f.Close()
	recs, good, err := ReadJournal(f)
	if err != nil || len(recs) != 3 || recs[2].Job != 9 || recs[2].Seq != 3 {
		t.Fatalf("after append: %v %d %+v", err, good, recs)
	}
	// A corrupt middle refuses to open: the operator must look.
	b, _ := os.ReadFile(path)
	b[5] ^= 1
	os.WriteFile(path, b, 0o600)
	if _, _, err := openJournal(path, true); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("open corrupt journal: %v", err)
	}
}

func FuzzReadJournal(f *testing.F) {
	data, ends := journalBytes(f, 3)
	f.Add(data)
	f.Add(data[:ends[1]+5])
	f.Add([]byte("00000000 {}\n"))
	f.Add(append(bytes.Clone(data), 0, 0, 0))
	f.Fuzz(func(t *testing.T, b []byte) {
		recs, good, err := ReadJournal(bytes.NewReader(b))
		if good < 0 || good > int64(len(b)) {
			t.Fatalf("good %d outside 0..%d", good, len(b))
		}
		for i, r := range recs {
			if r.Seq != uint64(i+1) {
				t.Fatalf("record %d has seq %d", i, r.Seq)
			}
		}
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error not ErrCorrupt: %v", err)
			}
			return
		}
		// The intact prefix reads back to the same records, cleanly.
		again, good2, err := ReadJournal(bytes.NewReader(b[:good]))
		if err != nil || good2 != good || len(again) != len(recs) {
			t.Fatalf("prefix re-read: %v, good %d vs %d, %d vs %d records", err, good2, good, len(again), len(recs))
		}
	})
}

func TestLongReasonClipped(t *testing.T) {
	t.Parallel()
	e := newEnv(t, PolicyRetryJob)
	e.submit("LR-1", nil)
	if err := e.s.Rescan(context.Background()); err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("é", 100<<10) // 200 KiB of reason
	if err := e.s.Hold(context.Background(), "LR-1", long); err != nil {
		t.Fatal(err)
	}
	e.crash() // the journal must still read back
	j := e.wantState("LR-1", StateHeld, "held by operator")
	if len(j.Reason) > maxReasonBytes+4 || !utf8.ValidString(j.Reason) {
		t.Errorf("reason of %d bytes, valid UTF-8 %v", len(j.Reason), utf8.ValidString(j.Reason))
	}
}
