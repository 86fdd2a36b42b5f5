package spool

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/cardd/cardd/internal/testwait"
)

// runAhead starts Run with composers per printer; the first print blocks
// until release is closed. It returns a stop function that cancels Run
// and waits for it, a channel that receives once the first card is in
// the printer, and one closed once stop has cancelled Run.
func runAhead(t *testing.T, e *env, composers int) (inPrinter <-chan struct{}, release chan struct{}, stop func(), cancelled <-chan struct{}) {
	t.Helper()
	entered := make(chan struct{}, 1)
	release = make(chan struct{})
	first := true
	e.printers["p1"].hook = func() {
		if first {
			first = false
			entered <- struct{}{}
			<-release
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancelled = ctx.Done()
	done := make(chan error, 1)
	go func() {
		done <- e.s.Run(ctx, RunOptions{Rescan: time.Hour, Poll: time.Hour, Purge: time.Hour, Composers: composers})
	}()
	stopped := false
	stop = func() {
		t.Helper()
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := testwait.Recv(t, "Run to return after cancel (else a composer or the worker is stuck)", done); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		select {
		case <-release:
		default:
			close(release)
		}
		stop()
	})
	return entered, release, stop, cancelled
}

// waitFor polls cond until it holds (failing only after testwait.Limit)
// and logs how long it took.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testwait.For(t, what, cond)
}

// composedAhead reports whether job ref has its serial and waits composed
// (or composing) for the printer.
func composedAhead(e *env, ref string) bool {
	j, err := e.sp.Job(ref)
	return err == nil && j.State == StateProcessing && j.Sub == SubComposing && j.Serial != ""
}

// TestRunComposesAheadOperator: while the printer prints one card, the
// next ones are composed with audited serials; an operator's hold and
// cancel still reach them, and their cards are never printed.
func TestRunComposesAheadOperator(t *testing.T) {
	t.Parallel()
	e := newEnv(t, PolicyRetryJob)
	for _, id := range []string{"A-1", "A-2", "A-3"} {
		e.submit(id, nil)
	}
	if err := e.s.Rescan(context.Background()); err != nil {
		t.Fatal(err)
	}
	inPrinter, release, stop, _ := runAhead(t, e, 2)
	<-inPrinter
	// Composers may hand their cards over in either order: name the jobs
	// by what they do.
	var printing string
	var ahead []string
	waitFor(t, "two cards composed ahead", func() bool {
		printing, ahead = "", nil
		for _, id := range []string{"A-1", "A-2", "A-3"} {
			switch j := e.job(id); {
			case composedAhead(e, id):
				ahead = append(ahead, id)
			case j.State == StateProcessing && j.Sub == SubPrinting:
				printing = id
			}
		}
		return printing != "" && len(ahead) == 2
	})
	ctx := context.Background()
	a1, a2, a3 := e.job(printing), e.job(ahead[0]), e.job(ahead[1])
	for _, j := range []Job{a2, a3} {
		if !e.audit.has(AuditIssued, j.Serial) {
			waitFor(t, "issued audit of "+j.ID, func() bool { return e.audit.has(AuditIssued, j.Serial) })
		}
	}
	if err := e.s.Hold(ctx, a2.ID, "photo looks wrong"); err != nil {
		t.Fatalf("Hold of a job composed ahead: %v", err)
	}
	if err := e.s.Cancel(ctx, a3.ID, "duplicate"); err != nil {
		t.Fatalf("Cancel of a job composed ahead: %v", err)
	}
	close(release)
	waitFor(t, a1.ID+" completed", func() bool { return e.job(a1.ID).State == StateCompleted })
	// Give the worker the chance to (wrongly) print what it composed.
	time.Sleep(50 * time.Millisecond)
	stop()
	e.wantState(a1.ID, StateCompleted, "")
	got := e.wantState(a2.ID, StateHeld, "held by operator")
	if got.Serial != a2.Serial {
		t.Errorf("held A-2 has serial %q, want its serial %q kept", got.Serial, a2.Serial)
	}
	got = e.wantState(a3.ID, StateCancelled, "cancelled by operator")
	if got.Serial != "" || !slices.Contains(got.Voided, a3.Serial) || !e.audit.has(AuditVoid, a3.Serial) {
		t.Errorf("cancelled A-3: serial %q voided %v; want %s voided and audited", got.Serial, got.Voided, a3.Serial)
	}
	if p := e.printers["p1"].printedSerials(); !slices.Equal(p, []string{a1.Serial}) {
		t.Errorf("printed %v, want only %s's %s", p, a1.ID, a1.Serial)
	}
	// Released, the held job prints with the serial it kept.
	if err := e.s.Release(ctx, a2.ID); err != nil {
		t.Fatal(err)
	}
	e.drain()
	if got := e.wantState(a2.ID, StateCompleted, ""); got.Serial != a2.Serial {
		t.Errorf("A-2 printed with serial %q, want %q", got.Serial, a2.Serial)
	}
}

// TestRunComposesAheadShutdown: cards composed ahead are not printed after
// shutdown; their jobs go back to the queue keeping their audited serial,
// the card in the printer finishes, and Run returns.
func TestRunComposesAheadShutdown(t *testing.T) {
	for _, composers := range []int{1, 2, 3} {
		t.Run("composers="+string(rune('0'+composers)), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, PolicyRetryJob)
			ids := []string{"S-1", "S-2", "S-3", "S-4"}
			for _, id := range ids {
				e.submit(id, nil)
			}
			if err := e.s.Rescan(context.Background()); err != nil {
				t.Fatal(err)
			}
			inPrinter, release, stop, cancelled := runAhead(t, e, composers)
			<-inPrinter
			defer func() {
				if t.Failed() {
					for _, id := range ids {
						j := e.job(id)
						t.Logf("%s: %s/%s serial %q reason %q", id, j.State, j.Sub, j.Serial, j.Reason)
					}
				}
			}()
			var printing string
			waitFor(t, "cards composed ahead", func() bool {
				n := 0
				printing = ""
				for _, id := range ids {
					if composedAhead(e, id) {
						n++
					} else if j := e.job(id); j.State == StateProcessing && j.Sub == SubPrinting {
						printing = id
					}
				}
				return n == composers && printing != ""
			})
			// Shut down with the first card in the printer: it must
			// finish, nothing else may start.
			go func() {
				<-cancelled // shutdown has begun: now the card may finish
				close(release)
			}()
			stop()
			e.wantState(printing, StateCompleted, "")
			if p := e.printers["p1"].printedSerials(); len(p) != 1 {
				t.Errorf("printed %v after shutdown, want only %s's card", p, printing)
			}
			ahead := 0
			for _, id := range ids {
				if id == printing {
					continue
				}
				j := e.job(id)
				if j.State != StatePending {
					t.Errorf("job %s is %s/%s after shutdown, want pending", id, j.State, j.Sub)
				}
				if j.Serial != "" {
					ahead++
					if !e.audit.has(AuditIssued, j.Serial) {
						t.Errorf("job %s kept serial %s without its issued audit", id, j.Serial)
					}
				}
			}
			if ahead != composers {
				t.Errorf("%d jobs kept a serial, want the %d composed ahead", ahead, composers)
			}
			// A restart prints them with the serials they kept.
			e.drain()
			for _, id := range ids {
				e.wantState(id, StateCompleted, "")
			}
			if p := e.printers["p1"].printedSerials(); len(p) != len(ids) {
				t.Errorf("printed %v, want %d cards", p, len(ids))
			}
		})
	}
}
