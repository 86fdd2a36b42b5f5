package evolis

import (
	"bytes"
	"fmt"
	"image"
	"math/rand/v2"
	"testing"

	"github.com/cardd/cardd/internal/benchcpu"
	"github.com/cardd/cardd/printer"
)

// reuseCard is a card of geometry g with noisy colour (some of it
// translucent) and K on both sides (colour only when color is set).
func reuseCard(g printer.Geometry, seed uint64, color bool) *printer.Card {
	rng := rand.New(rand.NewPCG(seed, 1))
	side := func() *printer.Side {
		s := &printer.Side{K: printer.NewMono(g.Bounds())}
		for i := range s.K.Pix {
			if rng.IntN(4) == 0 {
				s.K.Pix[i] = byte(rng.Uint32())
			}
		}
		if color {
			s.Color = image.NewRGBA(g.Bounds())
			for i := range s.Color.Pix {
				s.Color.Pix[i] = byte(rng.IntN(256))
				if i&3 == 3 && rng.IntN(50) != 0 {
					s.Color.Pix[i] = 0xff // opaque, but for one dot in 50
				}
			}
		}
		return s
	}
	return &printer.Card{Geometry: g, Front: *side(), Back: side()}
}

// TestEncoderReuseMatchesEncode encodes a sequence of cards of changing
// geometry, depth and compression with one encoder, as a Dev does, and
// checks each stream against a fresh Encode.
func TestEncoderReuseMatchesEncode(t *testing.T) {
	small := printer.Geometry{Width: 96, Height: 64, DPI: 300}
	opts := func(depth int, compress bool) *Opts {
		o := DefaultOpts()
		o.ColorDepth, o.Compress = depth, compress
		return &o
	}
	steps := []struct {
		card *printer.Card
		o    *Opts
	}{
		{reuseCard(printer.CR80(300), 1, true), opts(7, false)},
		{reuseCard(printer.CR80(300), 2, true), opts(7, true)},
		{reuseCard(printer.CR80(300), 3, true), opts(5, true)},
		{reuseCard(small, 4, false), opts(5, true)},
		{reuseCard(small, 5, true), opts(6, true)},
		{reuseCard(printer.CR80(300), 6, true), opts(7, false)},
		{reuseCard(printer.CR80(300), 7, false), opts(7, true)},
	}
	var e encoder
	for i, st := range steps {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			want, err := Encode(st.card, st.o)
			if err != nil {
				t.Fatal(err)
			}
			got, err := e.encode(st.card, st.o)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Bytes, want.Bytes) || len(got.Commands) != len(want.Commands) {
				t.Fatalf("reused encoder: %d bytes, %d commands; fresh: %d bytes, %d commands", len(got.Bytes), len(got.Commands), len(want.Bytes), len(want.Commands))
			}
			for j := range want.Commands {
				if got.Commands[j] != want.Commands[j] {
					t.Fatalf("command %d: %+v, want %+v", j, got.Commands[j], want.Commands[j])
				}
			}
		})
	}
}

// BenchmarkDevEncodeReuse is the duplex YMCKO encode as a Dev runs it,
// card after card with its buffers kept (an opaque noisy card).
func BenchmarkDevEncodeReuse(b *testing.B) {
	card := reuseCard(printer.CR80(300), 1, true)
	for _, s := range []*printer.Side{&card.Front, card.Back} {
		for i := 3; i < len(s.Color.Pix); i += 4 {
			s.Color.Pix[i] = 0xff
		}
	}
	for _, compress := range []bool{false, true} {
		b.Run(fmt.Sprintf("compress=%v", compress), func(b *testing.B) {
			o := DefaultOpts()
			o.Compress = compress
			var e encoder
			b.ReportAllocs()
			// The two sides are packed on two goroutines: count the
			// process's CPU time, not one thread's.
			start := benchcpu.Process()
			for b.Loop() {
				if _, err := e.encode(card, &o); err != nil {
					b.Fatal(err)
				}
			}
			benchcpu.ReportProcess(b, start)
		})
	}
}
