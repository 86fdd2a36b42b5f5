package layout

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"math"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/image/font"
	"golang.org/x/image/math/fixed"

	"github.com/cardd/cardd/printer"
)

// Text draws one line of text from a field expression.
type Text struct {
	Base
	// Text is the expression giving the text, e.g. "{{.surname | upper}}"
	// or plain text.
	Text string `toml:"text"`
	// Font names the font (default "go"; see the package doc).
	Font string `toml:"font"`
	// Size is the font size in points (default 8).
	Size float64 `toml:"size"`
	// MinSize is the smallest size shrink-to-fit may use (default
	// 0.7 × Size); text still too wide at MinSize is cut with an ellipsis.
	// Shrinking happens only when the box has a width w.
	MinSize float64 `toml:"min_size"`
	// Color is the text colour (default black).
	Color string `toml:"color"`
	// Align is left (default), center or right within w; with no w, the
	// x position is the left end, centre or right end of the text.
	Align string `toml:"align"`
	// VAlign places the line in the box: top, middle (default when h is
	// set), bottom, or baseline (y is the baseline; the default when h is
	// not set is top).
	VAlign string `toml:"valign"`
	// MaxLines wraps the text at spaces onto up to this many lines of the
	// box's width (default 1).
	MaxLines int `toml:"max_lines"`
	// LineHeight is the baseline distance as a multiple of the font's
	// height (default 1.1).
	LineHeight float64 `toml:"line_height"`

	expr *Expr
	col  color.RGBA
}

// Exprs returns the element's expressions.
func (t *Text) Exprs() []*Expr { return []*Expr{t.expr} }

// Init compiles the expression and checks sizes.
func (t *Text) Init(ic *InitContext) error {
	var err error
	if t.expr, err = ic.Expr("text", t.Text); err != nil {
		return err
	}
	if t.Size == 0 {
		t.Size = 8
	}
	if !(t.Size >= 2 && t.Size <= 200) {
		return fieldErr("size", fmt.Errorf("%v pt: want 2–200", t.Size))
	}
	if t.MinSize == 0 {
		t.MinSize = math.Max(2, math.Round(t.Size*7)/10)
	}
	if !(t.MinSize >= 2 && t.MinSize <= t.Size) {
		return fieldErr("min_size", fmt.Errorf("%v pt: want 2 to size (%v)", t.MinSize, t.Size))
	}
	if t.Color == "" {
		t.Color = "black"
	}
	if t.col, err = ic.Color("color", t.Color); err != nil {
		return err
	}
	if t.MaxLines < 0 || t.MaxLines > 20 {
		return fieldErr("max_lines", fmt.Errorf("%d: want 1–20", t.MaxLines))
	}
	if t.MaxLines > 1 && t.W <= 0 {
		return fieldErr("max_lines", errors.New("wrapping needs a box width w"))
	}
	if t.LineHeight < 0 || t.LineHeight > 5 {
		return fieldErr("line_height", fmt.Errorf("%v: want 0.5–5", t.LineHeight))
	}
	switch t.Align {
	case "", "left", "center", "right":
	default:
		return fieldErr("align", fmt.Errorf("%q: want left, center or right", clip(t.Align)))
	}
	switch t.VAlign {
	case "", "top", "middle", "bottom", "baseline":
	default:
		return fieldErr("valign", fmt.Errorf("%q: want top, middle, bottom or baseline", clip(t.VAlign)))
	}
	return ic.Font("font", t.Font)
}

// Static reports whether the text is fixed (no field expression).
func (t *Text) Static() bool { return t.expr.static }

// Draw evaluates and draws the text.
func (t *Text) Draw(ctx context.Context, dc *DrawContext) error {
	s, err := dc.Eval(t.expr)
	if err != nil {
		return fieldErr("text", err)
	}
	if s == "" {
		return nil
	}
	_, err = DrawText(dc, t.Panel, TextStyle{Font: t.Font, Size: t.Size, MinSize: t.MinSize, Color: t.col, Align: t.Align, VAlign: t.VAlign, MaxLines: t.MaxLines, LineHeight: t.LineHeight}, t.Box(), s)
	if errors.Is(err, ErrMissingGlyph) {
		return fieldErr("text", err)
	}
	return err
}

// TextStyle says how DrawTextLine and DrawText set text.
type TextStyle struct {
	Font          string  // font name; "" is "go"
	Size, MinSize float64 // points; MinSize 0 means no shrinking
	Color         color.Color
	Align         string // left, center, right
	VAlign        string // top, middle, bottom, baseline
	// MaxLines is the most lines DrawText wraps the text onto (0 or 1: a
	// single line).
	MaxLines int
	// LineHeight is the distance between baselines as a multiple of the
	// font's ascent plus descent (0 means 1.1).
	LineHeight float64
}

// DrawTextLine sets one line of text s in box b (millimetres) on panel p,
// shrinking it towards MinSize and then cutting it with an ellipsis so that
// it fits the box's width (when it has one). On a 1-bit panel the glyphs
// are thresholded, not anti-aliased. It returns the canvas rectangle
// covered by ink (empty for blank text).
func DrawTextLine(dc *DrawContext, p printer.Panel, st TextStyle, b Box, s string) (image.Rectangle, error) {
	st.MaxLines = 1
	return DrawText(dc, p, st, b, s)
}

// DrawText sets s in box b on panel p, wrapped at spaces onto at most
// st.MaxLines lines of the box's width: it shrinks the size towards
// MinSize until the text fits, and cuts the last line with an ellipsis
// when it still does not. Characters the font lacks are an error
// (ErrMissingGlyph). It returns the canvas rectangle covered by ink.
func DrawText(dc *DrawContext, p printer.Panel, st TextStyle, b Box, s string) (image.Rectangle, error) {
	face, err := dc.Face(st.Font, st.Size)
	if err != nil {
		return image.Rectangle{}, fieldErr("font", err)
	}
	if err := checkGlyphs(face, st.Font, s); err != nil {
		return image.Rectangle{}, err
	}
	maxLines := max(st.MaxLines, 1)
	r := dc.Rect(b)
	maxW := fixed.I(r.Dx())
	lines := []string{s}
	if b.W > 0 {
		if face, lines, err = fitLines(dc, st, s, maxW, maxLines); err != nil {
			return image.Rectangle{}, err
		}
	}
	m := face.Metrics()
	asc, desc := m.Ascent.Ceil(), m.Descent.Ceil()
	lh := st.LineHeight
	if lh <= 0 {
		lh = 1.1
	}
	step := int(math.Round(lh * float64(asc+desc)))
	block := (len(lines)-1)*step + asc + desc
	va := st.VAlign
	if va == "" {
		va = "top"
		if b.H > 0 {
			va = "middle"
		}
	}
	var y int // first baseline
	switch va {
	case "top":
		y = r.Min.Y + asc
	case "middle":
		y = r.Min.Y + (r.Dy()-block)/2 + asc
	case "bottom":
		y = r.Max.Y - block + asc
	case "baseline":
		y = r.Min.Y
	}
	c := st.Color
	if c == nil {
		c = color.Black
	}
	var ink image.Rectangle
	for _, line := range lines {
		ink = ink.Union(drawLine(dc, p, face, line, r, b.W > 0, st.Align, y, c))
		y += step
	}
	return ink, nil
}

// drawLine draws one line with its baseline at y, aligned in r (or about
// r.Min.X when the box has no width).
func drawLine(dc *DrawContext, p printer.Panel, face font.Face, s string, r image.Rectangle, boxed bool, align string, y int, c color.Color) image.Rectangle {
	adv := font.MeasureString(face, s).Ceil()
	x := r.Min.X
	switch align {
	case "center":
		if boxed {
			x = r.Min.X + (r.Dx()-adv)/2
		} else {
			x = r.Min.X - adv/2
		}
	case "right":
		if boxed {
			x = r.Max.X - adv
		} else {
			x = r.Min.X - adv
		}
	}
	bounds, _ := font.BoundString(face, s)
	ink := image.Rect(bounds.Min.X.Floor(), bounds.Min.Y.Floor(), bounds.Max.X.Ceil(), bounds.Max.Y.Ceil()).Add(image.Pt(x, y))
	if ink.Empty() {
		return image.Rectangle{}
	}
	mask := image.NewAlpha(ink)
	drawStringAlpha(mask, face, fixed.P(x, y), s)
	dc.Paint(p, mask, c)
	return ink
}

// drawStringAlpha draws s into the coverage mask dst from dot as
// font.Drawer{Src: image.Opaque}.DrawString does (same kerning, same
// rounding of the Over operator), with a loop on the bytes of the glyph
// masks instead of image/draw's generic per-pixel path, which an
// *image.Alpha destination takes.
func drawStringAlpha(dst *image.Alpha, face font.Face, dot fixed.Point26_6, s string) {
	prev := rune(-1)
	for _, c := range s {
		if prev >= 0 {
			dot.X += face.Kern(prev, c)
		}
		dr, mask, mp, advance, _ := face.Glyph(dot, c)
		if !dr.Empty() {
			overAlpha(dst, dr, mask, mp)
		}
		dot.X += advance
		prev = c
	}
}

// overAlpha composites an opaque source through mask (at mp) over dst in
// r: image/draw's Over with 16-bit intermediates, byte for byte.
func overAlpha(dst *image.Alpha, r image.Rectangle, mask image.Image, mp image.Point) {
	m, ok := mask.(*image.Alpha)
	if !ok {
		draw.DrawMask(dst, r, image.Opaque, image.Point{}, mask, mp, draw.Over)
		return
	}
	orig := r.Min
	r = r.Intersect(dst.Rect).Intersect(m.Rect.Add(orig.Sub(mp)))
	if r.Empty() {
		return
	}
	mp = mp.Add(r.Min.Sub(orig))
	for y := 0; y < r.Dy(); y++ {
		d := dst.Pix[dst.PixOffset(r.Min.X, r.Min.Y+y):][:r.Dx()]
		src := m.Pix[m.PixOffset(mp.X, mp.Y+y):][:len(d)]
		for x, mv := range src {
			if mv == 0 {
				continue
			}
			ma := uint32(mv) * 0x101
			da := uint32(d[x]) * 0x101
			d[x] = uint8((da*(0xffff-ma) + 0xffff*ma) / 0xffff >> 8)
		}
	}
}

// fitLines picks the largest size from Size down to MinSize at which s
// wraps onto at most maxLines lines of maxW, and wraps it; at MinSize the
// last line is cut with an ellipsis.
func fitLines(dc *DrawContext, st TextStyle, s string, maxW fixed.Int26_6, maxLines int) (font.Face, []string, error) {
	if maxLines == 1 {
		face, err := dc.Face(st.Font, st.Size)
		if err != nil {
			return nil, nil, fieldErr("font", err)
		}
		if font.MeasureString(face, s) <= maxW {
			return face, []string{s}, nil
		}
		face, s, err = fitText(dc, st, s, maxW)
		return face, []string{s}, err
	}
	size := st.Size
	minSize := st.MinSize
	if minSize <= 0 || minSize > size {
		minSize = size
	}
	for {
		face, err := dc.Face(st.Font, size)
		if err != nil {
			return nil, nil, fieldErr("font", err)
		}
		lines := wrap(face, s, maxW)
		if len(lines) <= maxLines && widest(face, lines) <= maxW {
			return face, lines, nil
		}
		if size <= minSize {
			// Keep maxLines-1 lines, put the rest on the last one and cut it.
			if len(lines) > maxLines {
				rest := strings.Join(lines[maxLines-1:], " ")
				lines = append(lines[:maxLines-1:maxLines-1], rest)
			}
			for i, l := range lines {
				if font.MeasureString(face, l) > maxW {
					one := st
					one.Size, one.MinSize = size, size
					_, cut, err := fitText(dc, one, l, maxW)
					if err != nil {
						return nil, nil, err
					}
					lines[i] = cut
				}
			}
			return face, lines, nil
		}
		size = math.Max(minSize, size-0.25)
	}
}

// wrap breaks s at spaces into lines no wider than maxW (a single word
// wider than maxW gets a line of its own).
func wrap(face font.Face, s string, maxW fixed.Int26_6) []string {
	var lines []string
	line := ""
	for _, w := range strings.Fields(s) {
		try := w
		if line != "" {
			try = line + " " + w
		}
		if line != "" && font.MeasureString(face, try) > maxW {
			lines = append(lines, line)
			line = w
			continue
		}
		line = try
	}
	if line != "" || len(lines) == 0 {
		lines = append(lines, line)
	}
	return lines
}

func widest(face font.Face, lines []string) fixed.Int26_6 {
	var w fixed.Int26_6
	for _, l := range lines {
		w = max(w, font.MeasureString(face, l))
	}
	return w
}

// fitText shrinks the face until s fits maxW, then cuts s with an ellipsis.
func fitText(dc *DrawContext, st TextStyle, s string, maxW fixed.Int26_6) (font.Face, string, error) {
	size := st.Size
	face, err := dc.Face(st.Font, size)
	if err != nil {
		return nil, "", fieldErr("font", err)
	}
	if st.MinSize > 0 && st.MinSize < st.Size {
		// Text width is nearly proportional to size: jump close to the
		// answer, then step down by a quarter point.
		w := font.MeasureString(face, s)
		size = math.Max(st.MinSize, math.Floor(st.Size*float64(maxW)/float64(w)*4)/4)
		for {
			if face, err = dc.Face(st.Font, size); err != nil {
				return nil, "", fieldErr("font", err)
			}
			if font.MeasureString(face, s) <= maxW || size <= st.MinSize {
				break
			}
			size = math.Max(st.MinSize, size-0.25)
		}
	}
	if font.MeasureString(face, s) <= maxW {
		return face, s, nil
	}
	// Longest prefix (in runes) that fits with the ellipsis.
	runes := []rune(s)
	lo, hi := 0, len(runes)
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if font.MeasureString(face, string(runes[:mid])+"…") <= maxW {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	if lo == 0 {
		return face, "", errors.New("box too narrow for any text")
	}
	return face, trimRightSpace(string(runes[:lo])) + "…", nil
}

// ErrMissingGlyph is returned (wrapped) when the font cannot set a
// character of the text: a card never prints a placeholder box instead of
// a letter of a name.
var ErrMissingGlyph = errors.New("font has no glyph")

// checkGlyphs reports the first character of s that face cannot set.
// Spaces and other invisible characters are left to the font.
func checkGlyphs(face font.Face, name string, s string) error {
	if name == "" {
		name = "go"
	}
	for _, r := range s {
		if r == ' ' || !unicode.IsGraphic(r) {
			continue
		}
		if _, ok := face.GlyphAdvance(r); !ok {
			return fmt.Errorf("%w for %q (U+%04X) in font %q: name a font that covers it", ErrMissingGlyph, r, r, name)
		}
	}
	return nil
}

func trimRightSpace(s string) string {
	for len(s) > 0 {
		r, n := utf8.DecodeLastRuneInString(s)
		if r != ' ' {
			break
		}
		s = s[:len(s)-n]
	}
	return s
}
