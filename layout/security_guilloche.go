package layout

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/draw"

	"github.com/cardd/cardd/printer"
	"github.com/cardd/cardd/security/guilloche"
)

// Guilloche draws guilloche line-work (package security/guilloche): a
// rosette of trochoids with a slow wobble inscribed in the box, or a
// wave-band border along the box's edge. Lines are whole dots, coloured
// with a gradient along their length on the colour panel, 1-bit on k or
// uv. A pattern that does not vary per card is rendered once and reused.
//
//	[[front.element]]
//	kind = "guilloche"
//	style = "rosette"            # or "band"
//	x = 40.0
//	y = 10.0
//	w = 40.0
//	h = 40.0
//	seed = 1729                  # proportions drawn from the seed …
//	curve = "hypotrochoid"       # … or given: curve, big_r, small_r, pen,
//	big_r = 17                   #   wobble, wobble_n, copies
//	small_r = 5
//	pen = 4.0
//	per_card = true              # vary slightly with the card serial
//	colors = ["#c04060", "#3080c0", "#40a080"]
//	line_width = 2               # dots at 300 dpi, scaled with the resolution
type Guilloche struct {
	Base
	// Style is rosette (default) or band.
	Style string `toml:"style"`
	// Seed picks a rosette's proportions when big_r is not given, and is
	// the base of the per-card variation.
	Seed uint64 `toml:"seed"`
	// PerCard varies the pattern with the card serial (not cached).
	PerCard bool `toml:"per_card"`
	// Curve is hypotrochoid (default) or epitrochoid.
	Curve string `toml:"curve"`
	// BigR, SmallR and Pen are the fixed and rolling circle radii and the
	// pen distance (shape only; the rosette is scaled to the box).
	BigR   int     `toml:"big_r"`
	SmallR int     `toml:"small_r"`
	Pen    float64 `toml:"pen"`
	// Wobble is the slow term's amplitude (fraction of the size) and
	// WobbleN its cycles per curve.
	Wobble  float64 `toml:"wobble"`
	WobbleN int     `toml:"wobble_n"`
	// Copies is the number of rotated copies of the curve (default 4).
	Copies int `toml:"copies"`
	// Waves and Lines shape a band: waves around the box (default 80) and
	// phase-shifted lines (default 3).
	Waves int `toml:"waves"`
	Lines int `toml:"lines"`
	// Thickness is the band's width in mm (default 2).
	Thickness float64 `toml:"thickness"`
	// LineWidth is the line width in dots at 300 dpi (default 2 on the
	// colour panel, where dye spreads, and 1 on k and uv).
	LineWidth int `toml:"line_width"`
	// Colors is the gradient along the lines on the colour panel (default
	// a soft rainbow); Cycles is how often it repeats along a line
	// (default 3).
	Colors []string `toml:"colors"`
	Cycles float64  `toml:"cycles"`

	grad  guilloche.Gradient
	cache *guilloche.Cache
}

// Init checks the parameters.
func (g *Guilloche) Init(ic *InitContext) error {
	if g.Box().Empty() {
		return fieldErr("w", errors.New("a guilloche needs a box: w and h in mm"))
	}
	switch g.Style {
	case "", "rosette", "band":
	default:
		return fieldErr("style", fmt.Errorf("%q: want rosette or band", clip(g.Style)))
	}
	switch g.Curve {
	case "", string(guilloche.Hypotrochoid), string(guilloche.Epitrochoid):
	default:
		return fieldErr("curve", fmt.Errorf("%q: want hypotrochoid or epitrochoid", clip(g.Curve)))
	}
	if g.LineWidth < 0 || g.LineWidth > 8 {
		return fieldErr("line_width", fmt.Errorf("%d dots: want 1–8", g.LineWidth))
	}
	if g.LineWidth == 1 && (g.Panel == printer.PanelColor || g.Panel == "") {
		// Dye diffuses: a 1-dot coloured line prints broken.
		return fieldErr("line_width", errors.New("coloured lines need at least 2 dots; 1-dot lines are for the k or uv panel"))
	}
	if g.Thickness < 0 || g.Thickness > 20 {
		return fieldErr("thickness", fmt.Errorf("%v mm: want 0–20", g.Thickness))
	}
	if g.Cycles < 0 || g.Cycles > 100 {
		return fieldErr("cycles", fmt.Errorf("%v: want 0–100", g.Cycles))
	}
	for i, s := range g.Colors {
		c, err := ic.Color(fmt.Sprintf("colors[%d]", i), s)
		if err != nil {
			return err
		}
		g.grad = append(g.grad, c)
	}
	if len(g.grad) == 0 {
		g.grad = guilloche.Rainbow
	}
	// Check the pattern once on a nominal 300 dpi raster so that bad
	// parameters fail when the template is loaded, not on the first card.
	p := g.pattern(image.Rect(0, 0, max(1, int(g.W*300/25.4)), max(1, int(g.H*300/25.4))), 300, "")
	if err := p.Validate(); err != nil {
		return fieldErr("style", err)
	}
	g.cache = guilloche.NewCache(8)
	return nil
}

// pattern builds the pattern for a box of dots r at dpi; serial matters
// only for per-card patterns.
func (g *Guilloche) pattern(r image.Rectangle, dpi int, serial string) guilloche.Pattern {
	lw := g.LineWidth
	if lw == 0 {
		lw = 1
		if g.Panel == printer.PanelColor || g.Panel == "" {
			lw = 2
		}
	}
	lw *= max(1, dpi/300)
	if g.Style == "band" {
		th := g.Thickness
		if th == 0 {
			th = 2
		}
		waves, lines := g.Waves, g.Lines
		if waves == 0 {
			waves = 80
		}
		if lines == 0 {
			lines = 3
		}
		if g.PerCard {
			waves += int(guilloche.SeedFor(g.Seed, serial) % 7)
		}
		return guilloche.Pattern{Bands: []guilloche.Band{{Rect: r, Thickness: th * float64(dpi) / 25.4, Waves: waves, Lines: lines, Width: lw}}}
	}
	cx, cy := float64(r.Min.X+r.Max.X)/2, float64(r.Min.Y+r.Max.Y)/2
	rad := float64(min(r.Dx(), r.Dy()))/2 - float64(lw)
	var ro guilloche.Rosette
	if g.BigR == 0 {
		ro = guilloche.Seeded(g.Seed, cx, cy, rad, lw)
	} else {
		ro = guilloche.Rosette{
			Kind: guilloche.Kind(g.Curve), R: g.BigR, Rr: g.SmallR, D: g.Pen, Wobble: g.Wobble, WobbleN: g.WobbleN,
			Copies: g.Copies, CX: cx, CY: cy, Radius: rad, Width: lw,
		}
		if ro.Copies == 0 {
			ro.Copies = 4
		}
	}
	if g.PerCard {
		ro = ro.Vary(guilloche.SeedFor(g.Seed, serial))
	}
	return guilloche.Pattern{Rosettes: []guilloche.Rosette{ro}}
}

// Static reports whether the pattern is the same on every card (not
// per_card), so the renderer may draw it once per template and raster.
func (g *Guilloche) Static() bool { return !g.PerCard }

// Draw renders the pattern, or takes it from the cache, and composites it.
func (g *Guilloche) Draw(ctx context.Context, dc *DrawContext) error {
	r := dc.Rect(g.Box())
	if r.Empty() {
		return nil
	}
	serial := ""
	if g.PerCard {
		serial = dc.Data.Serial
		if serial == "" {
			return fieldErr("per_card", errors.New("the card has no serial to vary the pattern with"))
		}
	}
	p := g.pattern(r, dc.Geometry.DPI, serial)
	cycles := g.Cycles
	if cycles == 0 {
		cycles = 3
	}
	clip := r.Intersect(dc.Bounds())
	if g.Panel == printer.PanelColor {
		var l *guilloche.Layer
		if g.PerCard {
			img, err := p.Color(r, g.grad, cycles)
			if err != nil {
				return fieldErr("style", err)
			}
			draw.Draw(dc.RGBA(), clip, img, clip.Min, draw.Over)
			return nil
		}
		l, err := g.cache.Layer(&p, r, g.grad, cycles)
		if err != nil {
			return fieldErr("style", err)
		}
		l.Draw(dc.RGBA())
		return nil
	}
	var m *printer.Mono
	var err error
	if g.PerCard {
		m, err = p.Mono(r)
	} else {
		m, err = g.cache.Mono(&p, r)
	}
	if err != nil {
		return fieldErr("style", err)
	}
	orMono(dc.Mono(g.Panel), m, clip)
	return nil
}

// orMono sets in dst every dot of src that is set, within r.
func orMono(dst, src *printer.Mono, r image.Rectangle) {
	r = r.Intersect(src.Rect).Intersect(dst.Rect)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		row := src.Pix[(y-src.Rect.Min.Y)*src.Stride:]
		for x := r.Min.X; x < r.Max.X; x++ {
			xi := x - src.Rect.Min.X
			if row[xi>>3] == 0 {
				x += 7 - xi&7
				continue
			}
			if row[xi>>3]&(0x80>>uint(xi&7)) != 0 {
				dst.SetBit(x, y, true)
			}
		}
	}
}
