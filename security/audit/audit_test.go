package audit

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cardd/cardd/internal/benchcpu"
	"github.com/cardd/cardd/security"
)

type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { c.t = c.t.Add(time.Second); return c.t }

var hashA = security.PayloadHash("A")

func sampleRecords() []Record {
	return []Record{
		{Event: EventIssued, Serial: "CARD-01-0000001-X", Job: "job-1", Template: "permanent", Printer: "evo1", PayloadHash: hashA},
		{Event: EventIssued, Serial: "CARD-01-0000002-X", Job: "job-2", Template: "permanent", Printer: "evo1", PayloadHash: hashA},
		{Event: EventSpoiled, Serial: "CARD-01-0000002-X", Printer: "evo1", Reason: "ribbon wrinkle"},
		{Event: EventReprinted, Serial: "CARD-01-0000003-X", Replaces: "CARD-01-0000002-X", Job: "job-2", Reason: "spoiled"},
		{Event: EventVoided, Serial: "CARD-01-0000009-X", Reason: "lost in the post"},
		{Event: EventOperator, Operator: "op7", Action: "confirm-printed", Serial: "CARD-01-0000001-X"},
		{Event: EventPrinted, Serial: "CARD-01-0000001-X", Printer: "evo1", JobNum: 1},
		{Event: EventIssued, Serial: "CARD-01-0000004-X", Job: "job-4", JobNum: 4, InputHash: hashA},
		{Event: EventOutcomeUnknown, Serial: "CARD-01-0000004-X", Printer: "evo1"},
	}
}

func writeLog(t testing.TB) (string, []Record) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "audit.log")
	clk := &fakeClock{t: time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)}
	l, err := Open(path, clk.now, nil)
	if err != nil {
		t.Fatal(err)
	}
	var out []Record
	for _, r := range sampleRecords() {
		got, err := l.Append(context.Background(), r)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, got)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return path, out
}

func TestAppendVerifyReopen(t *testing.T) {
	path, recs := writeLog(t)
	st, err := VerifyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Records != uint64(len(recs)) || st.Events[EventIssued] != 3 {
		t.Fatalf("stats %+v", st)
	}
	l, err := Open(path, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(path, nil, nil); err == nil {
		t.Fatal("second Open of the same log succeeded")
	}
	n, head := l.Head()
	if n != uint64(len(recs)) || head != st.Head {
		t.Fatalf("reopened head %d %s, want %d %s", n, head, len(recs), st.Head)
	}
	r, err := l.Append(context.Background(), Record{Event: EventVoided, Serial: "CARD-01-0000001-X", Reason: "replaced"})
	if err != nil || r.Seq != n+1 || r.Prev != head {
		t.Fatalf("append after reopen: %+v, %v", r, err)
	}
	l.Close()
	if _, err := VerifyFile(path); err != nil {
		t.Fatal(err)
	}
}

func TestAppendRejects(t *testing.T) {
	l, err := Open(filepath.Join(t.TempDir(), "a.log"), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for _, r := range []Record{
		{Event: "exploded", Serial: "S"},
		{Event: EventIssued, Serial: "S"},
		{Event: EventIssued, Serial: "S", PayloadHash: "not-hex"},
		{Event: EventIssued, Serial: "S", InputHash: "abcd"},
		{Event: EventPrinted},
		{Event: EventReprinted, Serial: "S"},
		{Event: EventVoided},
		{Event: EventSpoiled}, // neither serial nor reason
		{Event: EventOperator},
		{Event: EventVoided, Serial: "S", Reason: "two\nlines"},
		{Event: EventVoided, Serial: "S", Reason: strings.Repeat("x", MaxField+1)},
	} {
		if _, err := l.Append(context.Background(), r); err == nil {
			t.Errorf("Append(%+v) accepted", r)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := l.Append(ctx, Record{Event: EventVoided, Serial: "S"}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled Append: %v", err)
	}
}

// TestTamperNamesFirstBrokenRecord changes the log in several ways and
// checks that verification names the first record affected.
func TestTamperNamesFirstBrokenRecord(t *testing.T) {
	path, _ := writeLog(t)
	orig, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(orig), "\n")
	lines = lines[:len(lines)-1] // trailing empty piece
	tests := []struct {
		name     string
		edit     func(l []string) []string
		wantLine int
	}{
		{"changed serial", func(l []string) []string {
			l[2] = strings.Replace(l[2], "0000002", "0000008", 1)
			return l
		}, 4}, // record 3 still parses and its own prev is right; record 4's prev breaks
		{"removed record", func(l []string) []string { return append(l[:1], l[2:]...) }, 2},
		{"swapped records", func(l []string) []string { l[1], l[2] = l[2], l[1]; return l }, 2},
		{"garbage line", func(l []string) []string { l[3] = "{oops\n"; return l }, 4},
		{"re-encoded with spaces", func(l []string) []string {
			l[0] = strings.Replace(l[0], `"seq":1,`, `"seq": 1,`, 1)
			return l
		}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := tt.edit(append([]string(nil), lines...))
			_, err := Verify(strings.NewReader(strings.Join(l, "")))
			var ce *ChainError
			if !errors.As(err, &ce) {
				t.Fatalf("err %v, want *ChainError", err)
			}
			if ce.Line != tt.wantLine {
				t.Fatalf("first broken line %d (%v), want %d", ce.Line, ce, tt.wantLine)
			}
		})
	}
}

func TestTornTailIsCut(t *testing.T) {
	path, recs := writeLog(t)
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`{"seq":99,"time":"2026-`)
	f.Close()
	l, err := Open(path, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := l.Head(); n != uint64(len(recs)) {
		t.Fatalf("head %d after torn tail, want %d", n, len(recs))
	}
	if _, err := l.Append(context.Background(), Record{Event: EventVoided, Serial: "S"}); err != nil {
		t.Fatal(err)
	}
	l.Close()
	if _, err := VerifyFile(path); err != nil {
		t.Fatal(err)
	}
}

func TestDenyListExport(t *testing.T) {
	path, _ := writeLog(t)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	d, err := DenyList(bytes.NewReader(b), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"CARD-01-0000002-X", "CARD-01-0000009-X"}
	if strings.Join(d.Serials, ",") != strings.Join(want, ",") {
		t.Fatalf("deny list %v, want %v", d.Serials, want)
	}
}

// TestSpoiledWithoutSerial: a spoiled blank whose serial is unknown (a
// stray card left in a printer) is recorded with its reason and stays off
// the deny list.
func TestSpoiledWithoutSerial(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.log")
	l, err := Open(path, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := l.Spoiled(ctx, "", "evo1", "stray card rejected"); err != nil {
		t.Fatalf("spoiled without serial: %v", err)
	}
	if _, err := l.Spoiled(ctx, "CARD-01-0000004-X", "evo1", "stray card rejected"); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	st, err := Verify(bytes.NewReader(b))
	if err != nil || st.Events[EventSpoiled] != 2 {
		t.Fatalf("verify: %+v, %v", st, err)
	}
	d, err := DenyList(bytes.NewReader(b), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(d.Serials, ",") != "CARD-01-0000004-X" {
		t.Errorf("deny list %q, want only the known serial", d.Serials)
	}
}

func FuzzRead(f *testing.F) {
	path, _ := writeLog(f)
	if b, err := os.ReadFile(path); err == nil {
		f.Add(b)
	}
	f.Add([]byte(`{"seq":1,"time":"2026-01-01T00:00:00Z","event":"voided","serial":"S","prev":"` + GenesisHash + `"}` + "\n"))
	f.Add([]byte("\n\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := Verify(bytes.NewReader(b))
		if err != nil {
			var ce *ChainError
			if !errors.As(err, &ce) || ce.Line < 1 {
				t.Fatalf("error %v is not a *ChainError with a line", err)
			}
			return
		}
		// A log that verifies must export without error.
		if _, err := DenyList(bytes.NewReader(b), time.Time{}); err != nil {
			t.Fatalf("verified log fails export: %v", err)
		}
		if st.Records > 0 && len(st.Head) != 64 {
			t.Fatalf("head %q", st.Head)
		}
	})
}

func BenchmarkAppend(b *testing.B) {
	l, err := Open(filepath.Join(b.TempDir(), "bench.log"), nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	r := sampleRecords()[0]
	ctx := context.Background()
	b.ReportAllocs()
	start := benchcpu.Process()
	for b.Loop() {
		if _, err := l.Append(ctx, r); err != nil {
			b.Fatal(err)
		}
	}
	benchcpu.ReportProcess(b, start)
}
