package guilloche

import (
	"image"
)

// Layer is a rendered colour pattern kept as runs of opaque pixels, so
// that drawing it touches only the line-work, not the whole box. Guilloche
// lines are opaque and everything between them transparent, so drawing a
// Layer over an image is a copy of its runs.
type Layer struct {
	// Rect is the pattern's bounds.
	Rect image.Rectangle
	runs []run
	pix  []byte // RGBA bytes of every run, in order
}

type run struct {
	y, x0, x1 int // canvas row and columns [x0, x1)
	off       int // offset of the run's first pixel in pix
}

// NewLayer extracts the opaque runs of img.
func NewLayer(img *image.RGBA) *Layer {
	l := &Layer{Rect: img.Rect}
	for y := img.Rect.Min.Y; y < img.Rect.Max.Y; y++ {
		row := img.Pix[img.PixOffset(img.Rect.Min.X, y):]
		w := img.Rect.Dx()
		for x := 0; x < w; {
			if row[4*x+3] == 0 {
				x++
				continue
			}
			x0 := x
			for x < w && row[4*x+3] != 0 {
				x++
			}
			l.runs = append(l.runs, run{y: y, x0: img.Rect.Min.X + x0, x1: img.Rect.Min.X + x, off: len(l.pix)})
			l.pix = append(l.pix, row[4*x0:4*x]...)
		}
	}
	return l
}

// Draw copies the layer's pixels into dst, clipped to dst's bounds.
func (l *Layer) Draw(dst *image.RGBA) {
	for _, r := range l.runs {
		if r.y < dst.Rect.Min.Y || r.y >= dst.Rect.Max.Y {
			continue
		}
		x0, x1 := max(r.x0, dst.Rect.Min.X), min(r.x1, dst.Rect.Max.X)
		if x0 >= x1 {
			continue
		}
		src := l.pix[r.off+4*(x0-r.x0) : r.off+4*(x1-r.x0)]
		copy(dst.Pix[dst.PixOffset(x0, r.y):], src)
	}
}

// Layer returns the pattern as a Layer, from the cache when it is there.
func (c *Cache) Layer(p *Pattern, r image.Rectangle, grad Gradient, cycles float64) (*Layer, error) {
	key, err := cacheKey("layer", p, r, struct {
		G Gradient
		C float64
	}{grad, cycles})
	if err != nil {
		return nil, err
	}
	v, err := c.get(key, func() (any, error) {
		img, err := p.Color(r, grad, cycles)
		if err != nil {
			return nil, err
		}
		return NewLayer(img), nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*Layer), nil
}
