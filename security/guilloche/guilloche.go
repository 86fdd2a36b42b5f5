// Package guilloche generates guilloche line-work: rosettes made of
// hypotrochoids or epitrochoids with a slow wobble term, and wave-band
// borders of phase-shifted sinusoids between two envelopes. Lines are
// rasterised on the dot grid without anti-aliasing, either 1-bit (for the
// K panel) or coloured with a gradient along each line ("rainbow") on a
// transparent background, for the colour panel. Patterns are pure
// functions of their parameters, a template seed and, optionally, the card
// serial; Cache keeps patterns that do not vary per card.
package guilloche

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/color"
	"math"
	"math/rand/v2"

	"github.com/cardd/cardd/printer"
)

// Kind selects the curve of a rosette.
type Kind string

// Rosette curve kinds.
const (
	// Hypotrochoid: a circle of radius r rolling inside one of radius R,
	// the pen at distance d from its centre.
	Hypotrochoid Kind = "hypotrochoid"
	// Epitrochoid: the circle rolls outside.
	Epitrochoid Kind = "epitrochoid"
)

// Rosette is a rosette pattern: Copies rotated copies of one trochoid.
type Rosette struct {
	// Kind is the curve; "" means Hypotrochoid.
	Kind Kind
	// R and Rr are the fixed and rolling circle radii, whole numbers so
	// the curve closes (after Rr/gcd(R, Rr) turns). D is the pen distance.
	// They are shape parameters only: the curve is scaled to Radius.
	R, Rr int
	D     float64
	// Wobble is the amplitude of the slow term, as a fraction of the
	// curve's size (0 for a plain trochoid), and WobbleN its frequency in
	// cycles per closed curve.
	Wobble  float64
	WobbleN int
	// Copies is the number of rotated copies (≥ 1), spread evenly between
	// the petals.
	Copies int
	// CX, CY (the centre) and Radius place the rosette, in dots.
	CX, CY, Radius float64
	// Width is the line width in dots (≥ 1; use ≥ 2 for coloured lines).
	Width int
}

// Band is a wave-band border: Lines sinusoids, each shifted in phase,
// oscillating across a band that runs around a rectangle with rounded
// corners.
type Band struct {
	// Rect is the outer edge of the band, in dots.
	Rect image.Rectangle
	// Thickness is the band's width in dots.
	Thickness float64
	// Waves is the number of whole waves around the rectangle.
	Waves int
	// Lines is the number of sinusoids (≥ 1).
	Lines int
	// Width is the line width in dots.
	Width int
}

// Pattern is a set of rosettes and bands drawn together.
type Pattern struct {
	Rosettes []Rosette
	Bands    []Band
}

// Validate checks the parameters.
func (p *Pattern) Validate() error {
	for i, r := range p.Rosettes {
		switch {
		case r.Kind != "" && r.Kind != Hypotrochoid && r.Kind != Epitrochoid:
			return fmt.Errorf("guilloche rosette %d: kind %q", i, r.Kind)
		case r.R < 1 || r.Rr < 1 || r.R > 1000 || r.Rr > 1000:
			return fmt.Errorf("guilloche rosette %d: radii R=%d r=%d must be 1..1000", i, r.R, r.Rr)
		case r.Kind != Epitrochoid && r.R == r.Rr:
			return fmt.Errorf("guilloche rosette %d: a hypotrochoid needs R != r", i)
		case r.Copies < 1 || r.Copies > 256:
			return fmt.Errorf("guilloche rosette %d: copies %d must be 1..256", i, r.Copies)
		case r.Radius <= 0 || r.Radius > 10000:
			return fmt.Errorf("guilloche rosette %d: radius %.1f dots", i, r.Radius)
		case r.Width < 1 || r.Width > 16:
			return fmt.Errorf("guilloche rosette %d: line width %d must be 1..16 dots", i, r.Width)
		case r.Wobble < 0 || r.Wobble > 1 || r.WobbleN < 0 || r.WobbleN > 1000:
			return fmt.Errorf("guilloche rosette %d: wobble %.2f × %d", i, r.Wobble, r.WobbleN)
		case r.D < 0 || r.D > 1000:
			return fmt.Errorf("guilloche rosette %d: pen distance %.1f", i, r.D)
		}
	}
	for i, b := range p.Bands {
		switch {
		case float64(b.Rect.Dx()) < 6*b.Thickness || float64(b.Rect.Dy()) < 6*b.Thickness || b.Thickness < 2:
			return fmt.Errorf("guilloche band %d: thickness %.1f does not fit %v", i, b.Thickness, b.Rect)
		case b.Waves < 1 || b.Waves > 2000:
			return fmt.Errorf("guilloche band %d: waves %d must be 1..2000", i, b.Waves)
		case b.Lines < 1 || b.Lines > 64:
			return fmt.Errorf("guilloche band %d: lines %d must be 1..64", i, b.Lines)
		case b.Width < 1 || b.Width > 16:
			return fmt.Errorf("guilloche band %d: line width %d must be 1..16 dots", i, b.Width)
		}
	}
	return nil
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// curve is one line: a point function on [0, 1] and an upper bound of its
// speed in dots per unit of parameter.
type curve struct {
	at    func(u float64) (x, y float64)
	speed float64
	width int
}

func (r *Rosette) curves() []curve {
	g := gcd(r.R, r.Rr)
	turns := float64(r.Rr / g) // turns of t for the curve to close
	lobes := float64(r.R / g)  // petals
	period := 2 * math.Pi * turns
	R, rr, d := float64(r.R), float64(r.Rr), r.D
	var a, k, sign float64 // x = a cos t + sign·d cos(k t) …
	if r.Kind == Epitrochoid {
		a, k, sign = R+rr, (R+rr)/rr, -1
	} else {
		a, k, sign = R-rr, (R-rr)/rr, 1
	}
	extent := math.Abs(a) + d
	q := r.Wobble * extent
	scale := r.Radius / (extent + q)
	speed := scale * (math.Abs(a) + d*math.Abs(k) + q*float64(r.WobbleN)/turns) * period
	out := make([]curve, r.Copies)
	for c := 0; c < r.Copies; c++ {
		rot := 2 * math.Pi * float64(c) / (float64(r.Copies) * lobes)
		cr, sr := math.Cos(rot), math.Sin(rot)
		cx, cy := r.CX, r.CY
		wn := float64(r.WobbleN)
		out[c] = curve{width: r.Width, speed: speed, at: func(u float64) (float64, float64) {
			t := u * period
			x := a*math.Cos(t) + sign*d*math.Cos(k*t)
			y := a*math.Sin(t) - d*math.Sin(k*t)
			if q != 0 {
				// The slow term: a radial swell that goes round WobbleN
				// times per closed curve.
				w := 1 + q/extent*math.Cos(wn*u*2*math.Pi)
				x, y = x*w, y*w
			}
			x, y = x*scale, y*scale
			return cx + x*cr - y*sr, cy + x*sr + y*cr
		}}
	}
	return out
}

// roundRect is the centre line of a band: a rectangle with rounded
// corners of radius rad, parametrised by arc length.
type roundRect struct {
	x0, y0, x1, y1, rad float64
}

func (q roundRect) length() float64 {
	return 2*(q.x1-q.x0-2*q.rad) + 2*(q.y1-q.y0-2*q.rad) + 2*math.Pi*q.rad
}

// at returns the point at arc length s (clockwise from the top-left end of
// the top edge) and the outward normal.
func (q roundRect) at(s float64) (x, y, nx, ny float64) {
	w, h := q.x1-q.x0-2*q.rad, q.y1-q.y0-2*q.rad
	arc := math.Pi / 2 * q.rad
	segs := []float64{w, arc, h, arc, w, arc, h, arc}
	s = math.Mod(s, q.length())
	if s < 0 {
		s += q.length()
	}
	i := 0
	for ; i < len(segs)-1 && s > segs[i]; i++ {
		s -= segs[i]
	}
	switch i {
	case 0: // top, left to right
		return q.x0 + q.rad + s, q.y0, 0, -1
	case 2: // right, top to bottom
		return q.x1, q.y0 + q.rad + s, 1, 0
	case 4: // bottom, right to left
		return q.x1 - q.rad - s, q.y1, 0, 1
	case 6: // left, bottom to top
		return q.x0, q.y1 - q.rad - s, -1, 0
	}
	// Corners: centre and start angle (y down; angles clockwise).
	var cx, cy, a0 float64
	switch i {
	case 1:
		cx, cy, a0 = q.x1-q.rad, q.y0+q.rad, -math.Pi/2
	case 3:
		cx, cy, a0 = q.x1-q.rad, q.y1-q.rad, 0
	case 5:
		cx, cy, a0 = q.x0+q.rad, q.y1-q.rad, math.Pi/2
	default:
		cx, cy, a0 = q.x0+q.rad, q.y0+q.rad, math.Pi
	}
	a := a0
	if q.rad > 0 {
		a += s / q.rad
	}
	nx, ny = math.Cos(a), math.Sin(a)
	return cx + q.rad*nx, cy + q.rad*ny, nx, ny
}

func (b *Band) curves() []curve {
	half := b.Thickness / 2
	amp := half - float64(b.Width)/2
	q := roundRect{
		float64(b.Rect.Min.X) + half, float64(b.Rect.Min.Y) + half,
		float64(b.Rect.Max.X) - half, float64(b.Rect.Max.Y) - half, 2 * b.Thickness,
	}
	n := q.length()
	waves := float64(b.Waves)
	out := make([]curve, b.Lines)
	for l := 0; l < b.Lines; l++ {
		phase := math.Pi * float64(l) / float64(b.Lines)
		out[l] = curve{width: b.Width, speed: n + amp*2*math.Pi*waves + n*amp/q.rad, at: func(u float64) (float64, float64) {
			x, y, nx, ny := q.at(u * n)
			o := amp * math.Sin(2*math.Pi*waves*u+phase)
			return x + o*nx, y + o*ny
		}}
	}
	return out
}

func (p *Pattern) curves() []curve {
	var cs []curve
	for i := range p.Rosettes {
		cs = append(cs, p.Rosettes[i].curves()...)
	}
	for i := range p.Bands {
		cs = append(cs, p.Bands[i].curves()...)
	}
	return cs
}

// stroke walks c with steps of at most half a dot and calls plot for every
// dot the line's square pen covers, with the position u along the line.
func stroke(c curve, clip image.Rectangle, plot func(x, y int, u float64)) {
	steps := int(math.Ceil(c.speed*2)) + 1
	if steps > 1<<22 {
		steps = 1 << 22
	}
	lo := (c.width - 1) / 2
	px, py := math.MinInt, math.MinInt
	for i := 0; i <= steps; i++ {
		u := float64(i) / float64(steps)
		x, y := c.at(u)
		ix, iy := int(math.Floor(x))-lo, int(math.Floor(y))-lo
		if ix == px && iy == py {
			continue
		}
		px, py = ix, iy
		for dy := 0; dy < c.width; dy++ {
			for dx := 0; dx < c.width; dx++ {
				if (image.Point{ix + dx, iy + dy}).In(clip) {
					plot(ix+dx, iy+dy, u)
				}
			}
		}
	}
}

// Mono rasterises the pattern 1-bit into a new image with bounds r: set
// dots are line.
func (p *Pattern) Mono(r image.Rectangle) (*printer.Mono, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	m := printer.NewMono(r)
	for _, c := range p.curves() {
		stroke(c, r, func(x, y int, _ float64) { m.SetBit(x, y, true) })
	}
	return m, nil
}

// Color rasterises the pattern into a new transparent RGBA image with
// bounds r, colouring each line with grad along its length (cycling Cycles
// times). Composite it over the colour panel with draw.Over.
func (p *Pattern) Color(r image.Rectangle, grad Gradient, cycles float64) (*image.RGBA, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if len(grad) == 0 {
		return nil, errors.New("guilloche: empty gradient")
	}
	if cycles <= 0 {
		cycles = 1
	}
	img := image.NewRGBA(r)
	for _, c := range p.curves() {
		stroke(c, r, func(x, y int, u float64) {
			col := grad.At(math.Mod(u*cycles, 1))
			i := img.PixOffset(x, y)
			img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = col.R, col.G, col.B, 0xff
		})
	}
	return img, nil
}

// Gradient is a list of colours spaced evenly along [0, 1] and joined back
// to the first, so it can cycle.
type Gradient []color.RGBA

// Rainbow is the default split-fountain style gradient: soft hues that dye
// sublimation renders well.
var Rainbow = Gradient{
	{0xd0, 0x40, 0x60, 0xff}, {0xe0, 0x90, 0x30, 0xff}, {0x90, 0xb0, 0x30, 0xff},
	{0x30, 0xa0, 0x90, 0xff}, {0x40, 0x60, 0xc0, 0xff}, {0x90, 0x50, 0xb0, 0xff},
}

// At returns the colour at u in [0, 1), interpolated linearly.
func (g Gradient) At(u float64) color.RGBA {
	n := len(g)
	if n == 1 {
		return g[0]
	}
	f := u * float64(n)
	i := int(f) % n
	t := f - math.Floor(f)
	a, b := g[i], g[(i+1)%n]
	mix := func(x, y uint8) uint8 { return uint8(math.Round(float64(x)*(1-t) + float64(y)*t)) }
	return color.RGBA{mix(a.R, b.R), mix(a.G, b.G), mix(a.B, b.B), 0xff}
}

// Seeded returns a rosette of pleasing proportions drawn from seed, at
// (cx, cy) with the given radius and line width: the template gives a seed
// rather than every parameter. Vary derives a per-card variation.
func Seeded(seed uint64, cx, cy, radius float64, width int) Rosette {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	kind := Hypotrochoid
	if rng.IntN(2) == 1 {
		kind = Epitrochoid
	}
	rr := 3 + rng.IntN(9)                        // 3..11
	R := rr*(2+rng.IntN(4)) + 1 + rng.IntN(rr-1) // not a multiple of rr: many petals
	return Rosette{
		Kind: kind, R: R, Rr: rr, D: float64(rr) * (0.4 + 0.8*rng.Float64()),
		Wobble: 0.05 + 0.1*rng.Float64(), WobbleN: 2 + rng.IntN(5), Copies: 3 + rng.IntN(6),
		CX: cx, CY: cy, Radius: radius, Width: width,
	}
}

// SeedFor derives a 64-bit seed from a template seed and a card serial, so
// a pattern can vary per card yet be reproduced from the serial alone.
// With an empty serial it returns the template seed's own derivation.
func SeedFor(templateSeed uint64, serial string) uint64 {
	h := sha256.New()
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], templateSeed)
	h.Write(b[:])
	h.Write([]byte(serial))
	return binary.BigEndian.Uint64(h.Sum(nil))
}

// Vary returns a copy of r with small per-card changes from seed: the pen
// distance, the wobble phase and the rotation of copies shift, while the
// overall look stays the template's.
func (r Rosette) Vary(seed uint64) Rosette {
	rng := rand.New(rand.NewPCG(seed, ^seed))
	r.D *= 0.9 + 0.2*rng.Float64()
	r.Wobble *= 0.8 + 0.4*rng.Float64()
	r.WobbleN += rng.IntN(3)
	return r
}
