package station

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/cardd/cardd/internal/testwait"
	"github.com/cardd/cardd/security/audit"
	"github.com/cardd/cardd/spool"
)

// TestAuditStateVerifiedInBackground: a station restarts from the audit
// log's open state (reading only what follows the prefix it covers) and
// verifies the whole log in the background after it started. With a
// record inside the covered prefix changed, the station starts, then the
// background verification stops it with a ConfigError (as the full
// verification at Open refuses such a log: "cardd run" exits 3), removes
// the state file, and the next start, which verifies the whole log,
// refuses to start. Without the background verification Run would not
// return and the wait fails.
func TestAuditStateVerifiedInBackground(t *testing.T) {
	cfg := testConfig(t)
	log := testLogger(t)
	st, err := Open(t.Context(), cfg, log, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if _, err := st.AuditLog().Voided(t.Context(), fmt.Sprintf("DEMO-DEMO-%07d-A", i+1), "lost in the post"); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(audit.StateFile(cfg.Security.AuditLog)); err != nil {
		t.Fatalf("no state file after a clean stop: %v", err)
	}

	// A clean restart: opened from the state, verified in the background,
	// the station goes on.
	st, err = Open(t.Context(), cfg, log, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := st.AuditLog().Verified(); ok || auditVerifiedMetric(t, st) != 0 {
		t.Fatal("the log was opened the full way, not from its state")
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- st.Run(ctx) }()
	testwait.For(t, "the background verification", func() bool { ok, _ := st.AuditLog().Verified(); return ok })
	if v := auditVerifiedMetric(t, st); v != 1 {
		t.Fatalf("cardd_audit_log_verified %v after the verification", v)
	}
	cancel()
	if err := testwait.Recv(t, "the station's stop", done); err != nil {
		t.Fatalf("Run: %v", err)
	}
	st.Close()

	// Record 2 changed in place (the prefix's last record is intact).
	b, err := os.ReadFile(cfg.Security.AuditLog)
	if err != nil {
		t.Fatal(err)
	}
	changed := bytes.Replace(b, []byte(`"serial":"DEMO-DEMO-0000002-A"`), []byte(`"serial":"DEMO-DEMO-0000002-B"`), 1)
	if bytes.Equal(changed, b) {
		t.Fatal("nothing changed")
	}
	if err := os.WriteFile(cfg.Security.AuditLog, changed, 0o600); err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	var once sync.Once
	var printed atomic.Bool
	onPrint := func(string, string) { printed.Store(true); once.Do(func() { close(release) }) }
	st, err = Open(t.Context(), cfg, log, Options{OnPrint: onPrint})
	if err != nil {
		t.Fatalf("the start reads only what follows the covered prefix: %v", err)
	}
	// A job waiting: the scheduler starts only once the log is verified
	// whole, so it gets no serial and no card from a log that fails. The
	// verification is held until the scheduler waits for it, or (were
	// there no wait) until the job's card goes to the printer.
	jobs, photos := sampleJobs(t, "temporary", 1)
	if _, err := st.Submit(jobs[0], photos[0]); err != nil {
		t.Fatal(err)
	}
	st.onAuditWait = func() { once.Do(func() { close(release) }) }
	st.beforeAuditVerify = func() { <-release }
	done = make(chan error, 1)
	go func() { done <- st.Run(t.Context()) }()
	err = testwait.Recv(t, "the station to stop on the failed verification", done)
	if printed.Load() {
		t.Error("a card went to the printer before the audit log was verified")
	}
	// (Not yet read from incoming, or pending.)
	if j, jerr := st.Spool().Job(jobs[0].ID); !errors.Is(jerr, spool.ErrNotFound) && (jerr != nil || j.Serial != "" || j.State != spool.StatePending) {
		t.Errorf("job %s after a failed verification: state %s serial %q, %v (want waiting with no serial)", jobs[0].ID, j.State, j.Serial, jerr)
	}
	if v := auditVerifiedMetric(t, st); v != 0 {
		t.Errorf("cardd_audit_log_verified %v after the verification failed", v)
	}
	st.Close()
	var ce ConfigError
	if !errors.As(err, &ce) || !errors.Is(err, audit.ErrOpenState) {
		t.Fatalf("Run: %v (want a ConfigError wrapping audit.ErrOpenState)", err)
	}
	if _, err := os.Stat(audit.StateFile(cfg.Security.AuditLog)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("state file kept: %v", err)
	}
	var chain *audit.ChainError
	if _, err := Open(t.Context(), cfg, log, Options{}); !errors.As(err, &ce) || !errors.As(err, &chain) {
		t.Fatalf("the next start: %v (want a ConfigError naming the broken record)", err)
	}
}

// auditVerifiedMetric is the station's cardd_audit_log_verified.
func auditVerifiedMetric(t *testing.T, st *Station) float64 {
	t.Helper()
	mfs, err := st.metrics.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "cardd_audit_log_verified" {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatal("no cardd_audit_log_verified metric")
	return 0
}
