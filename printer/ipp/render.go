package ipp

import (
	"image"

	"github.com/cardd/cardd/printer"
)

// renderPage returns one side as the queue's page of pw × ph dots: the side
// flattened (colour with the K resin on top, see printer.Flatten), turned
// a quarter when turn is set, and centred on a white page.
//
// A landscape card goes onto a portrait page as IPP's landscape
// orientation puts it: turned a quarter anticlockwise, so the card's top
// edge runs along the page's left edge and its left edge along the page's
// bottom.
func renderPage(s *printer.Side, g printer.Geometry, pw, ph int, turn bool) *image.RGBA {
	flat := printer.Flatten(s, g)
	page := image.NewRGBA(image.Rect(0, 0, pw, ph))
	for i := range page.Pix {
		page.Pix[i] = 0xff
	}
	cw, ch := g.Width, g.Height
	if turn {
		cw, ch = ch, cw
	}
	ox, oy := (pw-cw)/2, (ph-ch)/2
	for y := range g.Height {
		src := flat.Pix[y*flat.Stride : y*flat.Stride+4*g.Width]
		for x := range g.Width {
			px, py := ox+x, oy+y
			if turn {
				px, py = ox+y, oy+g.Width-1-x
			}
			if px < 0 || py < 0 || px >= pw || py >= ph {
				continue
			}
			o := py*page.Stride + 4*px
			copy(page.Pix[o:o+3], src[4*x:4*x+3])
		}
	}
	return page
}
