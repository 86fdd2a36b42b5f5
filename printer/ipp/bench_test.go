package ipp

import (
	"image"
	"image/color"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/cardd/cardd/internal/benchcpu"
	"github.com/cardd/cardd/internal/cupstest"
	"github.com/cardd/cardd/printer"
)

// photoCard is a card whose front is a photograph-like image (smooth
// gradients with sensor noise, so few dots repeat: the raster's run-length
// coding gains little) with resin-black text bars, and an optional back.
func photoCard(duplex bool) *printer.Card {
	g := printer.CR80(300)
	rng := rand.New(rand.NewPCG(1, 2))
	img := image.NewRGBA(g.Bounds())
	for y := range g.Height {
		for x := range g.Width {
			n := uint8(rng.IntN(6))
			img.SetRGBA(x, y, color.RGBA{uint8(x/4) + n, uint8(y/3) + n, uint8((x+y)/6) + n, 255})
		}
	}
	k := printer.NewMono(g.Bounds())
	for i := range 6 {
		k.Fill(image.Rect(420, 80+i*70, 960, 110+i*70), true)
	}
	c := &printer.Card{Geometry: g, Front: printer.Side{Color: img, K: k}}
	if duplex {
		back := printer.Side{K: k}
		c.Back = &back
	}
	return c
}

// BenchmarkEncode is the driver's own work on a card before it is sent:
// the job plan from the queue's attributes, each side flattened, turned and
// centred on the queue's page, and the raster document coded.
func BenchmarkEncode(b *testing.B) {
	fq := newFakeQueue()
	for _, tc := range []struct {
		name   string
		duplex bool
	}{{"simplex", false}, {"duplex", true}} {
		b.Run(tc.name, func(b *testing.B) {
			card := photoCard(tc.duplex)
			p := parsePrinter(fakePrinterAttrs(fq))
			b.ReportAllocs()
			done := benchcpu.ThreadMeter(b)
			var n int
			for b.Loop() {
				pl, err := planJob(&p, card)
				if err != nil {
					b.Fatal(err)
				}
				n = len(pl.encode(card))
			}
			done()
			b.ReportMetric(float64(n), "doc-bytes")
		})
	}
}

// BenchmarkPrintThroughCUPS is the driver's overhead per card on a real
// queue: a private cupsd with Gutenprint's Magicard driver printing to
// /dev/null. The queue's work (cupsd, Gutenprint's filter, the backend)
// runs in other processes; the CPU time this process spends per card —
// cpu-ns/op — is the driver's: planning, encoding, the Print-Job upload and
// the polling until the job ends, with the default poll interval.
func BenchmarkPrintThroughCUPS(b *testing.B) {
	cupstest.Need(b, true)
	cups := cupstest.Start(b)
	uri := cups.AddQueue(b, "card", "file:///dev/null", cups.Model(b, "gutenprint", "magicard-tango-2e"))
	dev, err := New(uri, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	card := photoCard(true)
	b.ReportAllocs()
	start := benchcpu.Process()
	t0 := time.Now()
	for b.Loop() {
		res, err := dev.Print(b.Context(), card)
		if err != nil || res.Outcome != printer.OutcomePrinted {
			b.Fatalf("Print: %s, %v\n%s", res.Outcome, err, cups.LogTail(30))
		}
	}
	benchcpu.ReportProcess(b, start)
	b.ReportMetric(time.Since(t0).Seconds()/float64(b.N), "s-per-card")
}
