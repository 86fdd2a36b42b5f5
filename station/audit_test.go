package station

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cardd/cardd/security"
	"github.com/cardd/cardd/security/audit"
	"github.com/cardd/cardd/spool"
)

// openAuditAdapter opens the audit log at path behind the daemon's
// adapter, as Open does.
func openAuditAdapter(t *testing.T, path, denyPath string, now func() time.Time) *auditLog {
	t.Helper()
	al, err := audit.Open(path, now, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &auditLog{log: al, path: path, denyPath: denyPath, now: now, logger: slog.New(slog.DiscardHandler)}
}

// TestAuditAdapterKindsAndRepeats: each spool event becomes the audit
// record of its own kind (not an operator record), a printed reprint also
// records what it replaces, and a crash-style second delivery of every
// event (after the log is closed and opened again, as after a restart)
// appends nothing.
func TestAuditAdapterKindsAndRepeats(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path, denyPath := filepath.Join(dir, "audit.log"), filepath.Join(dir, "deny-list.json")
	clock := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	now := func() time.Time { clock = clock.Add(time.Millisecond); return clock }
	at := func(s int) time.Time { return time.Date(2026, 11, 27, 9, 0, s, 500, time.UTC) }

	a := openAuditAdapter(t, path, denyPath, now)
	// The composer's issued records, as in the daemon.
	for _, is := range []struct{ serial, job string }{
		{"DEMO-DEMO-0000001-A", "job-1"}, {"DEMO-DEMO-0000002-B", "job-2"}, {"DEMO-DEMO-0000003-C", "job-3"},
		{"DEMO-DEMO-0000004-D", "job-4"}, {"DEMO-DEMO-0000005-E", "job-1-r"},
	} {
		if _, err := a.log.Issued(ctx, is.serial, is.job, "temporary", "evo1", "QR "+is.serial); err != nil {
			t.Fatal(err)
		}
	}
	events := []spool.AuditEvent{
		{Kind: spool.AuditIssued, Time: at(1), Serial: "DEMO-DEMO-0000001-A", JobID: "job-1", Job: 1},
		{Kind: spool.AuditPrinted, Time: at(2), Serial: "DEMO-DEMO-0000001-A", JobID: "job-1", Job: 1, Printer: "evo1", Template: "temporary"},
		{Kind: spool.AuditUnknown, Time: at(3), Serial: "DEMO-DEMO-0000002-B", JobID: "job-2", Job: 2, Printer: "evo1", Reason: "usb lost"},
		{Kind: spool.AuditSpoiled, Time: at(4), Serial: "DEMO-DEMO-0000003-C", JobID: "job-3", Job: 3, Printer: "evo1", Reason: "ribbon out"},
		{Kind: spool.AuditVoid, Time: at(5), Serial: "DEMO-DEMO-0000002-B", JobID: "job-2", Job: 2, Reason: "voided by operator: lost"},
		{Kind: spool.AuditPrinted, Time: at(6), Serial: "DEMO-DEMO-0000005-E", JobID: "job-1-r", Job: 5, Printer: "evo1", ReprintOf: "job-1"},
		{Kind: spool.AuditVoid, Time: at(7), Serial: "DEMO-DEMO-0000001-A", JobID: "job-1", Job: 1, Reason: "replaced by reprint job-1-r"},
	}
	for _, e := range events {
		if err := a.Record(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	// A repeat within the same run (a retry after a failed acknowledgement).
	if err := a.Record(ctx, events[1]); err != nil {
		t.Fatal(err)
	}
	records, _ := a.log.Head()
	if err := a.log.Close(); err != nil {
		t.Fatal(err)
	}

	// The crash: the spool had not acknowledged any of them and sends
	// them all again to the next run.
	a = openAuditAdapter(t, path, denyPath, now)
	for _, e := range events {
		if err := a.Record(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	if again, _ := a.log.Head(); again != records {
		t.Errorf("repeated delivery appended records: %d before, %d after", records, again)
	}
	if err := a.log.Close(); err != nil {
		t.Fatal(err)
	}

	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var got []audit.Record
	if _, err := audit.Read(f, func(r audit.Record) error { got = append(got, r); return nil }); err != nil {
		t.Fatal(err)
	}
	want := []struct {
		event    audit.Event
		serial   string
		replaces string
	}{
		{audit.EventIssued, "DEMO-DEMO-0000001-A", ""},
		{audit.EventIssued, "DEMO-DEMO-0000002-B", ""},
		{audit.EventIssued, "DEMO-DEMO-0000003-C", ""},
		{audit.EventIssued, "DEMO-DEMO-0000004-D", ""},
		{audit.EventIssued, "DEMO-DEMO-0000005-E", ""},
		{audit.EventPrinted, "DEMO-DEMO-0000001-A", ""},
		{audit.EventOutcomeUnknown, "DEMO-DEMO-0000002-B", ""},
		{audit.EventSpoiled, "DEMO-DEMO-0000003-C", ""},
		{audit.EventVoided, "DEMO-DEMO-0000002-B", ""},
		{audit.EventPrinted, "DEMO-DEMO-0000005-E", ""},
		{audit.EventReprinted, "DEMO-DEMO-0000005-E", "DEMO-DEMO-0000001-A"},
		{audit.EventVoided, "DEMO-DEMO-0000001-A", ""},
	}
	if len(got) != len(want) {
		for _, r := range got {
			t.Logf("%d %s %s %s", r.Seq, r.Event, r.Serial, r.Action)
		}
		t.Fatalf("%d records, want %d", len(got), len(want))
	}
	for i, w := range want {
		r := got[i]
		if r.Event != w.event || r.Serial != w.serial || r.Replaces != w.replaces || r.Event == audit.EventOperator {
			t.Errorf("record %d: %s %s replaces %q; want %s %s replaces %q", r.Seq, r.Event, r.Serial, r.Replaces, w.event, w.serial, w.replaces)
		}
		if r.Event != audit.EventIssued && r.At.IsZero() {
			t.Errorf("record %d (%s) carries no event time", r.Seq, r.Event)
		}
	}
	deny, err := security.LoadDenyList(denyPath)
	if err != nil {
		t.Fatal(err)
	}
	for serial, denied := range map[string]bool{
		"DEMO-DEMO-0000001-A": true, "DEMO-DEMO-0000002-B": true, "DEMO-DEMO-0000003-C": true,
		"DEMO-DEMO-0000004-D": false, "DEMO-DEMO-0000005-E": false,
	} {
		if deny.Contains(serial) != denied {
			t.Errorf("deny list has %s: %v, want %v", serial, !denied, denied)
		}
	}
}
