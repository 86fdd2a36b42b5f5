package layout

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"math"
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

// Draw evaluates and draws the text.
func (t *Text) Draw(ctx context.Context, dc *DrawContext) error {
	s, err := dc.Eval(t.expr)
	if err != nil {
		return fieldErr("text", err)
	}
	if s == "" {
		return nil
	}
	_, err = DrawTextLine(dc, t.Panel, TextStyle{Font: t.Font, Size: t.Size, MinSize: t.MinSize, Color: t.col, Align: t.Align, VAlign: t.VAlign}, t.Box(), s)
	if errors.Is(err, ErrMissingGlyph) {
		return fieldErr("text", err)
	}
	return err
}

// TextStyle says how DrawTextLine sets a line.
type TextStyle struct {
	Font          string  // font name; "" is "go"
	Size, MinSize float64 // points; MinSize 0 means no shrinking
	Color         color.Color
	Align         string // left, center, right
	VAlign        string // top, middle, bottom, baseline
}

// DrawTextLine sets one line of text s in box b (millimetres) on panel p,
// shrinking it towards MinSize and then cutting it with an ellipsis so that
// it fits the box's width (when it has one). On a 1-bit panel the glyphs
// are thresholded, not anti-aliased. It returns the canvas rectangle
// covered by ink (empty for blank text).
func DrawTextLine(dc *DrawContext, p printer.Panel, st TextStyle, b Box, s string) (image.Rectangle, error) {
	face, err := dc.Face(st.Font, st.Size)
	if err != nil {
		return image.Rectangle{}, fieldErr("font", err)
	}
	if err := checkGlyphs(face, st.Font, s); err != nil {
		return image.Rectangle{}, err
	}
	r := dc.Rect(b)
	maxW := fixed.I(r.Dx())
	if b.W > 0 && font.MeasureString(face, s) > maxW {
		face, s, err = fitText(dc, st, s, maxW)
		if err != nil {
			return image.Rectangle{}, err
		}
	}
	adv := font.MeasureString(face, s).Ceil()
	x := r.Min.X
	switch st.Align {
	case "center":
		if b.W > 0 {
			x = r.Min.X + (r.Dx()-adv)/2
		} else {
			x = r.Min.X - adv/2
		}
	case "right":
		if b.W > 0 {
			x = r.Max.X - adv
		} else {
			x = r.Min.X - adv
		}
	}
	m := face.Metrics()
	asc, desc := m.Ascent.Ceil(), m.Descent.Ceil()
	va := st.VAlign
	if va == "" {
		va = "top"
		if b.H > 0 {
			va = "middle"
		}
	}
	var y int
	switch va {
	case "top":
		y = r.Min.Y + asc
	case "middle":
		y = r.Min.Y + (r.Dy()-asc-desc)/2 + asc
	case "bottom":
		y = r.Max.Y - desc
	case "baseline":
		y = r.Min.Y
	}
	dot := fixed.P(x, y)
	bounds, _ := font.BoundString(face, s)
	ink := image.Rect(bounds.Min.X.Floor(), bounds.Min.Y.Floor(), bounds.Max.X.Ceil(), bounds.Max.Y.Ceil()).Add(image.Pt(x, y))
	if ink.Empty() {
		return ink, nil
	}
	mask := image.NewAlpha(ink)
	d := font.Drawer{Dst: mask, Src: image.Opaque, Face: face, Dot: dot}
	d.DrawString(s)
	c := st.Color
	if c == nil {
		c = color.Black
	}
	dc.Paint(p, mask, c)
	return ink, nil
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
