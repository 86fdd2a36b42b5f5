package audit

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// TestLogDenyListMatchesFile: the deny list the log keeps in memory, as
// records are appended and after the log is opened again, equals the one
// DenyList derives from the file, for a log with every kind of event
// (including a spoiled blank without a serial, a repeated serial and a
// reprint).
func TestLogDenyListMatchesFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a.log")
	l, err := Open(path, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	at := time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC)
	hash := "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
	steps := []func() error{
		func() error { _, err := l.Issued(ctx, "S-1", "J-1", "t", "p", "qr1"); return err },
		func() error { _, err := l.Printed(ctx, "S-1", "J-1", "t", "p"); return err },
		func() error { _, err := l.Issued(ctx, "S-2", "J-2", "t", "p", "qr2"); return err },
		func() error { _, err := l.OutcomeUnknown(ctx, "S-2", "J-2", "p", "crash"); return err },
		func() error { _, err := l.Voided(ctx, "S-2", "operator voided"); return err },
		func() error { _, err := l.Spoiled(ctx, "", "p", "stray card rejected"); return err },
		func() error { _, err := l.Spoiled(ctx, "S-3", "p", "misfeed"); return err },
		func() error { _, err := l.Reprinted(ctx, "S-4", "S-1", "J-1", "damaged"); return err },
		func() error { _, err := l.Operator(ctx, "ann", "confirm", "S-4", "looked"); return err },
		func() error { _, err := l.Voided(ctx, "S-3", "again"); return err },
		func() error {
			_, _, err := l.AppendOnce(ctx, Record{Event: EventSpoiled, Serial: "S-5", Job: "J-5", At: at, Reason: "jam"})
			return err
		},
		func() error {
			_, err := l.Append(ctx, Record{Event: EventIssued, Serial: "S-6", Job: "J-6", InputHash: hash})
			return err
		},
	}
	check := func(step int, l *Log) {
		t.Helper()
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		want, err := DenyList(f, at)
		if err != nil {
			t.Fatal(err)
		}
		got := l.DenyList(at)
		if !slices.Equal(got.Serials, want.Serials) || !got.Generated.Equal(want.Generated) {
			t.Fatalf("after step %d: the log's deny list %q, the file's %q", step, got.Serials, want.Serials)
		}
	}
	check(0, l)
	for i, step := range steps {
		if err := step(); err != nil {
			t.Fatalf("step %d: %v", i+1, err)
		}
		check(i+1, l)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l, err = Open(path, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	check(len(steps)+1, l)
	if got, want := l.DenyList(at).Serials, []string{"S-1", "S-2", "S-3", "S-5"}; !slices.Equal(got, want) {
		t.Fatalf("deny list %q, want %q", got, want)
	}
}
