package audit

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestAppendOnceAcrossReopen: an event delivered again (same event,
// serial, job and time) is appended once, within one opening of the log
// and after a crash-style reopen, whose index is rebuilt from the file.
func TestAppendOnceAcrossReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "audit.log")
	clk := &fakeClock{t: time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)}
	at := time.Date(2026, 11, 27, 9, 59, 58, 123456789, time.FixedZone("CET", 3600))
	printed := Record{Event: EventPrinted, Serial: "CARD-01-0000001-X", Job: "job-1", Printer: "evo1", At: at}
	unknown := Record{Event: EventOutcomeUnknown, Serial: "CARD-01-0000002-X", Job: "job-2", Printer: "evo1", Reason: "usb lost", At: at}

	l, err := Open(path, clk.now, nil)
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name string
		r    Record
		want bool
	}{
		{"printed", printed, true},
		{"printed again", printed, false},
		{"same time, other kind", unknown, true},
		{"printed at another time", func() Record { r := printed; r.At = at.Add(time.Nanosecond); return r }(), true},
		{"printed, other job", func() Record { r := printed; r.Job = "job-9"; return r }(), true},
	}
	for _, s := range steps {
		_, ok, err := l.AppendOnce(ctx, s.r)
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if ok != s.want {
			t.Errorf("%s: appended %v, want %v", s.name, ok, s.want)
		}
	}
	// A crash: the file is left as it is; the next run opens it again
	// and the spool delivers the unacknowledged events once more.
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l, err = Open(path, clk.now, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for _, r := range []Record{printed, unknown} {
		r.At = r.At.In(time.UTC) // the same instant read back from a journal
		if _, ok, err := l.AppendOnce(ctx, r); err != nil || ok {
			t.Errorf("%s after reopen: appended %v, err %v; want a no-op", r.Event, ok, err)
		}
	}
	if _, ok, err := l.AppendOnce(ctx, Record{Event: EventSpoiled, Serial: "CARD-01-0000003-X", Job: "job-3", At: at}); err != nil || !ok {
		t.Errorf("new event after reopen: appended %v, err %v", ok, err)
	}
	if n, _ := l.Head(); n != 5 {
		t.Errorf("log holds %d records, want 5", n)
	}
	if _, _, err := l.AppendOnce(ctx, Record{Event: EventPrinted, Serial: "S", Job: "j"}); err == nil {
		t.Error("AppendOnce without At accepted")
	}
	st, err := VerifyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Events[EventPrinted] != 3 || st.Events[EventOutcomeUnknown] != 1 || st.Events[EventSpoiled] != 1 {
		t.Errorf("events %v", st.Events)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `"at":"2026-11-27T08:59:58.123456789Z"`) {
		t.Errorf("event time not recorded in UTC to the nanosecond:\n%s", data)
	}
}

// TestEventHelpersAndSerialOf: Printed and OutcomeUnknown write their own
// event kinds, and SerialOf follows each job's latest issued or printed
// serial, also after a reopen.
func TestEventHelpersAndSerialOf(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "audit.log")
	clk := &fakeClock{t: time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)}
	l, err := Open(path, clk.now, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Issued(ctx, "CARD-01-0000001-X", "job-1", "permanent", "evo1", "QR"); err != nil {
		t.Fatal(err)
	}
	r, err := l.Printed(ctx, "CARD-01-0000001-X", "job-1", "permanent", "evo1")
	if err != nil || r.Event != EventPrinted {
		t.Fatalf("Printed: %+v, %v", r, err)
	}
	r, err = l.OutcomeUnknown(ctx, "CARD-01-0000002-X", "job-2", "evo1", "usb lost")
	if err != nil || r.Event != EventOutcomeUnknown || r.Reason != "usb lost" {
		t.Fatalf("OutcomeUnknown: %+v, %v", r, err)
	}
	if _, err := l.Issued(ctx, "CARD-01-0000003-X", "job-1", "permanent", "evo1", "QR2"); err != nil {
		t.Fatal(err)
	}
	check := func(when string) {
		t.Helper()
		for _, tc := range []struct{ job, want string }{{"job-1", "CARD-01-0000003-X"}, {"job-2", ""}, {"nope", ""}} {
			got, ok := l.SerialOf(tc.job)
			if got != tc.want || ok != (tc.want != "") {
				t.Errorf("%s: SerialOf(%s) = %q, %v; want %q", when, tc.job, got, ok, tc.want)
			}
		}
	}
	check("open")
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if l, err = Open(path, clk.now, nil); err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	check("reopened")
}

// BenchmarkAppendOnce measures an idempotent append (fsync included) and
// a repeat that the index turns away.
func BenchmarkAppendOnce(b *testing.B) {
	ctx := context.Background()
	l, err := Open(filepath.Join(b.TempDir(), "audit.log"), nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	at := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	b.Run("new", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			i++
			if _, _, err := l.AppendOnce(ctx, Record{Event: EventPrinted, Serial: "CARD-01-0000001-X", Job: "job-1", Printer: "evo1", At: at.Add(time.Duration(i))}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("repeat", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, ok, err := l.AppendOnce(ctx, Record{Event: EventPrinted, Serial: "CARD-01-0000001-X", Job: "job-1", Printer: "evo1", At: at.Add(1)}); err != nil || ok {
				b.Fatal(ok, err)
			}
		}
	})
}

// BenchmarkOpen10k measures opening a 10,000-record log: chain
// verification plus building the AppendOnce and SerialOf indexes.
func BenchmarkOpen10k(b *testing.B) {
	ctx := context.Background()
	path := filepath.Join(b.TempDir(), "audit.log")
	l, err := Open(path, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	at := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	for i := range 10000 {
		if _, _, err := l.AppendOnce(ctx, Record{Event: EventPrinted, Serial: fmt.Sprintf("CARD-01-%07d-X", i), Job: fmt.Sprintf("job-%d", i), At: at.Add(time.Duration(i))}); err != nil {
			b.Fatal(err)
		}
	}
	l.Close()
	b.ReportAllocs()
	for b.Loop() {
		l, err := Open(path, nil, nil)
		if err != nil {
			b.Fatal(err)
		}
		l.Close()
	}
}
