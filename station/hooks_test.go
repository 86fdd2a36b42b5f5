package station

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cardd/cardd/spool"
)

// TestComponentSubmitOutcome plugs into a station the way the issuance
// network does: a component added before Run submits a job through
// Station.Submit, and OnOutcome hears of the printed card with the serial
// the spool recorded for the job; the component stops with the station.
func TestComponentSubmitOutcome(t *testing.T) {
	cfg := testConfig(t)
	st, err := Open(t.Context(), cfg, testLogger(t), Options{Run: spool.RunOptions{Rescan: 100 * time.Millisecond, Poll: 50 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	jobs, photos := sampleJobs(t, "temporary", 1)
	events := make(chan spool.AuditEvent, 16)
	st.OnOutcome(func(e spool.AuditEvent) {
		select {
		case events <- e:
		default:
			t.Errorf("outcome %s of %s dropped: the test's channel is full", e.Kind, e.JobID)
		}
	})
	stopped := make(chan struct{})
	st.Add("submitter", ComponentFunc(func(ctx context.Context) error {
		if _, err := st.Submit(jobs[0], photos[0]); err != nil {
			return err
		}
		<-ctx.Done()
		close(stopped)
		return nil
	}))
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- st.Run(ctx) }()

	start := time.Now()
	deadline := time.After(5 * time.Minute)
	var printed spool.AuditEvent
	for printed.Kind == "" {
		select {
		case e := <-events:
			if e.Kind == spool.AuditIssued {
				t.Errorf("OnOutcome passed the issued event of %s on", e.JobID)
			}
			if e.Kind == spool.AuditPrinted && e.JobID == jobs[0].ID {
				printed = e
			}
		case err := <-done:
			t.Fatalf("station stopped before the card printed: %v", err)
		case <-deadline:
			t.Fatalf("no printed outcome for %s after %v", jobs[0].ID, time.Since(start))
		}
	}
	t.Logf("printed outcome after %v", time.Since(start))
	j, err := st.Spool().Job(jobs[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if printed.Serial == "" || printed.Serial != j.Serial || printed.Printer != cfg.Printers[0].Name {
		t.Errorf("outcome serial %q printer %q, want the job's serial %q on %s", printed.Serial, printed.Printer, j.Serial, cfg.Printers[0].Name)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	select {
	case <-stopped:
	default:
		t.Fatal("Run returned before the component stopped")
	}
}

// TestComponentFailureStopsStation: a component that fails while the
// station runs stops the station, and Run returns its error with its name.
func TestComponentFailureStopsStation(t *testing.T) {
	st, err := Open(t.Context(), testConfig(t), testLogger(t), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	st.Add("uplink", ComponentFunc(func(ctx context.Context) error { return errors.New("hub refused the credentials") }))
	quiet := make(chan struct{})
	st.Add("quiet", ComponentFunc(func(ctx context.Context) error {
		<-ctx.Done()
		close(quiet)
		return ctx.Err() // a cancellation is not reported
	}))
	err = st.Run(t.Context())
	if err == nil || !strings.Contains(err.Error(), "uplink: hub refused the credentials") {
		t.Fatalf("Run: %v, want the uplink's error", err)
	}
	if strings.Contains(err.Error(), "quiet") {
		t.Errorf("Run: %v reports the other component's cancellation", err)
	}
	<-quiet
}
