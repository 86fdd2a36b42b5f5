package station

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/cardd/cardd/security/audit"
	"github.com/cardd/cardd/spool"
)

// TestAuditCheckpoints: a station generates its audit key on first start
// (private 0600, verifier key beside it), signs a checkpoint every
// security.checkpoint_every records and after a batch closes (recorded
// once, also when seen again), announces each to OnAuditCheckpoint, signs
// one at shutdown, and every checkpoint opens with the .pub key and
// matches the log.
func TestAuditCheckpoints(t *testing.T) {
	cfg := testConfig(t)
	cfg.Security.CheckpointEvery = 3
	st, err := Open(t.Context(), cfg, testLogger(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	fi, err := os.Stat(cfg.Security.AuditKey)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("audit key: %v %v", fi, err)
	}
	v, err := audit.LoadVerifier(cfg.Security.AuditKey + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	if v.Name() != AuditOrigin(cfg) || v.Name() != "demo.cardd.example/"+cfg.Station.ID+"/audit" {
		t.Fatalf("origin %q", v.Name())
	}
	var mu sync.Mutex
	var got []*audit.Checkpoint
	st.OnAuditCheckpoint(func(cp *audit.Checkpoint) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, cp)
	})
	al := st.AuditLog()
	ctx := t.Context()
	for _, s := range []string{"DEMO-DEMO-0000001-A", "DEMO-DEMO-0000002-B", "DEMO-DEMO-0000003-C", "DEMO-DEMO-0000004-D"} {
		if _, err := al.Voided(ctx, s, "test"); err != nil {
			t.Fatal(err)
		}
	}
	closed := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	batches := []spool.Batch{{ID: "B-1", State: spool.BatchClosed, Closed: closed, Reason: "full (50 jobs)"}, {ID: "B-2", State: spool.BatchOpen}}
	for range 2 { // the second scan finds the close recorded already
		if err := recordBatchCloses(ctx, al, batches); err != nil {
			t.Fatal(err)
		}
	}
	mu.Lock()
	sizes := []int64{}
	for _, cp := range got {
		sizes = append(sizes, cp.Size)
	}
	mu.Unlock()
	// After 3 records, then after the batch close (record 5).
	if len(sizes) != 2 || sizes[0] != 3 || sizes[1] != 5 {
		t.Fatalf("checkpoint sizes %v, want [3 5]", sizes)
	}
	if _, err := al.Operator(ctx, "op", "note", "", "after the batch"); err != nil {
		t.Fatal(err)
	}
	// At shutdown (ctx ended) the component signs the rest.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := runCheckpoints(cctx, al, func() []spool.Batch { return batches }, time.Hour, time.Now, testLogger(t)); err != nil {
		t.Fatal(err)
	}
	latest := al.LatestCheckpoint()
	if latest == nil || latest.Size != 6 {
		t.Fatalf("latest %+v, want 6 records", latest)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	cp, err := audit.ParseCheckpoint(latest.Note, v)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := audit.VerifyAgainst(cfg.Security.AuditLog, cp); err != nil {
		t.Fatal(err)
	}
	kept, err := audit.ReadCheckpoints(audit.CheckpointsFile(cfg.Security.AuditLog))
	if err != nil || len(kept) != 3 {
		t.Fatalf("%d checkpoints kept: %v", len(kept), err)
	}
}
