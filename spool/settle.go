package spool

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/cardd/cardd/printer"
)

// Settlement. A card whose outcome is unknown (the daemon was killed, or
// the link lost, while the card was in the printer) is never printed again
// blindly. But the printer usually knows what became of it: before each
// card is fed the scheduler journals the printer's Evidence (its serial,
// its counters, whether a card is inside) with the printing record, and
// when the printer answers again it reads the same evidence and decides by
// rule (Decide):
//
//   - the card counter advanced by exactly one and no card is inside: the
//     card came out printed (completed; audited printed) — for a counter of
//     cards fed (Evolis), only when the panel counter advanced by exactly
//     the card's panels (journaled with the evidence, when the driver can
//     count them);
//   - a counter of cards fed advanced by one, no card inside, but the panel
//     counter by less than the card's panels: the card left part-printed
//     (pulled out by hand, or sent out by the printer itself); it is
//     spoiled, its serial voided (the card may be in someone's hands) and
//     the job goes back to the queue for a new card — voiding is the safe
//     side whichever way it left, so no person is needed;
//   - a card is inside: it is the job's card, stopped mid-way; it is sent to
//     the reject box (the intent journaled first), counted spoiled, its
//     serial voided, and the job goes back to the queue for a new card;
//   - nothing advanced and no card is inside: the card was never fed; the
//     job goes back to the queue with its serial;
//   - anything else (counters missing, a jump of more than one, another
//     printer's serial, a card of another job sent to the printer after
//     this one, a card inside that this job's counter did not count, a
//     panel counter missing, gone back or moved by more than the card's
//     panels): the job stays held for a person, with both evidences shown.
//
// Every decision is journaled with the evidence read (Record.After,
// Record.Settled) and audited: printed, spoiled, or a "settled" record for
// never-fed and held decisions, each naming its evidence.

// Evidencer is a Printer that can report its Evidence and send a card
// inside to the reject box. The scheduler journals evidence before each
// card and settles unknown outcomes when the printer implements it; an
// Evidence error wrapping printer.ErrUnsupported means the printer cannot
// tell, and such cards stay held for a person as before.
type Evidencer interface {
	Evidence(ctx context.Context) (printer.Evidence, error)
	Eject(ctx context.Context, reject bool) error
}

// Reject intents (Record.Rejecting).
const (
	// RejectingCard: the job's own card is about to go to the reject box.
	RejectingCard = "card"
	// RejectingStray: a card left inside by an earlier attempt is about
	// to go to the reject box before the job's card.
	RejectingStray = "stray"
)

// AuditSettled is the audit event of an automatic settlement that neither
// printed nor spoiled a card: the card was never fed (the job is requeued
// with its serial), or the evidence could not decide and the job stays
// held. The note names the decision and the evidence.
const AuditSettled AuditKind = "settled"

// Settlement is a settlement's decision about one card of unknown outcome.
type Settlement string

// Verdicts.
const (
	// SettlePrinted: the card came out printed.
	SettlePrinted Settlement = "printed"
	// SettleReject: the card is still inside: reject it; spoiled.
	SettleReject Settlement = "reject"
	// SettleRejected: the card went to the reject box (the reject intent
	// was journaled before a crash); spoiled.
	SettleRejected Settlement = "rejected"
	// SettlePartPrinted: the card was fed, printed only in part (the
	// panel counter moved by less than the card's panels) and is not in
	// the printer: taken out by hand, or ejected by the printer itself.
	// Spoiled: its serial voided (the card may be in someone's hands),
	// the job requeued for a new card.
	SettlePartPrinted Settlement = "part-printed"
	// SettleNotFed: the card never left the feeder.
	SettleNotFed Settlement = "not-fed"
	// SettleStrayInside: the card inside is the stray found before this
	// card (already counted spoiled); this card was never fed. Reject the
	// stray, requeue the job with its serial.
	SettleStrayInside Settlement = "stray-inside"
	// SettleHold: the evidence cannot decide; a person must.
	SettleHold Settlement = "hold"
)

// SettleCase is what Decide decides from.
type SettleCase struct {
	// Before is the evidence journaled before the card was fed, After
	// what the printer says now.
	Before, After printer.Evidence
	// Rejecting is the job's reject intent not yet settled.
	Rejecting string
	// StrayCounted: a card found inside before this one was counted as a
	// stray (spoiled) in this attempt.
	StrayCounted bool
	// Later names another job whose card went to the same printer after
	// this one's evidence was read ("" when none): its card may be in the
	// counters.
	Later string
}

// Decide applies the settlement rules to one card and says why, naming the
// evidence. It is a pure function of its input.
func Decide(c SettleCase) (Settlement, string) {
	b, a := c.Before, c.After
	ev := fmt.Sprintf("before the card: %s; now: %s", b, a)
	hold := func(why string) (Settlement, string) { return SettleHold, why + " (" + ev + ")" }
	if c.Later != "" {
		return hold("a card of job " + c.Later + " went to this printer after this one: the counters cannot tell the two apart")
	}
	switch {
	case b.Serial == "" || a.Serial == "":
		return hold("printer serial number missing")
	case b.Serial != a.Serial:
		return hold(fmt.Sprintf("a different printer: serial %s before the card, %s now", b.Serial, a.Serial))
	}
	if b.Fed >= 0 && a.Fed >= 0 {
		return decideFed(c, a.Fed-b.Fed, hold, ev)
	}
	if b.Printed >= 0 && a.Printed >= 0 {
		return decidePrinted(c, a.Printed-b.Printed, hold, ev)
	}
	return hold("card counters missing")
}

// decideFed decides from a counter of cards fed (Evolis's cards inserted)
// and the card position.
func decideFed(c SettleCase, d int, hold func(string) (Settlement, string), ev string) (Settlement, string) {
	b, a := c.Before, c.After
	switch {
	case d < 0:
		return hold(fmt.Sprintf("cards-fed counter went back by %d", -d))
	case d > 1:
		return hold(fmt.Sprintf("cards-fed counter jumped by %d", d))
	case a.Inside == printer.PresenceUnknown:
		return hold("the printer cannot tell whether a card is inside")
	}
	inside := a.Inside == printer.PresenceCard
	if b.Inside == printer.PresenceCard {
		// A stray was inside before this card: the driver rejects it
		// first, with its intent journaled (counted at restart when
		// pending, StrayCounted).
		if c.Rejecting != RejectingStray && !c.StrayCounted {
			return hold("a card was inside before this one and its rejection was never recorded")
		}
	} else if c.Rejecting == RejectingStray {
		return hold("a stray card's rejection was recorded though no card was inside before this one")
	}
	strayBefore := b.Inside == printer.PresenceCard
	if c.Rejecting == RejectingCard {
		if d != 1 {
			return hold("the card's rejection was recorded but the cards-fed counter did not move")
		}
		if inside {
			return SettleReject, "the card's rejection was recorded and it is still inside: sent to the reject box (" + ev + ")"
		}
		return SettleRejected, "the card's rejection was recorded, the cards-fed counter moved by one and no card is inside: in the reject box (" + ev + ")"
	}
	switch {
	case d == 1 && !inside:
		return decideGone(c, hold, ev)
	case d == 1 && inside:
		return SettleReject, "cards-fed counter moved by one and the card is inside: sent to the reject box (" + ev + ")"
	case d == 0 && !inside:
		if b.CardPanels > 0 && b.Panels >= 0 && a.Panels >= 0 && a.Panels != b.Panels {
			return hold(fmt.Sprintf("cards-fed counter did not move but the panel counter moved by %d", a.Panels-b.Panels))
		}
		return SettleNotFed, "cards-fed counter did not move and no card is inside: never fed (" + ev + ")"
	case strayBefore:
		return SettleStrayInside, "cards-fed counter did not move and the card found inside before this one is still there: it is rejected, this card was never fed (" + ev + ")"
	default:
		return hold("a card is inside that this job's cards-fed counter did not count")
	}
}

// decideGone decides about a card the cards-fed counter counted and that is
// no longer inside, without a reject recorded. Evolis counts cards fed,
// not delivered: a card pulled out by hand mid-print, or one the printer
// sent out itself, looks like a delivered card to that counter. The panel
// counter tells them apart: a card printed whole moved it by exactly the
// card's panels (Evidence.CardPanels, journaled before the card).
func decideGone(c SettleCase, hold func(string) (Settlement, string), ev string) (Settlement, string) {
	b, a := c.Before, c.After
	if b.CardPanels <= 0 {
		// Evidence journaled without the card's panels (an older cardd,
		// or a driver that cannot count them): the cards-fed counter
		// alone.
		return SettlePrinted, "cards-fed counter moved by one and no card is inside: delivered (" + ev + ")"
	}
	if b.Panels < 0 || a.Panels < 0 {
		return hold("panel counter missing: a card fed and gone may have been taken out part-printed")
	}
	switch dp := a.Panels - b.Panels; {
	case dp == b.CardPanels:
		return SettlePrinted, fmt.Sprintf("cards-fed counter moved by one, the panel counter by the card's %d panels and no card is inside: delivered (%s)", dp, ev)
	case dp < 0:
		return hold(fmt.Sprintf("panel counter went back by %d", -dp))
	case dp > b.CardPanels:
		return hold(fmt.Sprintf("panel counter moved by %d, more than the card's %d panels", dp, b.CardPanels))
	default:
		return SettlePartPrinted, fmt.Sprintf("cards-fed counter moved by one but the panel counter only by %d of the card's %d panels and no card is inside: part-printed and taken out of the printer (by hand, or sent out by the printer itself): spoiled (%s)", dp, b.CardPanels, ev)
	}
}

// decidePrinted decides from a counter of cards printed (Magicard's INF
// total), with the card position when the printer tells it.
func decidePrinted(c SettleCase, d int, hold func(string) (Settlement, string), ev string) (Settlement, string) {
	b, a := c.Before, c.After
	switch {
	case c.Rejecting != "" || c.StrayCounted:
		return hold("a card was sent to the reject box during this card and the printer counts only printed cards")
	case b.Inside == printer.PresenceCard:
		return hold("a card was inside before this one")
	case d < 0:
		return hold(fmt.Sprintf("cards-printed counter went back by %d", -d))
	case d > 1:
		return hold(fmt.Sprintf("cards-printed counter jumped by %d", d))
	case d == 1 && a.Inside != printer.PresenceCard:
		return SettlePrinted, "cards-printed counter moved by one: delivered (" + ev + ")"
	case d == 1:
		return hold("cards-printed counter moved by one but a card is inside")
	case a.Inside == printer.PresenceNone && b.Inside == printer.PresenceNone:
		return SettleNotFed, "cards-printed counter did not move and no card is inside: never fed (" + ev + ")"
	case a.Inside == printer.PresenceCard && b.Inside == printer.PresenceNone:
		return SettleReject, "cards-printed counter did not move and the card is inside: sent to the reject box (" + ev + ")"
	default:
		return hold("cards-printed counter did not move and the printer cannot tell whether the card is inside or was never fed")
	}
}

// settleHeld settles the cards of unknown outcome on p (jobs held with
// outcome unknown whose evidence before the card was journaled and that no
// settlement decided yet). The caller holds p.mu, so no card is in the
// printer. A printer that cannot be read now is tried again later.
func (s *Scheduler) settleHeld(ctx context.Context, p *printerState) error {
	ep, ok := p.cfg.Printer.(Evidencer)
	sp := s.sp
	name := p.cfg.Name
	sp.mu.Lock()
	if !p.unsettled {
		sp.mu.Unlock()
		return nil
	}
	if !ok {
		p.unsettled = false
		sp.mu.Unlock()
		return nil
	}
	var cands []Job
	var last *Job
	for _, j := range sp.jobs {
		if j.Printer != name || j.Evidence == nil {
			continue
		}
		if last == nil || laterCard(j, last) {
			last = j
		}
		if j.State == StateHeld && j.Reason == ReasonOutcomeUnknown && j.Settled == "" && j.Serial != "" {
			cands = append(cands, *j)
		}
	}
	var lastNum uint64
	var lastID string
	if last != nil {
		lastNum, lastID = last.Num, last.ID
	}
	sp.mu.Unlock()
	if len(cands) == 0 {
		s.settledAll(p)
		return nil
	}
	sort.Slice(cands, func(a, b int) bool { return cands[a].Num < cands[b].Num })
	after, err := ep.Evidence(ctx)
	if errors.Is(err, printer.ErrUnsupported) {
		s.settledAll(p)
		return nil
	}
	if err != nil {
		// Not reachable yet: the next poll tries again.
		return fmt.Errorf("spool: printer %s: read evidence to settle %d card(s) of unknown outcome: %w", name, len(cands), err)
	}
	after.At = s.now()
	var errs []error
	for _, j := range cands {
		c := SettleCase{Before: *j.Evidence, After: after, Rejecting: j.Rejecting, StrayCounted: j.StrayCounted}
		if j.Num != lastNum {
			c.Later = lastID
			if c.Later == "" {
				c.Later = fmt.Sprint(lastNum)
			}
		}
		v, why := Decide(c)
		if err := s.applyVerdict(ctx, ep, p, &j, after, v, why); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) == 0 {
		s.settledAll(p)
	}
	return errors.Join(errs...)
}

// settledAll clears p's flag of cards to settle.
func (s *Scheduler) settledAll(p *printerState) {
	s.sp.mu.Lock()
	p.unsettled = false
	s.sp.mu.Unlock()
}

// laterCard reports whether a's card went to the printer after b's
// (evidence read later; the journal order breaks a tie).
func laterCard(a, b *Job) bool {
	if !a.Evidence.At.Equal(b.Evidence.At) {
		return a.Evidence.At.After(b.Evidence.At)
	}
	return a.evidenceSeq > b.evidenceSeq
}

// applyVerdict journals and carries out one settlement decision.
func (s *Scheduler) applyVerdict(ctx context.Context, ep Evidencer, p *printerState, j *Job, after printer.Evidence, v Settlement, why string) error {
	log := s.log.With("job", j.Num, "id", j.ID, "serial", j.Serial, "printer", p.cfg.Name)
	at := &after
	settled := string(v) + ": " + why
	switch v {
	case SettlePrinted:
		log.Info("unknown outcome settled: card printed", "why", why)
		if err := s.commit(ctx, Record{Job: j.Num, State: StateCompleted, Outcome: printer.OutcomePrinted, After: at, Settled: settled,
			Audit: &PendingAudit{Kind: AuditPrinted, Serial: j.Serial, Note: "settled from the printer's evidence: " + why}}); err != nil {
			return err
		}
		return s.voidReprinted(ctx, j)
	case SettleReject, SettleRejected, SettlePartPrinted:
		if v == SettleReject {
			// The intent first: a crash after the reject command still
			// counts the blank (the next settlement finds it rejected).
			if err := s.transition(Record{Job: j.Num, State: StateHeld, Reason: ReasonOutcomeUnknown, Rejecting: RejectingCard, After: at}); err != nil {
				return err
			}
			if err := ep.Eject(ctx, true); err != nil {
				log.Error("unknown outcome: the card inside could not be sent to the reject box; job stays held", "err", err)
				return s.commit(ctx, Record{Job: j.Num, State: StateHeld, Reason: ReasonOutcomeUnknown, After: at,
					Settled: fmt.Sprintf("hold: the card inside could not be sent to the reject box (%v); %s", err, why),
					Audit:   &PendingAudit{Kind: AuditSettled, Serial: j.Serial, Note: fmt.Sprintf("held: reject failed: %v; %s", err, why)}})
			}
		}
		log.Warn("unknown outcome settled: card spoiled, job requeued for a new card", "why", why)
		return s.commit(ctx, Record{Job: j.Num, State: StatePending, Void: true, Serial: j.Serial, Outcome: printer.OutcomeRejected,
			Reason: "spoiled (settled from the printer's evidence)", After: at, Settled: settled,
			Audit: &PendingAudit{Kind: AuditSpoiled, Serial: j.Serial, Note: "settled from the printer's evidence: " + why}})
	case SettleStrayInside:
		if err := ep.Eject(ctx, true); err != nil {
			log.Error("unknown outcome: the stray card inside could not be sent to the reject box; job stays held", "err", err)
			return s.commit(ctx, Record{Job: j.Num, State: StateHeld, Reason: ReasonOutcomeUnknown, After: at,
				Settled: fmt.Sprintf("hold: the stray card inside could not be sent to the reject box (%v); %s", err, why),
				Audit:   &PendingAudit{Kind: AuditSettled, Serial: j.Serial, Note: fmt.Sprintf("held: reject failed: %v; %s", err, why)}})
		}
		fallthrough
	case SettleNotFed:
		log.Info("unknown outcome settled: card never fed, job requeued with its serial", "why", why)
		return s.commit(ctx, Record{Job: j.Num, State: StatePending, Outcome: printer.OutcomeNotFed,
			Reason: "requeued: card never fed (settled from the printer's evidence)", After: at, Settled: settled,
			Audit: &PendingAudit{Kind: AuditSettled, Serial: j.Serial, Note: "never fed, requeued with its serial: " + why}})
	default:
		log.Warn("unknown outcome not settled: held for a person", "why", why)
		return s.commit(ctx, Record{Job: j.Num, State: StateHeld, Reason: ReasonOutcomeUnknown, After: at, Settled: settled,
			Audit: &PendingAudit{Kind: AuditSettled, Serial: j.Serial, Note: "held for a person: " + why}})
	}
}

// evidenceBefore reads p's evidence before card is fed, with the panels the
// card takes when the driver can tell (printer.PanelCounter); nil when the
// printer cannot tell or cannot be read (the card is then held as before
// if its outcome becomes unknown).
func (s *Scheduler) evidenceBefore(ctx context.Context, p *printerState, c *claim, card *printer.Card) *printer.Evidence {
	ep, ok := p.cfg.Printer.(Evidencer)
	if !ok {
		return nil
	}
	ev, err := ep.Evidence(ctx)
	if err != nil {
		if !errors.Is(err, printer.ErrUnsupported) {
			c.log.Warn("printer evidence not read before the card; an unknown outcome would stay held", "err", err)
		}
		return nil
	}
	ev.At = s.now()
	if pc, ok := p.cfg.Printer.(printer.PanelCounter); ok && card != nil {
		n, err := pc.CardPanels(card)
		switch {
		case err == nil:
			ev.CardPanels = n
		case !errors.Is(err, printer.ErrUnsupported):
			c.log.Warn("the card's panel count not known before the card; an unknown outcome is settled from the cards-fed counter alone", "err", err)
		}
	}
	return &ev
}
