package ipp

import (
	"encoding/binary"
	"image"
	"image/draw"

	"github.com/cardd/cardd/printer"
)

// renderPage returns one side as the queue's page of pw × ph dots; see
// renderInto.
func renderPage(s *printer.Side, g printer.Geometry, pw, ph int, turn bool) *image.RGBA {
	page := image.NewRGBA(image.Rect(0, 0, pw, ph))
	renderInto(page, s, g, turn)
	return page
}

// renderInto draws one side onto page: the side as it looks printed
// (colour with the K resin on top, as printer.Flatten has it), turned a
// quarter when turn is set, and centred on an otherwise white page.
//
// A landscape card goes onto a portrait page as IPP's landscape
// orientation puts it: turned a quarter anticlockwise, so the card's top
// edge runs along the page's left edge and its left edge along the page's
// bottom: card dot (x, y) is page dot (ox+y, oy+W−1−x).
func renderInto(page *image.RGBA, s *printer.Side, g printer.Geometry, turn bool) {
	for i := range page.Pix {
		page.Pix[i] = 0xff
	}
	pw, ph := page.Rect.Dx(), page.Rect.Dy()
	cw, ch := g.Width, g.Height
	if turn {
		cw, ch = ch, cw
	}
	ox, oy := (pw-cw)/2, (ph-ch)/2
	// pos maps a card dot to its page dot; ok is false off the page.
	pos := func(x, y int) (int, bool) {
		px, py := ox+x, oy+y
		if turn {
			px, py = ox+y, oy+g.Width-1-x
		}
		return py*page.Stride + 4*px, px >= 0 && py >= 0 && px < pw && py < ph
	}
	// The card dots that land on the page.
	x0, x1, y0, y1 := max(0, -ox), min(g.Width, pw-ox), max(0, -oy), min(g.Height, ph-oy)
	if turn {
		y0, y1 = max(0, -ox), min(g.Height, pw-ox)
		x0, x1 = max(0, g.Width-(ph-oy)), min(g.Width, g.Width+oy)
	}
	if x0 >= x1 || y0 >= y1 {
		return
	}
	if s.Color != nil {
		src := s.Color
		if src.Rect.Min != (image.Point{}) || src.Rect.Dx() < g.Width || src.Rect.Dy() < g.Height {
			// Not at the origin or smaller than the card: copy it
			// into a card-sized image (white beyond it).
			src = image.NewRGBA(g.Bounds())
			draw.Draw(src, src.Rect, image.White, image.Point{}, draw.Src)
			draw.Draw(src, src.Rect, s.Color, s.Color.Rect.Min, draw.Src)
		}
		if !turn {
			for y := y0; y < y1; y++ {
				o, _ := pos(x0, y)
				copy(page.Pix[o:o+4*(x1-x0)], src.Pix[y*src.Stride+4*x0:y*src.Stride+4*x1])
			}
		} else {
			// In blocks, so both images are read and written a
			// cache line at a time rather than a column at a time.
			const blk = 32
			for by := y0; by < y1; by += blk {
				ey := min(by+blk, y1)
				for bx := x0; bx < x1; bx += blk {
					for x := bx; x < min(bx+blk, x1); x++ {
						o, _ := pos(x, by)
						row := page.Pix[o : o+4*(ey-by)]
						si := by*src.Stride + 4*x
						for di := 0; di < len(row); di += 4 {
							binary.LittleEndian.PutUint32(row[di:], binary.LittleEndian.Uint32(src.Pix[si:])|0xff000000)
							si += src.Stride
						}
					}
				}
			}
		}
	}
	// The resin black on top, read a byte (eight dots) at a time.
	if k := s.K; k != nil {
		for y := y0; y < min(y1, k.Rect.Dy()); y++ {
			bits := k.Pix[y*k.Stride : (y+1)*k.Stride]
			for bx, b := range bits {
				if b == 0 {
					continue
				}
				for i := range 8 {
					x := bx*8 + i
					if b&(0x80>>i) == 0 || x < x0 || x >= x1 || x >= k.Rect.Dx() {
						continue
					}
					if o, ok := pos(x, y); ok {
						binary.LittleEndian.PutUint32(page.Pix[o:], 0xff000000)
					}
				}
			}
		}
	}
}

// turnHalf turns page half a turn in place: dot (x, y) goes to
// (w − 1 − x, h − 1 − y).
func turnHalf(page *image.RGBA) {
	w, h := page.Rect.Dx(), page.Rect.Dy()
	for y := 0; y < (h+1)/2; y++ {
		a := page.Pix[y*page.Stride : y*page.Stride+4*w]
		b := page.Pix[(h-1-y)*page.Stride : (h-1-y)*page.Stride+4*w]
		n := w
		if y == h-1-y {
			n = w / 2 // the middle row swaps with itself
		}
		for x := range n {
			i, j := 4*x, 4*(w-1-x)
			pa, pb := binary.LittleEndian.Uint32(a[i:]), binary.LittleEndian.Uint32(b[j:])
			binary.LittleEndian.PutUint32(a[i:], pb)
			binary.LittleEndian.PutUint32(b[j:], pa)
		}
	}
}
