package spool

import (
	"strings"
	"testing"
	"time"

	"github.com/cardd/cardd/printer"
	"github.com/cardd/cardd/spool/jobfile"
)

// strayEvents returns the spoiled audit events about stray cards.
func strayEvents(t *testing.T, a *fakeAudit) []AuditEvent {
	t.Helper()
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []AuditEvent
	for _, e := range a.events {
		if e.Kind == AuditSpoiled && strings.HasPrefix(e.Reason, StrayReason) {
			out = append(out, e)
		}
	}
	return out
}

// strayCount returns PrinterInfo.StrayRejected of printer name.
func strayCount(t *testing.T, e *env, name string) int {
	t.Helper()
	for _, p := range e.s.Status().Printers {
		if p.Name == name {
			return p.StrayRejected
		}
	}
	t.Fatalf("no printer %q in Status", name)
	return 0
}

// A stray card rejected before a batch's card is one more spoiled blank of
// that batch, audited as spoiled under the serial of the job held as
// outcome unknown on that printer, and counted per printer in Status.
func TestStrayRejectedCountsInBatch(t *testing.T) {
	t.Parallel()
	e := newEnvConfig(t, PolicyRetryJob, func(c *Config) {
		c.Mode = jobfile.ModePermanent
		c.Batching = Batching{Size: 2, Window: time.Hour}
	})
	p1 := e.printers["p1"]
	p1.script = []step{{printer.OutcomeUnknown, printer.ErrTimeout}}
	e.submit("S-1", nil)
	e.submit("S-2", nil)
	e.drain()
	held := e.wantState("S-1", StateHeld, ReasonOutcomeUnknown)
	if held.Serial == "" {
		t.Fatal("held job has no serial")
	}
	p1.mu.Lock()
	p1.strayNext = true // S-1's card is still inside
	p1.mu.Unlock()
	e.clock.Advance(time.Second) // the printer's back-off after the lost card
	e.drain()
	e.wantState("S-2", StateCompleted, "")

	check := func(when string) {
		t.Helper()
		rep, err := e.s.BatchReport("B000001")
		if err != nil {
			t.Fatal(err)
		}
		// Blanks: S-1's (unknown; it is also the stray that was rejected,
		// so it is not counted twice) and S-2's printed.
		if rep.Printed != 1 || rep.Unknown != 1 || rep.Spoiled != 0 || rep.Stray != 1 || rep.BlanksUsed != 2 || rep.BlanksExpected != 2 {
			t.Errorf("%s: report %+v", when, rep)
		}
		if len(rep.Printers) != 1 || rep.Printers[0].Spoiled != 0 || rep.Printers[0].Stray != 1 || rep.Printers[0].BlanksUsed != 2 {
			t.Errorf("%s: printer usage %+v", when, rep.Printers)
		}
		if txt := rep.Text(); !strings.Contains(txt, "spoiled 0") || !strings.Contains(txt, "1 stray card(s)") {
			t.Errorf("%s: text report:\n%s", when, txt)
		}
	}
	check("after printing")
	if n := strayCount(t, e, "p1"); n != 1 {
		t.Errorf("Status stray_rejected = %d, want 1", n)
	}
	evs := strayEvents(t, e.audit)
	if len(evs) != 1 {
		t.Fatalf("stray spoiled events %+v, want 1", evs)
	}
	if ev := evs[0]; ev.Serial != held.Serial || ev.Printer != "p1" || ev.JobID != "S-2" || !strings.Contains(ev.Reason, "S-1") {
		t.Errorf("stray event %+v; want serial %s of S-1 on p1, recorded with job S-2", ev, held.Serial)
	}
	// The journal keeps it: a restart reports the same blanks.
	e.crash()
	check("after restart")
	if err := e.s.RetryAudits(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := len(strayEvents(t, e.audit)); n != 1 {
		t.Errorf("%d stray events after restart, want 1 (acknowledged)", n)
	}
}

// Without a job held as outcome unknown on the printer, the stray card's
// serial is not known: the spoiled event has no serial, and the card
// after it prints normally.
func TestStrayRejectedWithoutSerial(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		outcome printer.Outcome
		state   State
	}{
		{"printed", printer.OutcomePrinted, StateCompleted},
		{"rejected too", printer.OutcomeRejected, StatePending},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, PolicyRetryJob)
			p1 := e.printers["p1"]
			p1.script = []step{{tc.outcome, nil}}
			p1.strayNext = true
			e.submit("T-1", nil)
			e.drain()
			e.wantState("T-1", tc.state, "")
			evs := strayEvents(t, e.audit)
			if len(evs) != 1 || evs[0].Serial != "" || evs[0].Reason != StrayReason || evs[0].Printer != "p1" {
				t.Fatalf("stray events %+v, want one without serial", evs)
			}
			if n := strayCount(t, e, "p1"); n != 1 {
				t.Errorf("Status stray_rejected = %d, want 1", n)
			}
			spoiled := 0
			for _, k := range e.audit.kinds("") {
				if k == AuditSpoiled {
					spoiled++
				}
			}
			if spoiled != 1 {
				t.Errorf("%d spoiled events without serial, want 1", spoiled)
			}
		})
	}
}
