package emulator

import (
	"context"
	"fmt"
	"image"
	"math/rand/v2"
	"testing"

	"github.com/cardd/cardd/internal/benchcpu"
	"github.com/cardd/cardd/printer"
	"github.com/cardd/cardd/printer/evolis"
)

// evoCard is a duplex YMCKO card at 300 dpi with photo-like noise, flat
// areas and text-like K.
func evoCard() *printer.Card {
	g := printer.CR80(300)
	rng := rand.New(rand.NewPCG(5, 6))
	side := func() *printer.Side {
		col := image.NewRGBA(g.Bounds())
		for y := 0; y < g.Height; y++ {
			for x := 0; x < g.Width; x++ {
				i := y*col.Stride + x*4
				if x < 300 && y > 200 {
					col.Pix[i], col.Pix[i+1], col.Pix[i+2] = byte(rng.IntN(256)), byte(rng.IntN(256)), byte(rng.IntN(256))
				} else {
					col.Pix[i], col.Pix[i+1], col.Pix[i+2] = byte(x/4), 200, byte(y/3)
				}
				col.Pix[i+3] = 0xff
			}
		}
		k := printer.NewMono(g.Bounds())
		for y := 400; y < 600; y += 3 {
			k.Fill(image.Rect(350, y, 350+rng.IntN(600), y+2), true)
		}
		o := printer.NewMono(g.Bounds())
		o.Fill(o.Rect, true)
		return &printer.Side{Color: col, K: k, Overlay: o}
	}
	return &printer.Card{Geometry: g, Front: *side(), Back: side()}
}

// BenchmarkEvolisDecodeDuplexYMCKO measures the emulator taking in a whole
// duplex YMCKO job on a virtual clock: parse, check and decode every panel
// (compressed ones are decoded, uncompressed dye panels kept packed). The
// landscape card and the unpacked planes are made when Printed is called,
// after the timed loop.
func BenchmarkEvolisDecodeDuplexYMCKO(b *testing.B) {
	card := evoCard()
	for _, compress := range []bool{false, true} {
		b.Run(fmt.Sprintf("compress=%v", compress), func(b *testing.B) {
			o := evolis.DefaultOpts()
			o.Compress = compress
			s, err := evolis.Encode(card, &o)
			if err != nil {
				b.Fatal(err)
			}
			e, _ := newEvolis(b, &Options{FeederCards: 1 << 30, HopperCapacity: 1 << 30, RibbonPanels: 1 << 30, KeepCards: 1})
			tr := e.Transport()
			ctx := context.Background()
			b.SetBytes(int64(len(s.Bytes)))
			b.ReportAllocs()
			done := benchcpu.ThreadMeter(b)
			for b.Loop() {
				if _, err := tr.Write(ctx, s.Bytes); err != nil {
					b.Fatal(err)
				}
				e.mu.Lock()
				e.replies = nil
				e.mu.Unlock()
			}
			done()
			if n := len(e.Printed()); n == 0 {
				b.Fatal("no card printed")
			}
			for _, pc := range e.Printed() {
				if pc.Back == nil || pc.Outcome != printer.OutcomePrinted {
					b.Fatalf("card %d incomplete", pc.Seq)
				}
			}
		})
	}
}

func TestFlattenMatchesShared(t *testing.T) {
	c := evoCard()
	g := c.Geometry
	for name, s := range map[string]*printer.Side{
		"colour and k": &c.Front,
		"k only":       {K: c.Front.K},
		"colour only":  {Color: c.Front.Color},
		"empty":        {},
	} {
		got, want := flatten(s, g), printer.Flatten(s, g)
		if got.Rect != want.Rect || string(got.Pix) != string(want.Pix) {
			t.Errorf("%s: fast flatten differs from printer.Flatten", name)
		}
	}
}
