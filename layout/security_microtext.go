package layout

import (
	"context"
	"errors"
	"fmt"
	"image/color"
	"math"
	"strings"

	"github.com/cardd/cardd/printer"
	"github.com/cardd/cardd/security/microtext"
)

// Microtext lays a line of microtext (package security/microtext): a
// bitmap font on the dot grid, 5 dots tall at 300 dpi and 7 at 600 dpi,
// never anti-aliased. The text is an expression, so it can repeat job data
// (serial, date of birth) that the officer compares with the large print
// and the signed QR code.
//
//	[[front.element]]
//	kind = "microtext"
//	path = "rect"                 # line | rect | circle | arc
//	x = 3.0                       # the box: the rectangle's edges, the
//	y = 12.0                      # circle inscribed in it, or for a line
//	w = 25.0                      # the segment (x, y) → (x + w, y + h)
//	h = 32.0
//	text = "{{.Serial}} {{.date_of_birth | date \"20060102\"}}"
//	repeat = true                 # repeat along the whole path, ending on a whole copy (default for rect and circle)
//	separator = "*"
//	negative = false              # white glyphs in a black band
type Microtext struct {
	Base
	// Text is the expression giving the text; it is upper-cased and
	// characters the font lacks become '-'.
	Text string `toml:"text"`
	// Path is the shape the text follows: line (default), rect, circle or
	// arc. Rectangle and circle paths run clockwise from the top-left
	// corner (the top of the circle) with the glyph tops outwards; the path
	// is the text's centre line, so around a photo it crosses the photo's
	// edge.
	Path string `toml:"path"`
	// Start and End are the arc's angles in degrees, clockwise from 12
	// o'clock (path = "arc").
	Start float64 `toml:"start"`
	End   float64 `toml:"end"`
	// Repeat fills the path with copies of the text; default true for rect,
	// circle and arc, false for line.
	Repeat *bool `toml:"repeat"`
	// Separator goes between copies (default one space).
	Separator string `toml:"separator"`
	// Negative draws clear glyphs in a set band (k and uv panels only).
	Negative bool `toml:"negative"`
	// Offset shifts the text's start along the path, in mm.
	Offset float64 `toml:"offset"`
	// Cut picks the font: "300", "600" or "" for the one matching the
	// printer's resolution.
	Cut string `toml:"cut"`
	// Color is the colour of the glyphs on the colour panel (default
	// black); 1-bit panels always set dots.
	Color string `toml:"color"`

	expr *Expr
	col  color.RGBA
}

// Exprs returns the element's expressions.
func (m *Microtext) Exprs() []*Expr { return []*Expr{m.expr} }

// Init checks the path and compiles the text.
func (m *Microtext) Init(ic *InitContext) error {
	var err error
	if m.expr, err = ic.Expr("text", m.Text); err != nil {
		return err
	}
	switch m.Path {
	case "", "line":
		m.Path = "line"
		if m.W == 0 && m.H == 0 {
			return fieldErr("w", errors.New("a microtext line needs w (and h for a slanted line) in mm"))
		}
	case "rect", "circle", "arc":
		if m.Box().Empty() {
			return fieldErr("w", fmt.Errorf("a microtext %s needs a box: w and h in mm", m.Path))
		}
	default:
		return fieldErr("path", fmt.Errorf("%q: want line, rect, circle or arc", clip(m.Path)))
	}
	if m.Path == "arc" && m.Start == m.End {
		return fieldErr("end", errors.New("an arc needs start != end (degrees clockwise from 12 o'clock)"))
	}
	switch m.Cut {
	case "", "300", "600":
	default:
		return fieldErr("cut", fmt.Errorf("%q: want 300, 600 or empty for the printer's resolution", clip(m.Cut)))
	}
	if m.Negative && m.Panel == printer.PanelColor {
		return fieldErr("negative", errors.New("negative microtext is for the k or uv panel"))
	}
	f := microtext.Cut300()
	if m.Separator != "" {
		if err := f.Check(m.Separator); err != nil {
			return fieldErr("separator", err)
		}
	}
	if m.Color == "" {
		m.Color = "black"
	}
	m.col, err = ic.Color("color", m.Color)
	return err
}

func (m *Microtext) font(dpi int) *microtext.Font {
	switch m.Cut {
	case "300":
		return microtext.Cut300()
	case "600":
		return microtext.Cut600()
	}
	return microtext.ForDPI(dpi)
}

// path returns the element's path in canvas dots.
func (m *Microtext) path(dc *DrawContext) microtext.Path {
	switch m.Path {
	case "rect":
		return microtext.RectPath(dc.Rect(m.Box()))
	case "circle", "arc":
		r := dc.Rect(m.Box())
		cx, cy := float64(r.Min.X+r.Max.X)/2, float64(r.Min.Y+r.Max.Y)/2
		rad := float64(min(r.Dx(), r.Dy())) / 2
		if m.Path == "circle" {
			return microtext.Circle(cx, cy, rad)
		}
		toRad := func(deg float64) float64 { return (deg - 90) * math.Pi / 180 }
		return microtext.Arc{CX: cx, CY: cy, R: rad, A0: toRad(m.Start), A1: toRad(m.End)}
	}
	x0, y0 := dc.PointF(m.X, m.Y)
	x1, y1 := dc.PointF(m.X+m.W, m.Y+m.H)
	return microtext.Line{X0: math.Round(x0), Y0: math.Round(y0), X1: math.Round(x1), Y1: math.Round(y1)}
}

// Static reports whether the text is fixed (no field expression), so the
// renderer may draw it once per template and raster.
func (m *Microtext) Static() bool { return m.expr.static }

// Draw lays the text.
func (m *Microtext) Draw(ctx context.Context, dc *DrawContext) error {
	s, err := dc.Eval(m.expr)
	if err != nil {
		return fieldErr("text", err)
	}
	f := m.font(dc.Geometry.DPI)
	s = f.Normalize(strings.TrimSpace(s))
	if s == "" {
		return nil
	}
	repeat := m.Path != "line"
	if m.Repeat != nil {
		repeat = *m.Repeat
	}
	// A repeated text ends on its last whole copy, never mid-word.
	opt := microtext.Options{Negative: m.Negative, Repeat: repeat, Whole: true, Separator: m.Separator, Offset: dc.DotsF(m.Offset)}
	p := m.path(dc)
	if m.Panel != printer.PanelColor {
		_, err := f.AlongPath(dc.Mono(m.Panel), p, s, opt)
		return fieldErr("text", err)
	}
	scratch := printer.NewMono(dc.Bounds())
	if _, err := f.AlongPath(scratch, p, s, opt); err != nil {
		return fieldErr("text", err)
	}
	dst := dc.RGBA()
	b := scratch.Rect
	for y := b.Min.Y; y < b.Max.Y; y++ {
		row := scratch.Pix[(y-b.Min.Y)*scratch.Stride:]
		for x := b.Min.X; x < b.Max.X; x++ {
			if xi := x - b.Min.X; row[xi>>3] == 0 {
				x += 7 - xi&7 // skip the rest of an empty byte
				continue
			}
			if scratch.BitAt(x, y) {
				i := dst.PixOffset(x, y)
				dst.Pix[i], dst.Pix[i+1], dst.Pix[i+2], dst.Pix[i+3] = m.col.R, m.col.G, m.col.B, 0xff
			}
		}
	}
	return nil
}
