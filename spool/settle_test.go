package spool

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cardd/cardd/printer"
)

func TestDecide(t *testing.T) {
	t.Parallel()
	ev := func(serial string, fed int, inside printer.Presence) printer.Evidence {
		e := printer.NoEvidence()
		e.Serial, e.Fed, e.Inside = serial, fed, inside
		return e
	}
	printed := func(serial string, n int, inside printer.Presence) printer.Evidence {
		e := printer.NoEvidence()
		e.Serial, e.Printed, e.Inside = serial, n, inside
		return e
	}
	// withPanels is Evolis evidence with the panel counter; cardPanels is
	// what the driver said the card takes (journaled before it).
	withPanels := func(serial string, fed, panels, cardPanels int, inside printer.Presence) printer.Evidence {
		e := ev(serial, fed, inside)
		e.Panels, e.CardPanels = panels, cardPanels
		return e
	}
	none, card, unk := printer.PresenceNone, printer.PresenceCard, printer.PresenceUnknown
	before5 := withPanels("E1", 10, 100, 5, none)
	for _, tc := range []struct {
		name string
		c    SettleCase
		want Settlement
		why  string // part of the reason
	}{
		// Evolis: a cards-fed counter and the card position.
		{"fed+1 nothing inside: printed", SettleCase{Before: ev("E1", 10, none), After: ev("E1", 11, none)}, SettlePrinted, "delivered"},
		{"fed+1 card inside: reject", SettleCase{Before: ev("E1", 10, none), After: ev("E1", 11, card)}, SettleReject, "reject box"},
		{"fed+0 nothing inside: never fed", SettleCase{Before: ev("E1", 10, none), After: ev("E1", 10, none)}, SettleNotFed, "never fed"},
		{"reject intent, card gone: rejected", SettleCase{Before: ev("E1", 10, none), After: ev("E1", 11, none), Rejecting: RejectingCard}, SettleRejected, "reject box"},
		{"reject intent, card inside: reject", SettleCase{Before: ev("E1", 10, none), After: ev("E1", 11, card), Rejecting: RejectingCard}, SettleReject, "still inside"},
		{"stray counted, still inside, not fed", SettleCase{Before: ev("E1", 10, card), After: ev("E1", 10, card), StrayCounted: true}, SettleStrayInside, "still there"},
		{"stray rejected, card delivered", SettleCase{Before: ev("E1", 10, card), After: ev("E1", 11, none), Rejecting: RejectingStray}, SettlePrinted, "delivered"},
		{"stray rejected, card never fed", SettleCase{Before: ev("E1", 10, card), After: ev("E1", 10, none), StrayCounted: true}, SettleNotFed, "never fed"},
		// Evolis with the card's panels journaled: the panel counter tells
		// a card delivered from one taken out part-printed.
		{"fed+1, panels + the card's, gone: printed", SettleCase{Before: before5, After: withPanels("E1", 11, 105, 0, none)}, SettlePrinted, "the card's 5 panels"},
		{"fed+1, panels part, gone: part-printed", SettleCase{Before: before5, After: withPanels("E1", 11, 103, 0, none)}, SettlePartPrinted, "only by 3 of the card's 5"},
		{"fed+1, no panel, gone: part-printed", SettleCase{Before: before5, After: withPanels("E1", 11, 100, 0, none)}, SettlePartPrinted, "only by 0"},
		{"fed+1, panels part, inside: reject", SettleCase{Before: before5, After: withPanels("E1", 11, 103, 0, card)}, SettleReject, "reject box"},
		{"reject intent, panels part, gone: rejected", SettleCase{Before: before5, After: withPanels("E1", 11, 102, 0, none), Rejecting: RejectingCard}, SettleRejected, "reject box"},
		{"stray rejected, whole card delivered", SettleCase{Before: withPanels("E1", 10, 100, 5, card), After: withPanels("E1", 11, 105, 0, none), Rejecting: RejectingStray}, SettlePrinted, "delivered"},
		{"stray rejected, card taken out part-printed", SettleCase{Before: withPanels("E1", 10, 100, 5, card), After: withPanels("E1", 11, 101, 0, none), StrayCounted: true}, SettlePartPrinted, "part-printed"},
		{"card panels not journaled: cards-fed alone", SettleCase{Before: withPanels("E1", 10, 100, 0, none), After: withPanels("E1", 11, 103, 0, none)}, SettlePrinted, "delivered"},
		{"panels beyond the card: hold", SettleCase{Before: before5, After: withPanels("E1", 11, 107, 0, none)}, SettleHold, "more than the card's 5"},
		{"panel counter missing now: hold", SettleCase{Before: before5, After: withPanels("E1", 11, -1, 0, none)}, SettleHold, "panel counter missing"},
		{"panel counter missing before: hold", SettleCase{Before: withPanels("E1", 10, -1, 5, none), After: withPanels("E1", 11, 105, 0, none)}, SettleHold, "panel counter missing"},
		{"panel counter went back: hold", SettleCase{Before: before5, After: withPanels("E1", 11, 90, 0, none)}, SettleHold, "went back by 10"},
		{"not fed but panels moved: hold", SettleCase{Before: before5, After: withPanels("E1", 10, 102, 0, none)}, SettleHold, "panel counter moved by 2"},
		{"not fed, panels still: never fed", SettleCase{Before: before5, After: withPanels("E1", 10, 100, 0, none)}, SettleNotFed, "never fed"},
		// Held for a person.
		{"counters missing before", SettleCase{Before: ev("E1", -1, none), After: ev("E1", 11, none)}, SettleHold, "counters missing"},
		{"counters missing now", SettleCase{Before: ev("E1", 10, none), After: ev("E1", -1, none)}, SettleHold, "counters missing"},
		{"serial missing", SettleCase{Before: ev("", 10, none), After: ev("E1", 11, none)}, SettleHold, "serial number missing"},
		{"different printer", SettleCase{Before: ev("E1", 10, none), After: ev("E2", 11, none)}, SettleHold, "different printer"},
		{"jump by more than one", SettleCase{Before: ev("E1", 10, none), After: ev("E1", 13, none)}, SettleHold, "jumped by 3"},
		{"counter went back", SettleCase{Before: ev("E1", 10, none), After: ev("E1", 2, none)}, SettleHold, "went back"},
		{"card counted by another job", SettleCase{Before: ev("E1", 10, none), After: ev("E1", 11, none), Later: "J-9"}, SettleHold, "job J-9"},
		{"inside unknown", SettleCase{Before: ev("E1", 10, none), After: ev("E1", 11, unk)}, SettleHold, "cannot tell"},
		{"card inside not counted", SettleCase{Before: ev("E1", 10, none), After: ev("E1", 10, card)}, SettleHold, "did not count"},
		{"stray before without a record", SettleCase{Before: ev("E1", 10, card), After: ev("E1", 11, none)}, SettleHold, "never recorded"},
		{"reject intent, counter still", SettleCase{Before: ev("E1", 10, none), After: ev("E1", 10, none), Rejecting: RejectingCard}, SettleHold, "did not move"},
		// Magicard: a cards-printed counter, no card position.
		{"printed+1: printed", SettleCase{Before: printed("M1", 5, unk), After: printed("M1", 6, unk)}, SettlePrinted, "delivered"},
		{"printed+0, inside unknown: hold", SettleCase{Before: printed("M1", 5, unk), After: printed("M1", 5, unk)}, SettleHold, "cannot tell"},
		{"printed+2: hold", SettleCase{Before: printed("M1", 5, unk), After: printed("M1", 7, unk)}, SettleHold, "jumped by 2"},
		{"printed counter, reject intent: hold", SettleCase{Before: printed("M1", 5, unk), After: printed("M1", 6, unk), Rejecting: RejectingCard}, SettleHold, "reject box"},
		{"printed+0, inside known empty: never fed", SettleCase{Before: printed("M1", 5, none), After: printed("M1", 5, none)}, SettleNotFed, "never fed"},
		{"printed+0, card inside: reject", SettleCase{Before: printed("M1", 5, none), After: printed("M1", 5, card)}, SettleReject, "reject box"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, why := Decide(tc.c)
			if got != tc.want || !strings.Contains(why, tc.why) {
				t.Errorf("Decide = %s (%s), want %s (containing %q)", got, why, tc.want, tc.why)
			}
			// Every decision names its evidence.
			if !strings.Contains(why, tc.c.After.String()) {
				t.Errorf("reason %q does not name the evidence %q", why, tc.c.After)
			}
		})
	}
}

// evPrinter is a fakePrinter with a physical card path that reports
// Evidence as an Evolis printer does (cards fed, card inside) and can
// reject the card inside.
type evPrinter struct {
	*fakePrinter
	emu struct {
		sync.Mutex
		serial                   string
		fed, delivered, rejected int
		inside                   bool
		evidenceErr, ejectErr    error
		// cardPanels, when set, makes the printer count panels as an
		// Evolis does (CardPanels answers it); panels is the counter,
		// onCard the panels printed on the card inside so far.
		cardPanels, panels, onCard int
	}
	// stage runs inside Print after the card was fed (crash simulation);
	// strayStage after the reject notice of a stray, before its reject.
	stage, strayStage func()
}

// Print rejects a card left inside first, after the reject notice (as the
// Evolis driver does), then feeds and prints.
func (p *evPrinter) Print(ctx context.Context, c *printer.Card) (printer.Result, error) {
	p.emu.Lock()
	stray := p.emu.inside
	p.emu.Unlock()
	if stray {
		if err := printer.NoticeReject(ctx, true); err != nil {
			return printer.Result{Outcome: printer.OutcomeNotFed}, err
		}
		if p.strayStage != nil {
			p.strayStage()
		}
		p.emu.Lock()
		p.emu.inside = false
		p.emu.rejected++
		p.emu.Unlock()
	}
	p.emu.Lock()
	p.emu.fed++
	p.emu.inside = true
	p.emu.onCard = 0
	p.emu.Unlock()
	if p.stage != nil {
		p.stage()
	}
	res, err := p.fakePrinter.Print(ctx, c)
	res.StrayRejected = stray
	p.emu.Lock()
	if res.Outcome == printer.OutcomePrinted {
		p.emu.inside = false
		p.emu.delivered++
		p.emu.panels += p.emu.cardPanels - p.emu.onCard
	}
	p.emu.Unlock()
	return res, err
}

func (p *evPrinter) Evidence(context.Context) (printer.Evidence, error) {
	p.emu.Lock()
	defer p.emu.Unlock()
	if p.emu.evidenceErr != nil {
		return printer.NoEvidence(), p.emu.evidenceErr
	}
	e := printer.NoEvidence()
	e.Serial, e.Fed, e.Inside = p.emu.serial, p.emu.fed, printer.PresenceNone
	if p.emu.cardPanels > 0 {
		e.Panels = p.emu.panels
	}
	if p.emu.inside {
		e.Inside = printer.PresenceCard
	}
	return e, nil
}

// CardPanels answers like an Evolis driver when the printer counts panels.
func (p *evPrinter) CardPanels(*printer.Card) (int, error) {
	p.emu.Lock()
	defer p.emu.Unlock()
	if p.emu.cardPanels == 0 {
		return 0, printer.ErrUnsupported
	}
	return p.emu.cardPanels, nil
}

func (p *evPrinter) Eject(_ context.Context, reject bool) error {
	p.emu.Lock()
	defer p.emu.Unlock()
	if p.emu.ejectErr != nil {
		return p.emu.ejectErr
	}
	if p.emu.inside {
		p.emu.inside = false
		if reject {
			p.emu.rejected++
		} else {
			p.emu.delivered++
		}
	}
	return nil
}

// newEvEnv is an env whose one printer "p1" reports evidence.
func newEvEnv(t *testing.T) (*env, *evPrinter) {
	t.Helper()
	var ep *evPrinter
	e := newEnvConfig(t, PolicyRetryJob, func(c *Config) {
		if ep == nil {
			ep = &evPrinter{fakePrinter: c.Printers[0].Printer.(*fakePrinter)}
			ep.emu.serial = "EVO-1"
		}
		c.Printers[0].Printer = ep
	})
	return e, ep
}

// crashInPrint runs one job into the printer and crashes the daemon while
// its card is inside; then lets the card go where after says (delivered,
// left inside, never fed) and restarts.
func crashInPrint(t *testing.T, e *env, ep *evPrinter, id string, after func()) Job {
	t.Helper()
	ctx := context.Background()
	e.submit(id, nil)
	if err := e.s.Rescan(ctx); err != nil {
		t.Fatal(err)
	}
	inPrint := make(chan struct{})
	block := make(chan struct{})
	t.Cleanup(func() { close(block) })
	ep.stage = func() { close(inPrint); <-block }
	go e.s.ProcessNext(ctx, "p1")
	<-inPrint
	ep.stage = nil
	e.crash()
	after()
	j := e.wantState(id, StateHeld, ReasonOutcomeUnknown)
	if j.Evidence == nil || j.Evidence.Fed < 0 {
		t.Fatalf("job %s: no evidence journaled before the card: %+v", id, j.Evidence)
	}
	return j
}

func TestSettleAfterCrash(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t.Run("delivered", func(t *testing.T) {
		t.Parallel()
		e, ep := newEvEnv(t)
		j := crashInPrint(t, e, ep, "S-1", func() {
			ep.emu.Lock()
			ep.emu.inside, ep.emu.delivered = false, ep.emu.delivered+1
			ep.emu.Unlock()
		})
		e.drain()
		got := e.wantState("S-1", StateCompleted, "")
		if got.Serial != j.Serial || !strings.HasPrefix(got.Settled, "printed:") || got.EvidenceAfter == nil {
			t.Errorf("settled %+v", got)
		}
		if n := e.audit.count(AuditPrinted, j.Serial); n != 1 {
			t.Errorf("%d printed audit events, want 1", n)
		}
		if !strings.Contains(e.lastNote(AuditPrinted, j.Serial), "fed 1") {
			t.Errorf("printed audit does not name the evidence: %q", e.lastNote(AuditPrinted, j.Serial))
		}
	})
	t.Run("inside", func(t *testing.T) {
		t.Parallel()
		e, ep := newEvEnv(t)
		j := crashInPrint(t, e, ep, "S-2", func() {})
		e.drain()
		got := e.wantState("S-2", StateCompleted, "")
		if got.Serial == j.Serial || len(got.Voided) != 1 || got.Voided[0] != j.Serial {
			t.Errorf("spoiled card's serial not voided and replaced: %+v", got)
		}
		if !e.audit.has(AuditSpoiled, j.Serial) {
			t.Error("no spoiled audit event for the card rejected at settlement")
		}
		ep.emu.Lock()
		defer ep.emu.Unlock()
		if ep.emu.rejected != 1 || ep.emu.delivered != 1 || ep.emu.inside {
			t.Errorf("printer: rejected %d delivered %d inside %v, want 1 1 false", ep.emu.rejected, ep.emu.delivered, ep.emu.inside)
		}
		var intent bool
		for _, r := range got.History {
			if r.Rejecting == RejectingCard {
				intent = true
			}
		}
		if !intent {
			t.Error("no reject intent journaled before the reject")
		}
	})
	t.Run("taken out part-printed", func(t *testing.T) {
		t.Parallel()
		e, ep := newEvEnv(t)
		ep.emu.cardPanels = 5
		// Killed after two of the card's five panels; a person pulls the
		// card out of the printer.
		ep.emu.panels = 50
		j := crashInPrint(t, e, ep, "S-7", func() {
			ep.emu.Lock()
			ep.emu.panels, ep.emu.onCard = ep.emu.panels+2, 2
			ep.emu.inside = false
			ep.emu.Unlock()
		})
		if j.Evidence.CardPanels != 5 || j.Evidence.Panels != 50 {
			t.Fatalf("evidence before the card %+v: want the card's 5 panels and the counter", j.Evidence)
		}
		e.drain()
		got := e.wantState("S-7", StateCompleted, "")
		if got.Serial == j.Serial || len(got.Voided) != 1 || got.Voided[0] != j.Serial {
			t.Errorf("part-printed card's serial not voided and replaced: %+v", got)
		}
		if note := e.lastNote(AuditSpoiled, j.Serial); !strings.Contains(note, "only by 2 of the card's 5 panels") {
			t.Errorf("spoiled audit %q does not give the panels", note)
		}
		if n := e.audit.count(AuditPrinted, j.Serial); n != 0 {
			t.Errorf("the part-printed card was audited printed %d times", n)
		}
		ep.emu.Lock()
		defer ep.emu.Unlock()
		if ep.emu.rejected != 0 || ep.emu.delivered != 1 || ep.emu.panels != 57 {
			t.Errorf("printer: rejected %d delivered %d panels %d, want 0 1 57 (the new card whole)", ep.emu.rejected, ep.emu.delivered, ep.emu.panels)
		}
	})
	t.Run("delivered whole with panels", func(t *testing.T) {
		t.Parallel()
		e, ep := newEvEnv(t)
		ep.emu.cardPanels = 5
		j := crashInPrint(t, e, ep, "S-8", func() {
			ep.emu.Lock()
			ep.emu.inside, ep.emu.delivered, ep.emu.panels = false, ep.emu.delivered+1, ep.emu.panels+5
			ep.emu.Unlock()
		})
		e.drain()
		got := e.wantState("S-8", StateCompleted, "")
		if got.Serial != j.Serial || !strings.HasPrefix(got.Settled, "printed:") {
			t.Errorf("settled %+v", got)
		}
	})
	t.Run("never fed", func(t *testing.T) {
		t.Parallel()
		e, ep := newEvEnv(t)
		j := crashInPrint(t, e, ep, "S-3", func() {
			ep.emu.Lock()
			ep.emu.fed--
			ep.emu.inside = false
			ep.emu.Unlock()
		})
		e.drain()
		got := e.wantState("S-3", StateCompleted, "")
		if got.Serial != j.Serial || len(got.Voided) != 0 {
			t.Errorf("never-fed card did not keep its serial: %+v", got)
		}
		if !e.audit.has(AuditSettled, j.Serial) {
			t.Error("no settled audit event for the never-fed card")
		}
	})
	t.Run("different printer held", func(t *testing.T) {
		t.Parallel()
		e, ep := newEvEnv(t)
		j := crashInPrint(t, e, ep, "S-4", func() {
			ep.emu.Lock()
			ep.emu.serial, ep.emu.inside = "EVO-2", false
			ep.emu.Unlock()
		})
		e.drain()
		got := e.wantState("S-4", StateHeld, ReasonOutcomeUnknown)
		if !strings.Contains(got.Settled, "different printer") || got.EvidenceAfter == nil {
			t.Errorf("held without the evidence: %+v", got)
		}
		if !strings.Contains(e.lastNote(AuditSettled, j.Serial), "EVO-2") {
			t.Errorf("held decision's audit does not name the evidence: %q", e.lastNote(AuditSettled, j.Serial))
		}
		// Decided once: a later poll does not decide again.
		e.drain()
		if n := e.audit.count(AuditSettled, j.Serial); n != 1 {
			t.Errorf("%d settled events, want 1", n)
		}
	})
	t.Run("unreachable then settled", func(t *testing.T) {
		t.Parallel()
		e, ep := newEvEnv(t)
		j := crashInPrint(t, e, ep, "S-5", func() {
			ep.emu.Lock()
			ep.emu.evidenceErr = printer.ErrOffline
			ep.emu.Unlock()
		})
		if _, err := e.s.Poll(ctx, "p1"); err != nil {
			t.Fatal(err)
		}
		e.wantState("S-5", StateHeld, ReasonOutcomeUnknown)
		ep.emu.Lock()
		ep.emu.evidenceErr = nil
		ep.emu.Unlock()
		if _, err := e.s.Poll(ctx, "p1"); err != nil {
			t.Fatal(err)
		}
		got := e.wantState("S-5", StatePending, "spoiled")
		if len(got.Voided) != 1 || got.Voided[0] != j.Serial {
			t.Errorf("voided %v, want %s", got.Voided, j.Serial)
		}
	})
	t.Run("crash after the reject intent", func(t *testing.T) {
		t.Parallel()
		e, ep := newEvEnv(t)
		j := crashInPrint(t, e, ep, "S-6", func() {})
		// The settlement's reject is interrupted after the printer
		// rejected the card, before the outcome was journaled.
		ep.emu.Lock()
		ep.emu.ejectErr = nil
		ep.emu.Unlock()
		if err := e.s.transition(Record{Job: j.Num, State: StateHeld, Reason: ReasonOutcomeUnknown, Rejecting: RejectingCard}); err != nil {
			t.Fatal(err)
		}
		if err := ep.Eject(ctx, true); err != nil {
			t.Fatal(err)
		}
		e.crash()
		e.drain()
		got := e.wantState("S-6", StateCompleted, "")
		if got.Serial == j.Serial || !e.audit.has(AuditSpoiled, j.Serial) {
			t.Errorf("rejected card not counted spoiled: %+v", got)
		}
		ep.emu.Lock()
		defer ep.emu.Unlock()
		if ep.emu.rejected != 1 {
			t.Errorf("printer rejected %d cards, want 1 (never twice)", ep.emu.rejected)
		}
	})
}

// lastNote returns the note of the last audit event of kind about serial.
func (e *env) lastNote(kind AuditKind, serial string) string {
	e.audit.mu.Lock()
	defer e.audit.mu.Unlock()
	note := ""
	for _, ev := range e.audit.events {
		if ev.Kind == kind && ev.Serial == serial {
			note = ev.Reason
		}
	}
	return note
}

// newEvEnvBatch is newEvEnv in permanent mode, one job a batch.
func newEvEnvBatch(t *testing.T) (*env, *evPrinter) {
	t.Helper()
	var ep *evPrinter
	e := newEnvConfig(t, PolicyRetryJob, func(c *Config) {
		c.Mode = "permanent"
		c.Batching = Batching{Size: 1, Window: time.Hour}
		if ep == nil {
			ep = &evPrinter{fakePrinter: c.Printers[0].Printer.(*fakePrinter)}
			ep.emu.serial = "EVO-1"
		}
		c.Printers[0].Printer = ep
	})
	return e, ep
}

// TestSettledBatchReport: a batch's report counts a settled card once:
// spoiled (the card found inside, rejected) with the reprint's blank, or
// not at all (never fed); nothing stays unknown.
func TestSettledBatchReport(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name                    string
		after                   func(ep *evPrinter)
		spoiled, blanks, voided int
	}{
		{"inside", func(*evPrinter) {}, 1, 2, 1},
		{"never fed", func(ep *evPrinter) { ep.emu.fed--; ep.emu.inside = false }, 0, 1, 0},
		{"delivered", func(ep *evPrinter) { ep.emu.inside = false; ep.emu.delivered++ }, 0, 1, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e, ep := newEvEnvBatch(t)
			crashInPrint(t, e, ep, "B-1", func() {
				ep.emu.Lock()
				tc.after(ep)
				ep.emu.Unlock()
			})
			e.drain()
			j := e.wantState("B-1", StateCompleted, "")
			rep, err := e.s.BatchReport(j.Batch)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Printed != 1 || rep.Unknown != 0 || rep.Spoiled != tc.spoiled || rep.BlanksUsed != tc.blanks || rep.Voided != tc.voided {
				t.Errorf("report %+v", rep)
			}
			ep.emu.Lock()
			defer ep.emu.Unlock()
			if ep.emu.rejected != tc.spoiled || ep.emu.fed != tc.blanks {
				t.Errorf("printer rejected %d, fed %d; report spoiled %d, blanks %d", ep.emu.rejected, ep.emu.fed, rep.Spoiled, rep.BlanksUsed)
			}
		})
	}
}

// TestStrayIntentCountedAtRestart: the daemon is killed after journaling
// that a stray card inside is about to be rejected, before the reject: the
// restart counts that blank once (spoiled audit, stray in the journal), and
// settlement finds the stray still inside, rejects it without counting it
// again, and requeues the job, whose card was never fed, with its serial.
func TestStrayIntentCountedAtRestart(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e, ep := newEvEnv(t)
	ep.emu.Lock()
	ep.emu.fed, ep.emu.inside = 1, true // left by an earlier attempt
	ep.emu.Unlock()
	e.submit("T-1", nil)
	if err := e.s.Rescan(ctx); err != nil {
		t.Fatal(err)
	}
	noticed := make(chan struct{})
	block := make(chan struct{})
	t.Cleanup(func() { close(block) })
	ep.strayStage = func() { close(noticed); <-block }
	go e.s.ProcessNext(ctx, "p1")
	<-noticed
	ep.strayStage = nil
	e.crash()
	j := e.wantState("T-1", StateHeld, ReasonOutcomeUnknown)
	if !j.StrayCounted || len(strayEvents(t, e.audit)) != 1 {
		t.Fatalf("stray not counted at restart: %+v, events %v", j, strayEvents(t, e.audit))
	}
	e.drain()
	got := e.wantState("T-1", StateCompleted, "")
	if got.Serial != j.Serial || len(got.Voided) != 0 {
		t.Errorf("job did not keep its serial: %+v", got)
	}
	if n := len(strayEvents(t, e.audit)); n != 1 {
		t.Errorf("%d stray spoiled events, want 1", n)
	}
	ep.emu.Lock()
	defer ep.emu.Unlock()
	if ep.emu.rejected != 1 || ep.emu.delivered != 1 || ep.emu.inside {
		t.Errorf("printer: rejected %d, delivered %d, inside %v; want 1, 1, false", ep.emu.rejected, ep.emu.delivered, ep.emu.inside)
	}
}
