package usbvm

import (
	"fmt"
	"image"
	"image/color"

	"github.com/cardd/cardd/printer"
)

// SampleCard returns the deterministic duplex YMCKO card the end-to-end
// tests print: on each side a colour gradient with saturated patches, a K
// panel with bars and a frame, and an overlay with a window left bare. The
// host compares what the emulator decoded with it (CompareCards).
func SampleCard() *printer.Card {
	g := printer.CR80(300)
	side := func(seed int) *printer.Side {
		c := image.NewRGBA(g.Bounds())
		for y := 0; y < g.Height; y++ {
			for x := 0; x < g.Width; x++ {
				r := uint8((x*255/g.Width + seed*40) % 256)
				gg := uint8(y * 255 / g.Height)
				b := uint8(((x + y) / 4 * (seed + 3)) % 256)
				if x > 100 && x < 300 && y > 100 && y < 300 {
					r, gg, b = 0, 160, 220 // a flat patch
				}
				c.SetRGBA(x, y, color.RGBA{r, gg, b, 255})
			}
		}
		k := printer.NewMono(g.Bounds())
		k.Fill(image.Rect(0, 0, g.Width, 8), true)
		k.Fill(image.Rect(0, g.Height-8, g.Width, g.Height), true)
		for i := 0; i < 20; i++ {
			x := 500 + i*(12+seed)
			k.Fill(image.Rect(x, 400, x+4+i%3, 600), true)
		}
		o := printer.NewMono(g.Bounds())
		o.Fill(g.Bounds(), true)
		o.Fill(image.Rect(700, 50, 950, 200), false) // bare window (chip area)
		return &printer.Side{Color: c, K: k, Overlay: o}
	}
	return &printer.Card{Geometry: g, Front: *side(0), Back: side(1)}
}

// CompareCards checks that got has the panels of want: colour within tol
// per channel (the driver's bit depth quantises it), K and overlay exactly.
func CompareCards(got, want *printer.Card, tol int) error {
	if got.Duplex() != want.Duplex() {
		return fmt.Errorf("duplex %v, want %v", got.Duplex(), want.Duplex())
	}
	sides := []struct {
		name      string
		got, want *printer.Side
	}{{"front", &got.Front, &want.Front}}
	if want.Back != nil {
		sides = append(sides, struct {
			name      string
			got, want *printer.Side
		}{"back", got.Back, want.Back})
	}
	for _, s := range sides {
		if err := compareRGBA(s.got.Color, s.want.Color, tol); err != nil {
			return fmt.Errorf("%s colour: %w", s.name, err)
		}
		if err := compareMono(s.got.K, s.want.K); err != nil {
			return fmt.Errorf("%s K: %w", s.name, err)
		}
		if err := compareMono(s.got.Overlay, s.want.Overlay); err != nil {
			return fmt.Errorf("%s overlay: %w", s.name, err)
		}
	}
	return nil
}

func compareRGBA(got, want *image.RGBA, tol int) error {
	if (got == nil) != (want == nil) {
		return fmt.Errorf("present %v, want %v", got != nil, want != nil)
	}
	if want == nil {
		return nil
	}
	if got.Bounds().Size() != want.Bounds().Size() {
		return fmt.Errorf("size %v, want %v", got.Bounds().Size(), want.Bounds().Size())
	}
	gb, wb := got.Bounds(), want.Bounds()
	bad, worst := 0, 0
	for y := 0; y < wb.Dy(); y++ {
		for x := 0; x < wb.Dx(); x++ {
			g := got.RGBAAt(gb.Min.X+x, gb.Min.Y+y)
			w := want.RGBAAt(wb.Min.X+x, wb.Min.Y+y)
			d := max(absDiff(g.R, w.R), absDiff(g.G, w.G), absDiff(g.B, w.B))
			worst = max(worst, d)
			if d > tol {
				bad++
			}
		}
	}
	if bad > 0 {
		return fmt.Errorf("%d pixels differ by more than %d (worst %d)", bad, tol, worst)
	}
	return nil
}

func absDiff(a, b uint8) int {
	if a > b {
		return int(a - b)
	}
	return int(b - a)
}

func compareMono(got, want *printer.Mono) error {
	if (got == nil) != (want == nil) {
		return fmt.Errorf("present %v, want %v", got != nil, want != nil)
	}
	if want == nil {
		return nil
	}
	if got.Bounds().Size() != want.Bounds().Size() {
		return fmt.Errorf("size %v, want %v", got.Bounds().Size(), want.Bounds().Size())
	}
	gb, wb := got.Bounds(), want.Bounds()
	bad := 0
	for y := 0; y < wb.Dy(); y++ {
		for x := 0; x < wb.Dx(); x++ {
			if got.BitAt(gb.Min.X+x, gb.Min.Y+y) != want.BitAt(wb.Min.X+x, wb.Min.Y+y) {
				bad++
			}
		}
	}
	if bad > 0 {
		return fmt.Errorf("%d dots differ", bad)
	}
	return nil
}
