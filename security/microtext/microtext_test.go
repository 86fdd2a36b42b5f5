package microtext

import (
	"flag"
	"fmt"
	"image"
	"math"
	"path/filepath"
	"testing"

	"github.com/cardd/cardd/internal/monogolden"
	"github.com/cardd/cardd/printer"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// sheet renders every glyph of f, positive on the first line and negative
// on the second, with 2 dots of margin.
func sheet(t testing.TB, f *Font) *printer.Mono {
	t.Helper()
	text := f.Charset()
	w := f.Advance(text) + 4
	m := printer.NewMono(image.Rect(0, 0, w, 2*f.CapHeight+8))
	if err := f.DrawText(m, image.Pt(2, 2), text, Options{}); err != nil {
		t.Fatal(err)
	}
	if err := f.DrawText(m, image.Pt(2, f.CapHeight+5), text, Options{Negative: true}); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestGoldenGlyphs compares every glyph of both cuts with the golden
// image, dot for dot (tolerance 0: the font is 1-bit).
func TestGoldenGlyphs(t *testing.T) {
	for _, f := range []*Font{Cut300(), Cut600()} {
		t.Run(f.Name, func(t *testing.T) {
			got := sheet(t, f)
			monogolden.Compare(t, got, filepath.Join("testdata", "cut"+f.Name+".png"), 0, *update)
		})
	}
}

// TestGlyphsDistinct checks legibility in the only way a test can: within
// a cut every glyph has the cap height, no glyph is blank except space,
// and no two glyphs are the same bitmap.
func TestGlyphsDistinct(t *testing.T) {
	for _, f := range []*Font{Cut300(), Cut600()} {
		seen := map[string]rune{}
		for _, r := range f.Charset() {
			g := f.Glyph(r)
			if len(g.Rows) != f.CapHeight {
				t.Errorf("%s %q: %d rows", f.Name, r, len(g.Rows))
			}
			key := fmt.Sprint(g.Width, g.Rows)
			if r != ' ' {
				blank := true
				for _, row := range g.Rows {
					blank = blank && row == 0
				}
				if blank {
					t.Errorf("%s %q is blank", f.Name, r)
				}
			}
			if o, dup := seen[key]; dup {
				t.Errorf("%s: %q and %q have the same bitmap", f.Name, o, r)
			}
			seen[key] = r
		}
		for _, r := range "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-./" {
			if f.Glyph(r) == nil {
				t.Errorf("%s lacks %q", f.Name, r)
			}
		}
		if f.CapHeight < 5 || f.CapHeight > 7 {
			t.Errorf("%s cap height %d outside 5..7", f.Name, f.CapHeight)
		}
	}
}

func TestCheckAndNormalize(t *testing.T) {
	f := Cut300()
	if err := f.Check("ABC-123"); err != nil {
		t.Fatal(err)
	}
	if err := f.Check("abc"); err == nil {
		t.Fatal("lower case accepted")
	}
	if got := f.Normalize("Zoë o'Neil"); got != "ZO- O-NEIL" {
		t.Fatalf("Normalize = %q", got)
	}
}

// TestPathMatchesDrawText checks that text on a horizontal line, and on
// the top edge of a rectangle, is dot for dot what DrawText draws.
func TestPathMatchesDrawText(t *testing.T) {
	for _, f := range []*Font{Cut300(), Cut600()} {
		for _, neg := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/negative=%v", f.Name, neg), func(t *testing.T) {
				text := "CARD01-0000042X"
				r := image.Rect(0, 0, 200, 40)
				a := printer.NewMono(r)
				if err := f.DrawText(a, image.Pt(10, 10), text, Options{Negative: neg}); err != nil {
					t.Fatal(err)
				}
				// The path is the glyphs' centre line; with an odd cap
				// height the top row starts at round(y - h/2).
				yc := 10 + float64(f.CapHeight)/2
				b := printer.NewMono(r)
				n, err := f.AlongPath(b, Line{10, yc, 190, yc}, text, Options{Negative: neg})
				if err != nil {
					t.Fatal(err)
				}
				if n != len(text) {
					t.Fatalf("drew %d glyphs, want %d", n, len(text))
				}
				if neg {
					// AlongPath's band includes the spacing after the last
					// glyph; clear it for the comparison.
					w := f.Advance(text)
					b.Fill(image.Rect(10+w, 0, 200, 40), false)
				}
				if d := diffDots(a, b); d != 0 {
					t.Fatalf("%d dots differ", d)
				}
			})
		}
	}
}

func diffDots(a, b *printer.Mono) int {
	d := 0
	for y := a.Rect.Min.Y; y < a.Rect.Max.Y; y++ {
		for x := a.Rect.Min.X; x < a.Rect.Max.X; x++ {
			if a.BitAt(x, y) != b.BitAt(x, y) {
				d++
			}
		}
	}
	return d
}

// TestRectBorder lays repeated text around a rectangle and checks that
// each edge got glyphs, that the glyphs on the right edge are the top-edge
// glyphs turned a quarter clockwise, and that nothing was drawn far from
// the border.
func TestRectBorder(t *testing.T) {
	f := Cut300()
	m := printer.NewMono(image.Rect(0, 0, 200, 200))
	box := image.Rect(40, 40, 160, 160)
	n, err := f.AlongPath(m, RectPath(box), "19870412", Options{Repeat: true, Separator: "*"})
	if err != nil {
		t.Fatal(err)
	}
	// 480 dots of border, 4 dots a glyph, less about 7 dots at each corner.
	if n < 105 || n > 116 {
		t.Fatalf("drew %d glyphs around a 120-dot square", n)
	}
	count := func(r image.Rectangle) int {
		c := 0
		for y := r.Min.Y; y < r.Max.Y; y++ {
			for x := r.Min.X; x < r.Max.X; x++ {
				if m.BitAt(x, y) {
					c++
				}
			}
		}
		return c
	}
	for name, r := range map[string]image.Rectangle{
		"top": image.Rect(45, 36, 155, 44), "right": image.Rect(156, 45, 164, 155),
		"bottom": image.Rect(45, 156, 155, 164), "left": image.Rect(36, 45, 44, 155),
	} {
		if count(r) < 100 {
			t.Errorf("%s edge has %d dots", name, count(r))
		}
	}
	if c := count(image.Rect(46, 46, 154, 154)); c != 0 {
		t.Errorf("%d dots inside the border band", c)
	}
	// The first glyph, '1', on the top edge, after the corner gap.
	g := f.Glyph('1')
	x0 := 40 + int(math.Ceil(float64(f.CapHeight)/2+float64(f.Spacing)))
	for y := 0; y < f.CapHeight; y++ {
		for x := 0; x < g.Width; x++ {
			if m.BitAt(x0+x, 40-f.CapHeight/2+y) != g.On(x, y) {
				t.Fatalf("top-edge glyph '1' differs at (%d,%d)", x, y)
			}
		}
	}
}

func TestArcDoesNotCrashAndFills(t *testing.T) {
	f := Cut600()
	m := printer.NewMono(image.Rect(0, 0, 300, 300))
	n, err := f.AlongPath(m, Circle(150, 150, 100), "REPUBLIC OF CARDIA", Options{Repeat: true})
	if err != nil {
		t.Fatal(err)
	}
	if want := 2 * 314 / 6; n < want-3 {
		t.Fatalf("drew %d glyphs on the circle, want about %d", n, want)
	}
	// Everything drawn is near the circle.
	for y := 0; y < 300; y++ {
		for x := 0; x < 300; x++ {
			if m.BitAt(x, y) {
				if d := math.Hypot(float64(x)+0.5-150, float64(y)+0.5-150); d < 94 || d > 106 {
					t.Fatalf("dot (%d,%d) at radius %.1f", x, y, d)
				}
			}
		}
	}
	if _, err := f.AlongPath(m, Arc{150, 150, 0, 0, 1}, "A", Options{Repeat: true}); err != nil {
		t.Fatal(err)
	}
}

func BenchmarkBorderAndLines300(b *testing.B) {
	f := Cut300()
	g := printer.CR80(300)
	m := printer.NewMono(g.Bounds())
	b.ReportAllocs()
	for b.Loop() {
		f.AlongPath(m, RectPath(image.Rect(40, 120, 300, 460)), "CARD-01-0000042-X", Options{Repeat: true})
		f.AlongPath(m, RectPath(image.Rect(8, 8, g.Width-8, g.Height-8)), "REPUBLIC OF CARDIA", Options{Repeat: true, Separator: "*"})
		for i := 0; i < 3; i++ {
			f.DrawText(m, image.Pt(340, 500+10*i), "19870412-19870412-19870412-19870412", Options{Negative: i == 1})
		}
	}
}
