package station

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/cardd/cardd/security"
	"github.com/cardd/cardd/security/audit"
	"github.com/cardd/cardd/spool"
)

// TestAuditAdapterStraySpoiled: the spoiled events the spool records for a
// stray card rejected before a new card reach the audit log as spoiled
// records, with the stray's serial when it is known (and that serial is
// denied) and without one otherwise (nothing empty on the deny list); a
// second delivery after a restart appends nothing.
func TestAuditAdapterStraySpoiled(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path, denyPath := filepath.Join(dir, "audit.log"), filepath.Join(dir, "deny-list.json")
	clock := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	now := func() time.Time { clock = clock.Add(time.Millisecond); return clock }
	at := func(s int) time.Time { return time.Date(2026, 11, 27, 9, 0, s, 0, time.UTC) }
	events := []spool.AuditEvent{
		{Kind: spool.AuditSpoiled, Time: at(1), JobID: "job-2", Job: 2, Printer: "evo1", Reason: spool.StrayReason},
		{Kind: spool.AuditSpoiled, Time: at(2), Serial: "DEMO-DEMO-0000001-A", JobID: "job-3", Job: 3, Printer: "evo1",
			Reason: spool.StrayReason + " (card of job job-1, held with outcome unknown)"},
	}
	for run := range 2 {
		a := openAuditAdapter(t, path, denyPath, now)
		for _, e := range events {
			if err := a.Record(ctx, e); err != nil {
				t.Fatalf("run %d: %v", run, err)
			}
		}
		if err := a.log.Close(); err != nil {
			t.Fatal(err)
		}
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
	if len(got) != len(events) {
		t.Fatalf("%d records, want %d: %+v", len(got), len(events), got)
	}
	for i, e := range events {
		if r := got[i]; r.Event != audit.EventSpoiled || r.Serial != e.Serial || r.Printer != "evo1" || r.Reason != e.Reason || r.Job != e.JobID {
			t.Errorf("record %d: %+v; want spoiled %q on evo1 for %s", i, r, e.Serial, e.JobID)
		}
	}
	deny, err := security.LoadDenyList(denyPath)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(deny.Serials, []string{"DEMO-DEMO-0000001-A"}) {
		t.Errorf("deny list %q, want only the stray's known serial", deny.Serials)
	}
}
