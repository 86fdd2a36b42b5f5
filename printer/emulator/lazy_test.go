package emulator

import (
	"bytes"
	"context"
	"sync"
	"testing"

	"github.com/cardd/cardd/printer"
	"github.com/cardd/cardd/printer/evolis"
)

// TestEvolisPanelsOnDemand: the dye panels of an uncompressed Evolis job
// are kept packed and the card laid out when Printed is called; what it
// returns is what an eager decode gave: the wire planes SplitColor makes
// and the landscape card. Printed is called while more cards print (run
// with -race).
func TestEvolisPanelsOnDemand(t *testing.T) {
	card := evoCard()
	o := evolis.DefaultOpts()
	s, err := evolis.Encode(card, &o)
	if err != nil {
		t.Fatal(err)
	}
	e, _ := newEvolis(t, &Options{FeederCards: 100, HopperCapacity: 100, RibbonPanels: 1000, KeepCards: 2})
	tr := e.Transport()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range 20 {
			for _, pc := range e.Printed() {
				if pc.Card.Back == nil {
					t.Error("a printed card without its back side")
				}
			}
		}
	}()
	for range 3 {
		if _, err := tr.Write(context.Background(), s.Bytes); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	out := e.Printed()
	if len(out) != 2 {
		t.Fatalf("%d cards kept, want 2", len(out))
	}
	pc := out[1]
	for _, side := range []struct {
		name string
		s    *printer.Side
	}{{"front", &card.Front}, {"back", card.Back}} {
		y, m, c, err := printer.SplitColor(side.s.Color, printer.Transform{Rotate: evolis.WireRotate}, o.ColorDepth)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]*printer.Plane{"y": y, "m": m, "c": c}
		found := 0
		for _, p := range pc.Panels {
			w := want[p.Panel]
			if p.Side != side.name || w == nil {
				continue
			}
			found++
			got, ok := p.Image.(*printer.Plane)
			if !ok || got.Rect != w.Rect || !bytes.Equal(got.Pix, w.Pix) {
				t.Errorf("%s panel %s: %T differs from the wire plane", side.name, p.Panel, p.Image)
			}
		}
		if found != 3 {
			t.Errorf("%s: %d dye panels, want 3", side.name, found)
		}
	}
	back, err := printer.ComposeColor(pc.Panels[0].Image.(*printer.Plane), pc.Panels[1].Image.(*printer.Plane), pc.Panels[2].Image.(*printer.Plane), printer.Transform{Rotate: evolis.WireRotate}, card.Geometry.Width, card.Geometry.Height)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(back.Pix, pc.Card.Front.Color.Pix) {
		t.Error("the printed card's front is not its panels laid out")
	}
	if again := e.Printed()[1]; again.Front != pc.Front || again.Panels[0].Image != pc.Panels[0].Image {
		t.Error("a second Printed made the card again")
	}
}

// TestMagicardLaidOutOnDemand: a Magicard card's colour and K are laid out
// in landscape when Printed is called, not as the card is printed; what
// it returns is the card the driver sent (colour to the 6-bit dye's
// precision, K and overlay exactly). Printed is called while more cards
// print (run with -race).
func TestMagicardLaidOutOnDemand(t *testing.T) {
	card := mcCard(true)
	job := mcJob(t, card)
	e := newMagicard(t, &Options{FeederCards: 100, HopperCapacity: 100, RibbonPanels: 1000, KeepCards: 2})
	tr := e.Transport()
	if _, err := tr.Write(context.Background(), job); err != nil {
		t.Fatal(err)
	}
	e.m.mu.Lock()
	pending := len(e.m.printed) == 1 && e.m.printed[0].landscape != nil && e.m.printed[0].Card.Front.Color == nil
	e.m.mu.Unlock()
	if !pending {
		t.Error("the printed card was laid out before anyone looked at it")
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range 20 {
			for _, pc := range e.Printed() {
				if pc.Card.Front.Color == nil || pc.Card.Back == nil || pc.Card.Back.K == nil {
					t.Error("a printed card without its colour or its back's K")
				}
			}
		}
	}()
	for range 3 {
		if _, err := tr.Write(context.Background(), job); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	out := e.Printed()
	if len(out) != 2 {
		t.Fatalf("%d cards kept, want 2", len(out))
	}
	got := out[1].Card
	for _, s := range []struct {
		name      string
		got, want *printer.Mono
	}{{"front K", got.Front.K, card.Front.K}, {"back K", got.Back.K, card.Back.K}, {"front overlay", got.Front.Overlay, card.Front.Overlay}} {
		if s.got == nil || !bytes.Equal(s.got.Pix, s.want.Pix) {
			t.Errorf("%s differs from the card sent", s.name)
		}
	}
	// Each channel goes through a 6-bit dye: within 255/63/2 + 1.
	g, w := got.Front.Color, card.Front.Color
	for i := range w.Pix {
		if d := int(g.Pix[i]) - int(w.Pix[i]); d < -3 || d > 3 {
			t.Fatalf("front colour byte %d is %d, sent %d", i, g.Pix[i], w.Pix[i])
		}
	}
}
