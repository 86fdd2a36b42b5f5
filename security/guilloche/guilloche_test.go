package guilloche

import (
	"bytes"
	"flag"
	"image"
	"image/color"
	"image/draw"
	"path/filepath"
	"testing"

	"github.com/cardd/cardd/internal/monogolden"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func samplePattern() Pattern {
	return Pattern{
		Rosettes: []Rosette{
			{Kind: Hypotrochoid, R: 17, Rr: 5, D: 4, Wobble: 0.1, WobbleN: 3, Copies: 4, CX: 160, CY: 120, Radius: 100, Width: 1},
			{Kind: Epitrochoid, R: 11, Rr: 4, D: 3, Copies: 2, CX: 400, CY: 120, Radius: 90, Width: 2},
		},
		Bands: []Band{{Rect: image.Rect(4, 4, 556, 276), Thickness: 24, Waves: 60, Lines: 3, Width: 1}},
	}
}

// The golden tolerance: the rasteriser is integer stamping on float
// samples, so a different math library rounding could move a handful of
// dots; 0.5 % of the line dots is allowed.
const goldenTolerancePermille = 5

func TestGoldenMono(t *testing.T) {
	p := samplePattern()
	m, err := p.Mono(image.Rect(0, 0, 560, 280))
	if err != nil {
		t.Fatal(err)
	}
	monogolden.Compare(t, m, filepath.Join("testdata", "pattern.png"), m.Count()*goldenTolerancePermille/1000, *update)
}

func TestColorLinesAndGradient(t *testing.T) {
	p := Pattern{Rosettes: []Rosette{{R: 7, Rr: 3, D: 2, Copies: 1, CX: 60, CY: 60, Radius: 50, Width: 2}}}
	img, err := p.Color(image.Rect(0, 0, 120, 120), Rainbow, 2)
	if err != nil {
		t.Fatal(err)
	}
	m, _ := p.Mono(image.Rect(0, 0, 120, 120))
	colours := map[color.RGBA]bool{}
	for y := 0; y < 120; y++ {
		for x := 0; x < 120; x++ {
			c := img.RGBAAt(x, y)
			if (c.A != 0) != m.BitAt(x, y) {
				t.Fatalf("colour and mono coverage differ at (%d,%d)", x, y)
			}
			if c.A != 0 {
				colours[c] = true
			}
		}
	}
	if len(colours) < 20 {
		t.Fatalf("only %d distinct colours along the line", len(colours))
	}
	// A 2-dot line: every set dot has a set horizontal or vertical pair.
	for y := 1; y < 119; y++ {
		for x := 1; x < 119; x++ {
			if m.BitAt(x, y) && !(m.BitAt(x+1, y) || m.BitAt(x-1, y)) {
				t.Fatalf("dot (%d,%d) has no horizontal neighbour: line thinner than 2 dots", x, y)
			}
		}
	}
}

func TestValidate(t *testing.T) {
	bad := []Pattern{
		{Rosettes: []Rosette{{R: 5, Rr: 5, Copies: 1, Radius: 10, Width: 1}}},
		{Rosettes: []Rosette{{R: 5, Rr: 2, Copies: 0, Radius: 10, Width: 1}}},
		{Rosettes: []Rosette{{R: 5, Rr: 2, Copies: 1, Radius: 10, Width: 0}}},
		{Rosettes: []Rosette{{Kind: "spiral", R: 5, Rr: 2, Copies: 1, Radius: 10, Width: 1}}},
		{Bands: []Band{{Rect: image.Rect(0, 0, 50, 50), Thickness: 20, Waves: 3, Lines: 1, Width: 1}}},
	}
	for i, p := range bad {
		if err := p.Validate(); err == nil {
			t.Errorf("pattern %d accepted", i)
		}
	}
}

func TestSeededAndVary(t *testing.T) {
	a := Seeded(42, 100, 100, 80, 2)
	if a != Seeded(42, 100, 100, 80, 2) {
		t.Fatal("Seeded is not deterministic")
	}
	if a == Seeded(43, 100, 100, 80, 2) {
		t.Fatal("different seeds gave the same rosette")
	}
	p := Pattern{Rosettes: []Rosette{a}}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	s1, s2 := SeedFor(42, "CARD-01-0000001-X"), SeedFor(42, "CARD-01-0000002-X")
	if s1 == s2 || SeedFor(42, "CARD-01-0000001-X") != s1 {
		t.Fatal("SeedFor not a deterministic function of the serial")
	}
	if a.Vary(s1) == a.Vary(s2) {
		t.Fatal("Vary gave the same rosette for two serials")
	}
}

func TestCache(t *testing.T) {
	c := NewCache(2)
	p := samplePattern()
	r := image.Rect(0, 0, 560, 280)
	a, err := c.Color(&p, r, Rainbow, 3)
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.Color(&p, r, Rainbow, 3)
	if err != nil {
		t.Fatal(err)
	}
	if a != b {
		t.Fatal("second lookup rendered again")
	}
	p2 := samplePattern()
	p2.Rosettes[0].D = 3
	d, _ := c.Color(&p2, r, Rainbow, 3)
	if d == a {
		t.Fatal("different pattern returned the cached image")
	}
	c.Color(&p2, image.Rect(0, 0, 10, 10), Rainbow, 3)
	if c.Len() > 2 {
		t.Fatalf("cache holds %d entries, limit 2", c.Len())
	}
}

func BenchmarkRenderColor(b *testing.B) {
	p := samplePattern()
	b.ReportAllocs()
	for b.Loop() {
		p.Color(image.Rect(0, 0, 560, 280), Rainbow, 3)
	}
}

func TestLayerMatchesDrawOver(t *testing.T) {
	p := samplePattern()
	r := image.Rect(0, 0, 560, 280)
	img, err := p.Color(r, Rainbow, 3)
	if err != nil {
		t.Fatal(err)
	}
	bg := func() *image.RGBA {
		d := image.NewRGBA(image.Rect(-10, 5, 500, 300)) // partly overlapping, not at the origin
		for i := range d.Pix {
			d.Pix[i] = uint8(i * 7)
		}
		return d
	}
	want, got := bg(), bg()
	draw.Draw(want, want.Rect, img, want.Rect.Min, draw.Over)
	NewLayer(img).Draw(got)
	if !bytes.Equal(want.Pix, got.Pix) {
		t.Fatal("Layer.Draw differs from draw.Over of the pattern")
	}
}

func BenchmarkLayerDraw(b *testing.B) {
	p := samplePattern()
	img, _ := p.Color(image.Rect(0, 0, 560, 280), Rainbow, 3)
	l := NewLayer(img)
	dst := image.NewRGBA(image.Rect(0, 0, 1016, 648))
	b.ReportAllocs()
	for b.Loop() {
		l.Draw(dst)
	}
}
