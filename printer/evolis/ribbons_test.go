package evolis_test

import (
	"bytes"
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/cardd/cardd/printer"
	"github.com/cardd/cardd/printer/emulator"
	"github.com/cardd/cardd/printer/evolis"
)

// TestMonoRibbonsEndToEnd prints with the black (k) and black-overlay (ko)
// ribbons: the driver announces them with Pr, the emulator with that ribbon
// loaded takes them, and the card comes back as sent.
func TestMonoRibbonsEndToEnd(t *testing.T) {
	g := printer.CR80(300)
	for _, tc := range []struct {
		ribbon  string
		overlay bool
	}{{"k", false}, {"ko", true}} {
		t.Run(tc.ribbon, func(t *testing.T) {
			id := emulator.EvolisIdentity()
			id.Ribbon = tc.ribbon
			e, err := emulator.New(evolisLang(t), &emulator.Options{Identity: id, Clock: emulator.NewFakeClock(time.Unix(0, 0))})
			if err != nil {
				t.Fatal(err)
			}
			o := evolis.DefaultOpts()
			o.Ribbon = tc.ribbon
			card := &printer.Card{Geometry: g, Front: printer.Side{K: testMono(g, 1, 5)}}
			if tc.overlay {
				card.Front.Overlay = fullOverlay(g)
			}
			for _, compress := range []bool{false, true} {
				o.Compress = compress
				res, err := evolis.New(e.Transport(), &o, nil).Print(context.Background(), card)
				if err != nil || res.Outcome != printer.OutcomePrinted {
					t.Fatalf("compress=%v: %v %v", compress, res.Outcome, err)
				}
				pr := e.Printed()
				got := pr[len(pr)-1].Card.Front
				if !bytes.Equal(got.K.Pix, card.Front.K.Pix) || got.Color != nil {
					t.Errorf("compress=%v: K differs or colour printed", compress)
				}
				if tc.overlay && (got.Overlay == nil || !bytes.Equal(got.Overlay.Pix, card.Front.Overlay.Pix)) {
					t.Errorf("compress=%v: overlay differs", compress)
				}
			}
		})
	}
}

// TestWindowsDriverSequence replays the command sequence of the vendor's
// Windows driver printing black to a Dualys 3 (including its undocumented
// commands and the NUL padding after the job): every command gets OK and
// the card is printed.
func TestWindowsDriverSequence(t *testing.T) {
	id := emulator.EvolisIdentity()
	id.Ribbon = "K"
	e, err := emulator.New(evolisLang(t), &emulator.Options{Identity: id, Clock: emulator.NewFakeClock(time.Unix(0, 0))})
	if err != nil {
		t.Fatal(err)
	}
	g := printer.CR80(300)
	k := testMono(g, 3, 4)
	wire, err := printer.MonoToWire(k, printer.Transform{Rotate: evolis.WireRotate})
	if err != nil {
		t.Fatal(err)
	}
	data := evolis.AppendLines(nil, wire.Pix, evolis.LineBytes1)
	dl := append([]byte("\x1bDbc;k;2;"+strconv.Itoa(len(data))+";"), data...)
	dl = append(dl, evolis.CR)
	tr := e.Transport()
	for _, c := range [][]byte{
		[]byte("\x1bPr;k\r"), []byte("\x1bPmi;F;s\r"), []byte("\x1bPc;k;=;10\r"), []byte("\x1bPdt;DU\r"),
		[]byte("\x1bMr;s\r"), []byte("\x1bPpws;1700000000\r"), []byte("\x1bSs\r"), []byte("\x1bSr\r"), dl,
		append([]byte("\x1bSe;1\r"), make([]byte, 32)...),
	} {
		if _, err := tr.Write(context.Background(), c); err != nil {
			t.Fatal(err)
		}
		if got := readLine(t, tr); got != evolis.ReplyOK {
			t.Fatalf("%q: reply %q", c[:min(len(c), 12)], got)
		}
	}
	pr := e.Printed()
	if len(pr) != 1 || !bytes.Equal(pr[0].Card.Front.K.Pix, k.Pix) {
		t.Fatalf("%d cards printed, or K differs", len(pr))
	}
	// Malformed commands are still refused.
	for c, want := range map[string]string{"\x1bMr\r": evolis.ReplyParam, "\x1bMr;ss\r": evolis.ReplyParam, "\x1bPr;q\r": evolis.ReplyParam, "\x1bPr;ymcko\r": evolis.ReplyBadRibbon, "\x1bPsc;1;2;3\r": evolis.ReplyParam} {
		if _, err := tr.Write(context.Background(), []byte(c)); err != nil {
			t.Fatal(err)
		}
		if got := readLine(t, tr); got != want {
			t.Errorf("%q: reply %q, want %q", c, got, want)
		}
	}
}
