package magicard_test

import (
	"context"
	"testing"

	"github.com/cardd/cardd/printer"
	"github.com/cardd/cardd/printer/emulator"
	"github.com/cardd/cardd/printer/magicard"
	"github.com/cardd/cardd/spool"
)

// TestEvidence: INF gives the printer's serial and its card count, which
// moves by one with a printed card; the language cannot say whether a card
// is inside, and the settlement rules take that into account: a count up
// by one settles printed, an unchanged count stays held.
func TestEvidence(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	emu, dev := newRig(t, "", emulator.FaultPlan{}, magicard.Opts{})
	before, err := dev.Evidence(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if before.Serial == "" || before.Serial != emu.Machine().Identity().Serial || before.Printed != emu.State().CardsPrinted ||
		before.Fed != -1 || before.Rejected != -1 || before.Inside != printer.PresenceUnknown {
		t.Fatalf("evidence %+v; emulator serial %q, printed %d", before, emu.Machine().Identity().Serial, emu.State().CardsPrinted)
	}
	if got, _ := spool.Decide(spool.SettleCase{Before: before, After: before}); got != spool.SettleHold {
		t.Errorf("unchanged count: %s, want hold (inside or never fed cannot be told apart)", got)
	}
	if _, err := dev.Print(ctx, magicard.SampleCard(false, false)); err != nil {
		t.Fatal(err)
	}
	after, err := dev.Evidence(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if after.Printed != before.Printed+1 || after.Serial != before.Serial {
		t.Fatalf("after a card: %+v, before %+v", after, before)
	}
	if got, why := spool.Decide(spool.SettleCase{Before: before, After: after}); got != spool.SettlePrinted {
		t.Errorf("count up by one: %s (%s), want printed", got, why)
	}
}
