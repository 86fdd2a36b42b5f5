package magicard

import (
	"image"
	"image/color"

	"github.com/cardd/cardd/printer"
)

// SampleCard returns a deterministic CR80 card at 300 dpi for tests: a
// colour gradient with swatches, K text-like bars, and an overlay with a
// magnetic-stripe hole and a chip hole. back adds a back side (colour-less
// K and overlay); mag adds three tracks.
func SampleCard(back, mag bool) *printer.Card {
	g := printer.CR80(300)
	c := &printer.Card{Geometry: g}
	c.Front = sampleSide(g, 0)
	if back {
		b := sampleSide(g, 1)
		c.Back = &b
	}
	if mag {
		c.Mag = printer.MagTracks{"%B1234567890^CARDD/TEST^2812?", ";1234567890=2812?", ";011234567890=123?"}
	}
	return c
}

func sampleSide(g printer.Geometry, variant int) printer.Side {
	var s printer.Side
	r := g.Bounds()
	if variant == 0 {
		img := image.NewRGBA(r)
		for y := 0; y < g.Height; y++ {
			for x := 0; x < g.Width; x++ {
				c := color.RGBA{uint8(x * 255 / g.Width), uint8(y * 255 / g.Height), uint8((x + y) % 256), 255}
				switch {
				case x >= 40 && x < 140 && y >= 40 && y < 140:
					c = color.RGBA{255, 255, 0, 255} // yellow swatch
				case x >= 160 && x < 260 && y >= 40 && y < 140:
					c = color.RGBA{255, 0, 255, 255}
				case x >= 280 && x < 380 && y >= 40 && y < 140:
					c = color.RGBA{0, 255, 255, 255}
				case y >= 600:
					c = color.RGBA{255, 255, 255, 255} // undyed strip
				}
				img.SetRGBA(x, y, c)
			}
		}
		s.Color = img
	}
	k := printer.NewMono(r)
	for i := 0; i < 12; i++ {
		k.Fill(image.Rect(420+i*40, 200+variant*50, 440+i*40+i, 230+variant*50), true)
	}
	k.Fill(image.Rect(0, 0, g.Width, 3), true)                // hairline along the top edge
	k.Fill(image.Rect(g.Width-3, 0, g.Width, g.Height), true) // right edge
	k.SetBit(509, 333, true)                                  // a single dot
	k.Fill(image.Rect(700, 500+variant*10, 703, 640), true)   // a thin post
	s.K = k
	o := printer.NewMono(r)
	o.Fill(r, true)
	if variant == 0 {
		o.Fill(image.Rect(90, 194, 261, 350), false) // chip (ISO 7816-2: left, 16–30 mm from the top)
	} else {
		o.Fill(image.Rect(0, 54, g.Width, 225), false) // magnetic stripe (ISO 7811: 4.6–19 mm from the top)
		o.Fill(image.Rect(800, 40, 900, 100), false)   // signature panel
	}
	s.Overlay = o
	return s
}

// UpdateGolden reports whether the tests were asked to rewrite their golden
// files (-update), for the external test package.
func UpdateGolden() bool { return *update }
