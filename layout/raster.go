package layout

import (
	"image"

	"github.com/cardd/cardd/printer"
)

// rotateRGBA turns a portrait canvas a quarter turn counter-clockwise into
// the landscape raster: canvas dot (x, y) of a W-wide canvas lands at
// (y, W-1-x). nil stays nil.
func rotateRGBA(src *image.RGBA) *image.RGBA {
	if src == nil {
		return nil
	}
	b := src.Rect
	w, h := b.Dx(), b.Dy()
	dst := image.NewRGBA(image.Rect(0, 0, h, w))
	for y := 0; y < h; y++ {
		row := src.Pix[y*src.Stride : y*src.Stride+w*4]
		for x := 0; x < w; x++ {
			d := (w-1-x)*dst.Stride + y*4
			copy(dst.Pix[d:d+4], row[x*4:x*4+4])
		}
	}
	return dst
}

// rotateMono turns a 1-bit portrait canvas like rotateRGBA.
func rotateMono(src *printer.Mono) *printer.Mono {
	if src == nil {
		return nil
	}
	b := src.Rect
	w, h := b.Dx(), b.Dy()
	dst := printer.NewMono(image.Rect(0, 0, h, w))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			if src.BitAt(b.Min.X+x, b.Min.Y+y) {
				dst.SetBit(y, w-1-x, true)
			}
		}
	}
	return dst
}
