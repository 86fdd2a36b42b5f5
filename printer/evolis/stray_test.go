package evolis_test

import (
	"context"
	"errors"
	"testing"

	"github.com/cardd/cardd/printer"
	"github.com/cardd/cardd/printer/emulator"
	"github.com/cardd/cardd/printer/evolis"
)

// TestStrayCardRejectedBeforePrint: a link lost mid-card leaves the card
// inside the printer. After the reconnect, the next Print finds it (Rlr;p
// "CARD"), sends it to the reject box and prints the new card on a fresh
// blank: the reject box gains exactly one card, the new card is the only
// one delivered as printed, and no card is printed over another. With
// RejectOnFault off, Print refuses with ErrBusy and feeds nothing.
func TestStrayCardRejectedBeforePrint(t *testing.T) {
	g := printer.CR80(300)
	first := testCard(g, cardKind{duplex: true, color: true})
	s, err := evolis.Encode(first, nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		reject bool
	}{
		{"reject on fault", true},
		{"reject off", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			e, dev := newRig(t, &emulator.Options{Faults: emulator.FaultPlan{DisconnectAtByte: int64(s.Commands[5].Start + 1000)}}, nil)
			res, err := dev.Print(ctx, first)
			if !errors.Is(err, printer.ErrNoDevice) || res.Outcome != printer.OutcomeUnknown {
				t.Fatalf("print across the disconnect: outcome %s, err %v; want unknown, ErrNoDevice", res.Outcome, err)
			}
			e.Reconnect()
			o := evolis.DefaultOpts()
			o.RejectOnFault = tc.reject
			dev2 := evolis.New(e.Transport(), &o, nil)
			st, err := dev2.Status(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if st.State != printer.StateBusy {
				t.Fatalf("state after reconnect %s, want busy (the card is still inside)", st.State)
			}
			before := e.State()
			if !before.CardInside {
				t.Fatal("emulator: no card inside after the disconnect")
			}
			second := testCard(g, cardKind{color: true})
			res, err = dev2.Print(ctx, second)
			after := e.State()
			if !tc.reject {
				if !errors.Is(err, printer.ErrBusy) || res.Outcome != printer.OutcomeNotFed || res.StrayRejected {
					t.Fatalf("outcome %s, stray rejected %v, err %v; want not-fed, false, ErrBusy", res.Outcome, res.StrayRejected, err)
				}
				if after.CardsFed != before.CardsFed || after.RejectCards != before.RejectCards || after.PanelsPrinted != before.PanelsPrinted || !after.CardInside {
					t.Errorf("emulator moved: fed %d→%d, rejected %d→%d, panels %d→%d, card inside %v",
						before.CardsFed, after.CardsFed, before.RejectCards, after.RejectCards, before.PanelsPrinted, after.PanelsPrinted, after.CardInside)
				}
				return
			}
			if err != nil || res.Outcome != printer.OutcomePrinted {
				t.Fatalf("print after reconnect: outcome %s, err %v", res.Outcome, err)
			}
			if !res.StrayRejected {
				t.Error("Result.StrayRejected not set")
			}
			if after.RejectCards != before.RejectCards+1 {
				t.Errorf("reject box %d → %d, want one more", before.RejectCards, after.RejectCards)
			}
			if after.CardsFed != before.CardsFed+1 {
				t.Errorf("cards fed %d → %d, want one new blank", before.CardsFed, after.CardsFed)
			}
			if after.CardInside {
				t.Error("a card is still inside after the print")
			}
			pcs := e.Printed()
			if len(pcs) != 2 {
				t.Fatalf("emulator delivered %d cards, want 2 (the stray rejected, the new one printed)", len(pcs))
			}
			stray, got := pcs[0], pcs[1]
			if stray.Outcome != printer.OutcomeRejected || got.Outcome != printer.OutcomePrinted {
				t.Fatalf("outcomes %s, %s; want rejected then printed", stray.Outcome, got.Outcome)
			}
			if stray.Seq == got.Seq {
				t.Fatalf("the new card was printed on the stray card (card %d)", got.Seq)
			}
			if got.Card.Back != nil {
				t.Error("the simplex card came out with a back: printed over the stray duplex card")
			}
			compareSide(t, "front", &got.Card.Front, &second.Front, 7)
		})
	}
}
