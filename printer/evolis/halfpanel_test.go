package evolis_test

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"testing"
	"time"

	"github.com/cardd/cardd/printer"
	"github.com/cardd/cardd/printer/emulator"
	"github.com/cardd/cardd/printer/evolis"
)

// halfCard has colour only in card columns 50–349 (a portrait area), K
// text and a full overlay.
func halfCard(g printer.Geometry) *printer.Card {
	img := image.NewRGBA(g.Bounds())
	for i := range img.Pix {
		img.Pix[i] = 0xff
	}
	for y := 40; y < 600; y++ {
		for x := 50; x < 350; x++ {
			img.SetRGBA(x, y, color.RGBA{uint8(x), uint8(y), uint8(x + y), 255})
		}
	}
	return &printer.Card{Geometry: g, Front: printer.Side{Color: img, K: testMono(g, 4, 6), Overlay: fullOverlay(g)}}
}

// TestHalfPanelEndToEnd prints on a half-panel ribbon (ymckos): the dye
// panels go as Dbp (Dbpc compressed) carrying only the card columns that
// have colour, and the emulator loaded with that ribbon prints the card as
// sent.
func TestHalfPanelEndToEnd(t *testing.T) {
	g := printer.CR80(300)
	card := halfCard(g)
	id := emulator.EvolisIdentity()
	id.Ribbon = "YMCKOS"
	e, err := emulator.New(evolisLang(t), &emulator.Options{Identity: id, Clock: emulator.NewFakeClock(time.Unix(0, 0))})
	if err != nil {
		t.Fatal(err)
	}
	for _, compress := range []bool{false, true} {
		o := evolis.DefaultOpts()
		o.Ribbon, o.Compress = "ymckos", compress
		s, err := evolis.Encode(card, &o)
		if err != nil {
			t.Fatal(err)
		}
		want := "\x1bDbp;y;128;50;300;"
		if compress {
			want = "\x1bDbpc;y;128;50;300;"
		}
		if !bytes.Contains(s.Bytes, []byte(want)) || bytes.Contains(s.Bytes, []byte("\x1bDb;y")) || bytes.Contains(s.Bytes, []byte("\x1bDbc;y")) {
			t.Fatalf("compress=%v: no %q half-panel download", compress, want)
		}
		res, err := evolis.New(e.Transport(), &o, nil).Print(context.Background(), card)
		if err != nil || res.Outcome != printer.OutcomePrinted {
			t.Fatalf("compress=%v: %v %v", compress, res.Outcome, err)
		}
		pr := e.Printed()
		got := pr[len(pr)-1].Card.Front
		for y := 0; y < g.Height; y += 7 {
			for x := 0; x < g.Width; x += 3 {
				w := card.Front.Color.RGBAAt(x, y)
				c := got.Color.RGBAAt(x, y)
				if c.R != printer.Quantize(w.R, 7) || c.G != printer.Quantize(w.G, 7) || c.B != printer.Quantize(w.B, 7) {
					t.Fatalf("compress=%v: dot (%d,%d) = %v, sent %v", compress, x, y, c, w)
				}
			}
		}
		if !bytes.Equal(got.K.Pix, card.Front.K.Pix) || !bytes.Equal(got.Overlay.Pix, card.Front.Overlay.Pix) {
			t.Errorf("compress=%v: K or overlay differs", compress)
		}
	}
}

// TestHalfPanelRefusesWideColour: colour wider than a half panel cannot
// be printed on a ymckos ribbon.
func TestHalfPanelRefusesWideColour(t *testing.T) {
	g := printer.CR80(300)
	card := halfCard(g)
	card.Front.Color.SetRGBA(900, 300, color.RGBA{0, 0, 0, 255})
	o := evolis.DefaultOpts()
	o.Ribbon = "ymckos"
	if _, err := evolis.Encode(card, &o); !errors.Is(err, printer.ErrUnsupported) {
		t.Fatalf("encode: %v, want ErrUnsupported", err)
	}
}

// TestHalfPanelStrict: the emulator refuses half panels the ribbon or the
// syntax does not allow.
func TestHalfPanelStrict(t *testing.T) {
	line := make([]byte, evolis.PanelBytes(evolis.WireWidth, 1, 7))
	dbp := func(head string, n int) []byte {
		b := append([]byte("\x1b"+head), bytes.Repeat(line, n)...)
		return append(b, evolis.CR)
	}
	for _, tc := range []struct {
		name, ribbon string
		in           []byte
		want         string
	}{
		{"full-panel ribbon", "YMCKO", dbp("Dbp;y;128;0;2;", 2), evolis.ReplyBadRibbon},
		{"too many lines", "YMCKOS", []byte("\x1bDbp;y;128;0;421;\r"), evolis.ReplyParam},
		{"past the panel", "YMCKOS", []byte("\x1bDbp;y;128;1000;20;\r"), evolis.ReplyParam},
		{"half K panel", "YMCKOS", []byte("\x1bDbp;k;2;0;2;\r"), evolis.ReplyParam},
		{"full colour panel on a half-panel ribbon", "YMCKOS", dbp("Db;y;128;", evolis.WireLines), evolis.ReplyBadRibbon},
		{"good", "YMCKOS", dbp("Dbp;y;128;10;2;", 2), evolis.ReplyOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := emulator.EvolisIdentity()
			id.Ribbon = tc.ribbon
			e, err := emulator.New(evolisLang(t), &emulator.Options{Identity: id, Clock: emulator.NewFakeClock(time.Unix(0, 0))})
			if err != nil {
				t.Fatal(err)
			}
			tr := e.Transport()
			if _, err := tr.Write(context.Background(), []byte("\x1bSs\r")); err != nil {
				t.Fatal(err)
			}
			readLine(t, tr)
			if _, err := tr.Write(context.Background(), tc.in); err != nil {
				t.Fatal(err)
			}
			if got := readLine(t, tr); got != tc.want {
				t.Errorf("reply %q, want %q", got, tc.want)
			}
		})
	}
}
