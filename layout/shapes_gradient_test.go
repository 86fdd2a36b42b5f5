package layout

import (
	"bytes"
	"image"
	"image/color"
	"math"
	"testing"

	"github.com/cardd/cardd/printer"
)

// gradientReference is the opaque gradient as drawn before the 32-bit
// stores: four byte stores a dot.
func gradientReference(dst *image.RGBA, r image.Rectangle, a, b color.RGBA, angle float64) {
	sin, cos := math.Sincos(angle * math.Pi / 180)
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, c := range []image.Point{r.Min, {r.Max.X, r.Min.Y}, {r.Min.X, r.Max.Y}, r.Max} {
		t := float64(c.X)*cos + float64(c.Y)*sin
		lo, hi = math.Min(lo, t), math.Max(hi, t)
	}
	span := hi - lo
	if span == 0 {
		span = 1
	}
	const steps = 1024
	var lut [steps + 1][4]uint8
	for i := range lut {
		t := float64(i) / steps
		mix := func(u, v uint8) uint8 { return uint8(float64(u) + (float64(v)-float64(u))*t + .5) }
		lut[i] = [4]uint8{mix(a.R, b.R), mix(a.G, b.G), mix(a.B, b.B), mix(a.A, b.A)}
	}
	dt := cos / span * steps
	for y := r.Min.Y; y < r.Max.Y; y++ {
		pix := dst.Pix[dst.PixOffset(r.Min.X, y) : dst.PixOffset(r.Max.X-1, y)+4]
		t := ((float64(r.Min.X)+.5)*cos + (float64(y)+.5)*sin - lo) / span * steps
		for i := 0; i < len(pix); i += 4 {
			k := int(t + .5)
			if k < 0 {
				k = 0
			} else if k > steps {
				k = steps
			}
			c := &lut[k]
			pix[i], pix[i+1], pix[i+2], pix[i+3] = c[0], c[1], c[2], 0xff
			t += dt
		}
	}
}

// TestGradientOpaqueExact: the opaque gradient (the card backgrounds')
// is dot for dot what it was, at every angle and over boxes anywhere on
// the raster, the dots outside the box untouched.
func TestGradientOpaqueExact(t *testing.T) {
	g := printer.CR80(300)
	from, to := color.RGBA{0xff, 0xf6, 0xe2, 0xff}, color.RGBA{0xff, 0xdc, 0xaa, 0xff}
	for _, r := range []image.Rectangle{g.Bounds(), image.Rect(37, 11, 500, 300), image.Rect(0, 0, 1, 1), image.Rect(3, 5, 4, 400)} {
		for _, angle := range []float64{0, 20, 45, 90, 135, 180, 200, 270, -30, 359.9, 1e-9} {
			dc := &DrawContext{Geometry: g, panels: &printer.Side{}}
			drawGradient(dc, printer.PanelColor, r, from, to, angle)
			want := &DrawContext{Geometry: g, panels: &printer.Side{}}
			gradientReference(want.RGBA(), r, from, to, angle)
			if got := dc.RGBA(); !bytes.Equal(got.Pix, want.RGBA().Pix) {
				t.Errorf("box %v, angle %v: the gradient differs from the reference", r, angle)
			}
		}
	}
	// Colours far apart: every step of the table used.
	dc := &DrawContext{Geometry: g, panels: &printer.Side{}}
	drawGradient(dc, printer.PanelColor, g.Bounds(), color.RGBA{0, 0, 0, 0xff}, color.RGBA{0xff, 0x80, 0x10, 0xff}, 20)
	want := &DrawContext{Geometry: g, panels: &printer.Side{}}
	gradientReference(want.RGBA(), g.Bounds(), color.RGBA{0, 0, 0, 0xff}, color.RGBA{0xff, 0x80, 0x10, 0xff}, 20)
	if !bytes.Equal(dc.RGBA().Pix, want.RGBA().Pix) {
		t.Error("black to orange: the gradient differs from the reference")
	}
}

// BenchmarkGradient draws the temporary card's background at 300 dpi.
func BenchmarkGradient(b *testing.B) {
	g := printer.CR80(300)
	dc := &DrawContext{Geometry: g, panels: &printer.Side{}}
	for b.Loop() {
		drawGradient(dc, printer.PanelColor, g.Bounds(), color.RGBA{0xff, 0xf6, 0xe2, 0xff}, color.RGBA{0xff, 0xdc, 0xaa, 0xff}, 20)
	}
}
