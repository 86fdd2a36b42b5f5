// Package ghost makes the ghost image of a card: a second, smaller copy of
// the holder's portrait, desaturated, reduced in contrast and tinted, to be
// printed over the data fields so that changing them damages it too; and an
// optional 1-bit dithered copy for the UV (fluorescent) panel.
package ghost

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"math"

	"github.com/cardd/cardd/printer"
	"github.com/disintegration/imaging"
)

// Options shape the ghost.
type Options struct {
	// Strength is the ghost's darkest coverage, 0..1: how far the darkest
	// part of the portrait goes from no ink towards Tint. 0 means 0.35.
	Strength float64
	// Tint is the colour of the ghost's darkest parts; the zero value
	// means a slate blue.
	Tint color.RGBA
	// Vignette fades the ghost out towards an ellipse inscribed in its
	// box, so it has no hard edges to cut around.
	Vignette bool
}

// DefaultTint is the ghost's colour when Options.Tint is zero.
var DefaultTint = color.RGBA{0x3a, 0x4a, 0x78, 0xff}

// maxSide bounds the ghost's size in dots.
const maxSide = 4096

func (o Options) resolve() (strength float64, tint color.RGBA, err error) {
	strength = o.Strength
	if strength == 0 {
		strength = 0.35
	}
	if strength < 0 || strength > 1 {
		return 0, tint, fmt.Errorf("ghost: strength %.2f outside 0..1", strength)
	}
	tint = o.Tint
	if tint == (color.RGBA{}) {
		tint = DefaultTint
	}
	return strength, tint, nil
}

func checkSize(size image.Point) error {
	if size.X < 1 || size.Y < 1 || size.X > maxSide || size.Y > maxSide {
		return fmt.Errorf("ghost: size %dx%d dots outside 1..%d", size.X, size.Y, maxSide)
	}
	return nil
}

// gray returns the portrait resized to fill size (centre crop), as luma in
// [0, 1] (1 = white), row by row.
func gray(src image.Image, size image.Point) ([]float64, error) {
	if src == nil || src.Bounds().Empty() {
		return nil, errors.New("ghost: empty portrait")
	}
	if err := checkSize(size); err != nil {
		return nil, err
	}
	// A portrait already at the ghost's size (the caller's cached,
	// resampled copy) is read in place; anything else is cropped and
	// resized first.
	small, ok := src.(*image.NRGBA)
	if !ok || small.Rect != image.Rect(0, 0, size.X, size.Y) {
		small = imaging.Fill(src, size.X, size.Y, imaging.Center, imaging.Box)
	}
	out := make([]float64, size.X*size.Y)
	for y := 0; y < size.Y; y++ {
		row := small.Pix[y*small.Stride:]
		for x := 0; x < size.X; x++ {
			r, g, b, a := float64(row[4*x]), float64(row[4*x+1]), float64(row[4*x+2]), float64(row[4*x+3])
			l := (0.299*r + 0.587*g + 0.114*b) / 255
			// Transparent parts of the portrait count as white (no ink).
			al := a / 255
			out[y*size.X+x] = l*al + (1 - al)
		}
	}
	return out, nil
}

// vignette returns the fade factor at (x, y) of a w×h box: 1 inside most
// of the inscribed ellipse, falling smoothly to 0 at its edge.
func vignette(x, y, w, h int) float64 {
	dx := (float64(x)+0.5)/float64(w)*2 - 1
	dy := (float64(y)+0.5)/float64(h)*2 - 1
	d := math.Sqrt(dx*dx + dy*dy)
	switch {
	case d <= 0.7:
		return 1
	case d >= 1:
		return 0
	}
	t := (1 - d) / 0.3
	return t * t * (3 - 2*t)
}

// Color returns the ghost as a premultiplied RGBA image of the given size
// (origin at 0, 0): Tint with coverage proportional to the portrait's
// darkness times Strength. Draw it over the colour panel with draw.Over;
// on white it prints as a pale tinted portrait, and anything under it
// (guilloche, background) shows through.
func Color(src image.Image, size image.Point, opt Options) (*image.RGBA, error) {
	strength, tint, err := opt.resolve()
	if err != nil {
		return nil, err
	}
	g, err := gray(src, size)
	if err != nil {
		return nil, err
	}
	img := image.NewRGBA(image.Rect(0, 0, size.X, size.Y))
	for y := 0; y < size.Y; y++ {
		for x := 0; x < size.X; x++ {
			k := strength * (1 - g[y*size.X+x])
			if opt.Vignette {
				k *= vignette(x, y, size.X, size.Y)
			}
			i := img.PixOffset(x, y)
			img.Pix[i] = uint8(math.Round(float64(tint.R) * k))
			img.Pix[i+1] = uint8(math.Round(float64(tint.G) * k))
			img.Pix[i+2] = uint8(math.Round(float64(tint.B) * k))
			img.Pix[i+3] = uint8(math.Round(255 * k))
		}
	}
	return img, nil
}

// UV returns a 1-bit copy of the portrait for the UV panel, Floyd–Steinberg
// dithered: set dots fluoresce, so the portrait's light parts glow under a
// UV lamp. With opt.Vignette the edges fade out in the dither too.
func UV(src image.Image, size image.Point, opt Options) (*printer.Mono, error) {
	g, err := gray(src, size)
	if err != nil {
		return nil, err
	}
	w, h := size.X, size.Y
	if opt.Vignette {
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				g[y*w+x] *= vignette(x, y, w, h)
			}
		}
	}
	m := printer.NewMono(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			old := g[y*w+x]
			on := old >= 0.5
			var nv float64
			if on {
				nv = 1
				m.SetBit(x, y, true)
			}
			e := old - nv
			if x+1 < w {
				g[y*w+x+1] += e * 7 / 16
			}
			if y+1 < h {
				if x > 0 {
					g[(y+1)*w+x-1] += e * 3 / 16
				}
				g[(y+1)*w+x] += e * 5 / 16
				if x+1 < w {
					g[(y+1)*w+x+1] += e * 1 / 16
				}
			}
		}
	}
	return m, nil
}
