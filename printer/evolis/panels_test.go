package evolis_test

import (
	"context"
	"errors"
	"image"
	"strings"
	"testing"

	"github.com/cardd/cardd/printer"
	"github.com/cardd/cardd/printer/emulator"
	"github.com/cardd/cardd/printer/evolis"
	"github.com/cardd/cardd/spool"
)

// panelDownloads counts the panel downloads of a stream (each is one
// panel printed).
func panelDownloads(s *evolis.Stream) int {
	n := 0
	for _, c := range s.Commands {
		switch c.Name {
		case "Db", "Dbc", "Dbp", "Dbpc":
			n++
		}
	}
	return n
}

// TestCardPanels: CardPanels is the number of panel downloads Encode sends
// for every kind of card and ribbon, and the emulator's panel counter
// (Rco;p, what settlement reads) moves by exactly that much per card.
func TestCardPanels(t *testing.T) {
	g := printer.CR80(300)
	white := image.NewRGBA(g.Bounds())
	for i := range white.Pix {
		white.Pix[i] = 0xff
	}
	blankColour := &printer.Card{Geometry: g, Front: printer.Side{Color: white, K: testMono(g, 3, 4), Overlay: fullOverlay(g)}}
	kOnly := &printer.Card{Geometry: g, Front: printer.Side{K: testMono(g, 3, 4)}}
	for _, tc := range []struct {
		name     string
		card     *printer.Card
		ribbon   string
		compress bool
		want     int
	}{
		{"simplex ymcko", testCard(g, cardKind{color: true}), "ymcko", true, 5},
		{"simplex ymcko uncompressed", testCard(g, cardKind{color: true}), "ymcko", false, 5},
		{"duplex ymcko", testCard(g, cardKind{color: true, duplex: true}), "ymcko", true, 9},
		{"duplex mono with stripe", testCard(g, cardKind{duplex: true, mag: true}), "ko", true, 3},
		{"k only", kOnly, "k", true, 1},
		{"half panel with colour", halfCard(g), "ymckos", true, 5},
		{"half panel without dye", blankColour, "ymckos", false, 2},
		{"full panel white colour", blankColour, "ymcko", true, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := evolis.DefaultOpts()
			o.Ribbon, o.Compress, o.Duplex, o.Magnetic = tc.ribbon, tc.compress, true, true
			n, err := evolis.CardPanels(tc.card, &o)
			if err != nil {
				t.Fatal(err)
			}
			s, err := evolis.Encode(tc.card, &o)
			if err != nil {
				t.Fatal(err)
			}
			if n != tc.want || n != panelDownloads(s) {
				t.Fatalf("CardPanels = %d, want %d; Encode sends %d panel downloads", n, tc.want, panelDownloads(s))
			}
			id := emulator.EvolisIdentity()
			id.Ribbon = strings.ToUpper(tc.ribbon)
			id.Duplex, id.Magnetic = true, true
			_, dev := newRig(t, &emulator.Options{Identity: id}, &o)
			ctx := context.Background()
			before, err := dev.Evidence(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if res, err := dev.Print(ctx, tc.card); err != nil || res.Outcome != printer.OutcomePrinted {
				t.Fatalf("print: %v %v", res.Outcome, err)
			}
			after, err := dev.Evidence(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if after.Panels-before.Panels != n || after.Fed-before.Fed != 1 {
				t.Fatalf("the printer counted %d panels and %d cards for a card of %d panels", after.Panels-before.Panels, after.Fed-before.Fed, n)
			}
			if m, err := dev.CardPanels(tc.card); err != nil || m != n {
				t.Fatalf("Dev.CardPanels = %d, %v", m, err)
			}
		})
	}
	if _, err := evolis.CardPanels(&printer.Card{Geometry: g, Front: printer.Side{K: testMono(g, 1, 1), UV: testMono(g, 1, 1)}}, nil); !errors.Is(err, printer.ErrUnsupported) {
		t.Errorf("a card with a UV panel: %v, want Encode's refusal", err)
	}
}

// TestPartPrintedCardTakenOut: the link dies after some of a card's panels
// (the daemon killed mid-card): the printer has counted the card fed and
// only the panels it printed, and the card is inside. A person pulls it
// out by hand. The cards-fed counter alone says "delivered"; the panel
// counter says the card is part-printed, and settlement spoils it (serial
// voided, job requeued) instead of calling it printed. Had it been printed
// whole and delivered, the counters agree and it is printed.
func TestPartPrintedCardTakenOut(t *testing.T) {
	ctx := context.Background()
	g := printer.CR80(300)
	card := testCard(g, cardKind{duplex: true, color: true})
	o := evolis.DefaultOpts()
	o.Duplex = true
	s, err := evolis.Encode(card, &o)
	if err != nil {
		t.Fatal(err)
	}
	// Cut the link inside the fourth panel download: three printed.
	cut, seen := 0, 0
	for _, c := range s.Commands {
		if c.Name == "Db" || c.Name == "Dbc" {
			seen++
			if seen == 4 {
				cut = c.Start + (c.End-c.Start)/2
				break
			}
		}
	}
	id := emulator.EvolisIdentity()
	id.Duplex = true
	e, dev := newRig(t, &emulator.Options{Identity: id, Faults: emulator.FaultPlan{DisconnectAtByte: int64(cut)}}, &o)
	before, err := dev.Evidence(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if before.CardPanels, err = dev.CardPanels(card); err != nil || before.CardPanels != 9 {
		t.Fatalf("card panels %d, %v", before.CardPanels, err)
	}
	if _, err := dev.Print(ctx, card); !errors.Is(err, printer.ErrNoDevice) {
		t.Fatalf("print across the disconnect: %v", err)
	}
	e.Reconnect()
	dev = evolis.New(e.Transport(), &o, nil)
	mid, err := dev.Evidence(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if mid.Fed != before.Fed+1 || mid.Panels != before.Panels+3 || mid.Inside != printer.PresenceCard {
		t.Fatalf("mid-card evidence %+v, before %+v: want fed +1, panels +3, the card inside", mid, before)
	}
	if !e.Machine().TakeCardOut() {
		t.Fatal("no card to take out")
	}
	after, err := dev.Evidence(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if after.Fed != before.Fed+1 || after.Panels != before.Panels+3 || after.Inside != printer.PresenceNone {
		t.Fatalf("evidence after the card was taken out %+v", after)
	}
	if st := e.State(); st.HopperCards != 0 || st.RejectCards != 0 {
		t.Fatalf("the card taken out landed in a box: %+v", st)
	}
	v, why := spool.Decide(spool.SettleCase{Before: before, After: after})
	if v != spool.SettlePartPrinted || !strings.Contains(why, "part-printed") {
		t.Fatalf("settlement: %s (%s), want %s", v, why, spool.SettlePartPrinted)
	}
	// The same card printed whole: delivered.
	before2, err := dev.Evidence(ctx)
	if err != nil {
		t.Fatal(err)
	}
	before2.CardPanels = before.CardPanels
	if res, err := dev.Print(ctx, card); err != nil || res.Outcome != printer.OutcomePrinted {
		t.Fatalf("print: %v %v", res.Outcome, err)
	}
	after2, err := dev.Evidence(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if v, why := spool.Decide(spool.SettleCase{Before: before2, After: after2}); v != spool.SettlePrinted {
		t.Fatalf("a card printed whole: %s (%s)", v, why)
	}
}
