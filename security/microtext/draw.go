package microtext

import (
	"image"
	"math"

	"github.com/cardd/cardd/printer"
)

// Options control how text is laid.
type Options struct {
	// Negative draws the glyphs clear inside a set band (white on black)
	// instead of set on the background.
	Negative bool
	// Repeat fills the whole path with the text, repeated with Separator
	// between copies, instead of drawing it once.
	Repeat bool
	// Separator goes between repeated copies; "" means one space glyph.
	Separator string
	// Whole, with Repeat, draws whole copies of the text only: the line
	// ends on the last copy that fits, never in the middle of a word, and
	// the rest of the path stays clear.
	Whole bool
	// Offset is where along the path the text starts, in dots.
	Offset float64
}

// DrawText draws text once, horizontally, with the top-left corner of its
// first glyph at at. It is the fast path for straight horizontal lines; the
// result is identical to AlongPath on a horizontal Line.
func (f *Font) DrawText(dst *printer.Mono, at image.Point, text string, opt Options) error {
	if err := f.Check(text); err != nil {
		return err
	}
	x := at.X
	first := true
	for _, r := range text {
		g := f.glyphs[r]
		if !first && opt.Negative {
			dst.Fill(image.Rect(x, at.Y-1, x+f.Spacing, at.Y+f.CapHeight+1), true)
		}
		if !first {
			x += f.Spacing
		}
		first = false
		if opt.Negative {
			dst.Fill(image.Rect(x, at.Y-1, x+g.Width, at.Y+f.CapHeight+1), true)
		}
		for y, row := range g.Rows {
			if row == 0 {
				continue
			}
			for gx := 0; gx < g.Width; gx++ {
				if row>>uint(g.Width-1-gx)&1 != 0 {
					dst.SetBit(x+gx, at.Y+y, !opt.Negative)
				}
			}
		}
		x += g.Width
	}
	return nil
}

// Path is a curve text is laid along, parametrised by arc length in dots.
// Text reads in the direction of increasing s with the glyphs' tops on the
// left of the direction of travel (so a clockwise rectangle has its text
// upright on the top edge and tops pointing outwards all round).
type Path interface {
	// Length is the path's length in dots.
	Length() float64
	// At returns the point at arc length s and the direction of travel
	// there (radians, y down, 0 = +x).
	At(s float64) (x, y, angle float64)
}

// Line is a straight path from (X0, Y0) to (X1, Y1), in dot coordinates
// (the point (x, y) is the corner of dot (x, y), so integer coordinates lie
// between dots and text centred on them is sharp).
type Line struct{ X0, Y0, X1, Y1 float64 }

// Length returns the length of the line.
func (l Line) Length() float64 { return math.Hypot(l.X1-l.X0, l.Y1-l.Y0) }

// At returns the point at s.
func (l Line) At(s float64) (float64, float64, float64) {
	n := l.Length()
	if n == 0 {
		return l.X0, l.Y0, 0
	}
	t := s / n
	return l.X0 + t*(l.X1-l.X0), l.Y0 + t*(l.Y1-l.Y0), math.Atan2(l.Y1-l.Y0, l.X1-l.X0)
}

// Arc is a circular arc of radius R around (CX, CY) from angle A0 to A1
// (radians, y down, so increasing angles run clockwise on the card). A1 <
// A0 runs anticlockwise.
type Arc struct{ CX, CY, R, A0, A1 float64 }

// Circle returns the full circle, clockwise from the top.
func Circle(cx, cy, r float64) Arc { return Arc{cx, cy, r, -math.Pi / 2, 3 * math.Pi / 2} }

// Length returns the arc length.
func (a Arc) Length() float64 { return math.Abs(a.A1-a.A0) * a.R }

// At returns the point at s.
func (a Arc) At(s float64) (float64, float64, float64) {
	dir := 1.0
	if a.A1 < a.A0 {
		dir = -1
	}
	t := a.A0
	if a.R > 0 {
		t += dir * s / a.R
	}
	x, y := a.CX+a.R*math.Cos(t), a.CY+a.R*math.Sin(t)
	return x, y, t + dir*math.Pi/2
}

// Pt is a point in dot coordinates.
type Pt struct{ X, Y float64 }

// Polyline is a path through points, in order.
type Polyline []Pt

// RectPath returns the clockwise path around r starting at its top-left
// corner: text on it is upright along the top and faces outwards on the
// other edges. Text centred on the path straddles the rectangle's edge,
// so laid around a photo it crosses the photo's border.
func RectPath(r image.Rectangle) Polyline {
	x0, y0, x1, y1 := float64(r.Min.X), float64(r.Min.Y), float64(r.Max.X), float64(r.Max.Y)
	return Polyline{{x0, y0}, {x1, y0}, {x1, y1}, {x0, y1}, {x0, y0}}
}

// Corners returns the arc lengths of the polyline's inner vertices, and of
// its ends too when it is closed (ends where it starts).
func (p Polyline) Corners() []float64 {
	var c []float64
	closed := len(p) > 2 && p[0] == p[len(p)-1]
	if closed {
		c = append(c, 0)
	}
	s := 0.0
	for i := 1; i < len(p); i++ {
		s += math.Hypot(p[i].X-p[i-1].X, p[i].Y-p[i-1].Y)
		if i < len(p)-1 || closed {
			c = append(c, s)
		}
	}
	return c
}

// cornered is a Path with sharp corners where glyphs must not be placed
// (they would collide with the glyphs of the next segment).
type cornered interface {
	Corners() []float64
}

// Length returns the polyline's length.
func (p Polyline) Length() float64 {
	n := 0.0
	for i := 1; i < len(p); i++ {
		n += math.Hypot(p[i].X-p[i-1].X, p[i].Y-p[i-1].Y)
	}
	return n
}

// At returns the point at s.
func (p Polyline) At(s float64) (float64, float64, float64) {
	if len(p) == 0 {
		return 0, 0, 0
	}
	for i := 1; i < len(p); i++ {
		seg := Line{p[i-1].X, p[i-1].Y, p[i].X, p[i].Y}
		n := seg.Length()
		if s <= n || i == len(p)-1 {
			return seg.At(s)
		}
		s -= n
	}
	return p[0].X, p[0].Y, 0
}

// AlongPath lays text along p, centred on it: each glyph is placed whole
// at its arc length, turned to the path's direction at the glyph's centre.
// On straight parts along the axes the glyphs land exactly on the dot
// grid; on curves and slants each dot samples the nearest glyph dot. A
// glyph that would run past the end of the path is not drawn. It returns
// the number of glyphs drawn.
func (f *Font) AlongPath(dst *printer.Mono, p Path, text string, opt Options) (int, error) {
	if err := f.Check(text); err != nil {
		return 0, err
	}
	sep := opt.Separator
	if sep == "" {
		sep = " "
	}
	if err := f.Check(sep); err != nil {
		return 0, err
	}
	unit := []rune(text)
	if opt.Repeat {
		unit = append(unit, []rune(sep)...)
	}
	if len(unit) == 0 {
		return 0, nil
	}
	total := p.Length()
	var corners []float64
	if c, ok := p.(cornered); ok {
		corners = c.Corners()
	}
	// Around a corner, keep half the cap height plus the spacing clear on
	// both sides so the glyphs of two segments do not overlap.
	clear := float64(f.CapHeight)/2 + float64(f.Spacing)
	// Lay the glyphs out first, then draw them: with Whole, the ones
	// after the last complete copy of the text are dropped.
	type placed struct {
		s float64
		g *Glyph
	}
	var out []placed
	textLen := len([]rune(text))
	whole := 0 // glyphs up to the end of the last complete copy
	s := opt.Offset
	for i := 0; ; i++ {
		if !opt.Repeat && i >= len(unit) {
			break
		}
		g := f.glyphs[unit[i%len(unit)]]
		cell := float64(g.Width + f.Spacing)
		for _, c := range corners {
			if s < c+clear && s+float64(g.Width) > c-clear {
				s = math.Ceil(c + clear)
			}
		}
		if s+float64(g.Width) > total+1e-9 {
			break
		}
		out = append(out, placed{s, g})
		if i%len(unit) == textLen-1 {
			whole = len(out)
		}
		s += cell
	}
	if opt.Repeat && opt.Whole {
		out = out[:whole]
	}
	for _, pl := range out {
		f.placeGlyph(dst, p, pl.s, pl.g, opt.Negative)
	}
	return len(out), nil
}

// placeGlyph draws g with its left edge at arc length s.
func (f *Font) placeGlyph(dst *printer.Mono, p Path, s float64, g *Glyph, negative bool) {
	w := float64(g.Width)
	h := float64(f.CapHeight)
	// The glyph's cell, in glyph coordinates: u across [0, w), v down from
	// the top [0, h). A negative band adds the spacing after the glyph and
	// one dot above and below.
	u0, u1, v0, v1 := 0.0, w, 0.0, h
	if negative {
		u1 += float64(f.Spacing)
		v0, v1 = -1, h+1
	}
	cx, cy, a := p.At(s + w/2)
	ca, sa := math.Cos(a), math.Sin(a)
	if snap(&ca) && snap(&sa) {
		// Axis-aligned: keep the centre on the dot-corner grid so every
		// glyph dot maps to exactly one card dot.
		cx, cy = snapCentre(cx, ca, w, h), snapCentre(cy, sa, w, h)
	}
	// Glyph point (u, v) sits at centre + (u - w/2)·d + (v - h/2)·n where
	// d = (ca, sa) is the direction and n = (-sa, ca) points "down" in the
	// glyph (to the right of travel).
	corners := [4][2]float64{{u0, v0}, {u1, v0}, {u0, v1}, {u1, v1}}
	minX, minY, maxX, maxY := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	for _, c := range corners {
		du, dv := c[0]-w/2, c[1]-h/2
		x := cx + du*ca - dv*sa
		y := cy + du*sa + dv*ca
		minX, minY, maxX, maxY = math.Min(minX, x), math.Min(minY, y), math.Max(maxX, x), math.Max(maxY, y)
	}
	for y := int(math.Floor(minY)); y < int(math.Ceil(maxY)); y++ {
		for x := int(math.Floor(minX)); x < int(math.Ceil(maxX)); x++ {
			// Inverse map the dot's centre into glyph coordinates.
			dx, dy := float64(x)+0.5-cx, float64(y)+0.5-cy
			u := dx*ca + dy*sa + w/2
			v := -dx*sa + dy*ca + h/2
			if u < u0 || u >= u1 || v < v0 || v >= v1 {
				continue
			}
			on := g.On(int(math.Floor(u)), int(math.Floor(v)))
			if negative {
				dst.SetBit(x, y, !on)
			} else if on {
				dst.SetBit(x, y, true)
			}
		}
	}
}

// snap rounds a direction cosine that is within 1e-9 of -1, 0 or 1 and
// reports whether it did.
func snap(c *float64) bool {
	for _, v := range []float64{-1, 0, 1} {
		if math.Abs(*c-v) < 1e-9 {
			*c = v
			return true
		}
	}
	return false
}

// snapCentre places one coordinate of a glyph centre so that the glyph's
// edges fall on dot corners: the glyph extends w along the direction of
// travel (the axis where |dir| = 1) and h across it.
func snapCentre(c, dir, w, h float64) float64 {
	half := h / 2
	if dir != 0 {
		half = w / 2
	}
	return math.Round(c-half) + half
}
