package evolis_test

import (
	"context"
	"errors"
	"testing"

	"github.com/cardd/cardd/printer"
	"github.com/cardd/cardd/printer/emulator"
)

// TestPreflightFaultFeedsNoCard: with a blocking fault already showing in
// the status, Print returns not-fed with the fault's sentinel inside a
// *printer.StatusError, and the emulator takes no card from its feeder.
func TestPreflightFaultFeedsNoCard(t *testing.T) {
	g := printer.CR80(300)
	tests := []struct {
		fault  emulator.Fault
		want   error
		reason printer.Reason
	}{
		{emulator.FaultCoverOpen, printer.ErrCoverOpen, printer.ReasonCoverOpen},
		{emulator.FaultRibbonOut, printer.ErrRibbonOut, printer.ReasonRibbonOut},
		{emulator.FaultFeederEmpty, printer.ErrFeederEmpty, printer.ReasonFeederEmpty},
		{emulator.FaultHopperFull, printer.ErrHopperFull, printer.ReasonHopperFull},
	}
	for _, tc := range tests {
		t.Run(string(tc.fault), func(t *testing.T) {
			t.Parallel()
			e, dev := newRig(t, nil, nil)
			ctx := context.Background()
			// One good card first, so the counters are not trivially zero.
			if _, err := dev.Print(ctx, testCard(g, cardKind{color: true})); err != nil {
				t.Fatal(err)
			}
			before := e.State()
			if err := e.Inject(tc.fault); err != nil {
				t.Fatal(err)
			}
			res, err := dev.Print(ctx, testCard(g, cardKind{duplex: true, color: true}))
			if !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
			var se *printer.StatusError
			if !errors.As(err, &se) || se.Op != "print" || !hasReason(se.Reasons, tc.reason) {
				t.Errorf("error %v: want a *printer.StatusError of op print with %s", err, tc.reason)
			}
			if res.Outcome != printer.OutcomeNotFed {
				t.Errorf("outcome %s, want %s", res.Outcome, printer.OutcomeNotFed)
			}
			if !hasReason(res.Status.Reasons, tc.reason) {
				t.Errorf("result status reasons %v lack %s", res.Status.Reasons, tc.reason)
			}
			after := e.State()
			if after.CardsFed != before.CardsFed || after.PanelsPrinted != before.PanelsPrinted || after.RejectCards != before.RejectCards {
				t.Errorf("emulator moved: fed %d→%d, panels %d→%d, rejected %d→%d",
					before.CardsFed, after.CardsFed, before.PanelsPrinted, after.PanelsPrinted, before.RejectCards, after.RejectCards)
			}
			if n := len(e.Printed()); n != 1 {
				t.Errorf("emulator holds %d cards, want the 1 printed before the fault", n)
			}
		})
	}
}
