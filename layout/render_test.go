package layout_test

import (
	"context"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/datamatrix"
	"github.com/makiuchi-d/gozxing/oned"
	"github.com/makiuchi-d/gozxing/qrcode"

	"golang.org/x/image/font/gofont/gomono"

	"github.com/cardd/cardd/layout"
	"github.com/cardd/cardd/layout/samples"
	"github.com/cardd/cardd/printer"
)

var update = flag.Bool("update", false, "rewrite the golden images in testdata/")

// Golden tolerances. Images are compared by decoded pixels, never by PNG
// bytes. Colour: a pixel differs when a channel differs by more than
// colorTol; at most colorFrac of the pixels may differ (room for JPEG and
// resampling changes across Go versions). 1-bit panels: at most monoFrac of
// the dots may differ.
const (
	colorTol  = 16
	colorFrac = 0.0002
	monoFrac  = 0.0002
)

func monoImage(m *printer.Mono) *image.Gray {
	g := image.NewGray(m.Rect)
	for y := m.Rect.Min.Y; y < m.Rect.Max.Y; y++ {
		for x := m.Rect.Min.X; x < m.Rect.Max.X; x++ {
			if !m.BitAt(x, y) {
				g.SetGray(x, y, color.Gray{255})
			}
		}
	}
	return g
}

func readPNG(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return img
}

func writePNG(t *testing.T, path string, img image.Image) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// compareGolden compares img with testdata/name by decoded pixels.
func compareGolden(t *testing.T, name string, img image.Image, tol int, frac float64) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		writePNG(t, path, img)
		return
	}
	want := readPNG(t, path)
	if img.Bounds().Size() != want.Bounds().Size() {
		t.Fatalf("%s: size %v, golden %v", name, img.Bounds().Size(), want.Bounds().Size())
	}
	b, wb := img.Bounds(), want.Bounds()
	diff := 0
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			r1, g1, b1, _ := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
			r2, g2, b2, _ := want.At(wb.Min.X+x, wb.Min.Y+y).RGBA()
			if absDiff(r1, r2) > tol || absDiff(g1, g2) > tol || absDiff(b1, b2) > tol {
				diff++
			}
		}
	}
	if limit := int(frac * float64(b.Dx()*b.Dy())); diff > limit {
		got := filepath.Join(t.TempDir(), strings.ReplaceAll(name, "/", "_"))
		writePNG(t, got, img)
		t.Errorf("%s: %d pixels differ (limit %d); got written to %s", name, diff, limit, got)
	}
}

func absDiff(a, b uint32) int {
	d := int(a>>8) - int(b>>8)
	if d < 0 {
		return -d
	}
	return d
}

func sampleCard(t testing.TB, name string, dpi int) (*printer.Card, *layout.Template) {
	t.Helper()
	jobs, err := samples.Jobs()
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range jobs {
		if j.Name != name {
			continue
		}
		tp, err := samples.Template(j.Template, nil)
		if err != nil {
			t.Fatal(err)
		}
		c, err := layout.NewRenderer(nil).Render(context.Background(), tp, j.Data, printer.CR80(dpi))
		if err != nil {
			t.Fatal(err)
		}
		return c, tp
	}
	t.Fatalf("no sample job %q", name)
	return nil, nil
}

func TestSamplesGolden(t *testing.T) {
	for _, name := range []string{"temporary", "permanent"} {
		t.Run(name, func(t *testing.T) {
			c, tp := sampleCard(t, name, 300)
			if (c.Back != nil) != (tp.Back != nil) {
				t.Fatalf("back side %v, template back %v", c.Back != nil, tp.Back != nil)
			}
			if name == "temporary" && c.Duplex() || name == "permanent" && !c.Duplex() {
				t.Errorf("%s: duplex %v", name, c.Duplex())
			}
			sides := map[string]*printer.Side{"front": &c.Front}
			if c.Back != nil {
				sides["back"] = c.Back
			}
			for sn, s := range sides {
				if s.Color == nil || s.K == nil || s.Overlay == nil {
					t.Fatalf("%s: panels %v, want color, k and overlay", sn, s.Panels())
				}
				for _, img := range []image.Rectangle{s.Color.Rect, s.K.Rect, s.Overlay.Rect} {
					if img != c.Geometry.Bounds() {
						t.Errorf("%s: panel bounds %v, want %v", sn, img, c.Geometry.Bounds())
					}
				}
				compareGolden(t, fmt.Sprintf("%s-%s.png", name, sn), printer.Flatten(s, c.Geometry), colorTol, colorFrac)
				compareGolden(t, fmt.Sprintf("%s-%s-k.png", name, sn), monoImage(s.K), 0, monoFrac)
				compareGolden(t, fmt.Sprintf("%s-%s-overlay.png", name, sn), monoImage(s.Overlay), 0, monoFrac)
				if s.UV != nil {
					compareGolden(t, fmt.Sprintf("%s-%s-uv.png", name, sn), monoImage(s.UV), 0, monoFrac)
				}
			}
			// The shipped permanent template carries UV artwork, a UV
			// ghost and a UV serial on its front (issue 3).
			if name == "permanent" && c.Front.UV == nil {
				t.Error("permanent front: no UV panel")
			}
		})
	}
}

// TestResolution600 checks that a 600 dpi render is the 300 dpi design on
// a doubled grid: same panels, about four times the K dots.
func TestResolution600(t *testing.T) {
	c3, _ := sampleCard(t, "permanent", 300)
	c6, _ := sampleCard(t, "permanent", 600)
	if c6.Front.Color.Rect.Dx() != 2032 || c6.Front.Color.Rect.Dy() != 1296 {
		t.Fatalf("600 dpi raster %v", c6.Front.Color.Rect)
	}
	for _, p := range []struct {
		name   string
		m3, m6 *printer.Mono
	}{{"front k", c3.Front.K, c6.Front.K}, {"back k", c3.Back.K, c6.Back.K}, {"back overlay", c3.Back.Overlay, c6.Back.Overlay}} {
		n3, n6 := p.m3.Count(), p.m6.Count()
		if ratio := float64(n6) / float64(n3); ratio < 3.6 || ratio > 4.4 {
			t.Errorf("%s: %d dots at 600 dpi, %d at 300: ratio %.2f, want about 4", p.name, n6, n3, ratio)
		}
	}
}

func parseTemplate(t testing.TB, src string) *layout.Template {
	t.Helper()
	fsys := fstest.MapFS{}
	tp, err := layout.ParseTemplate("t.toml", []byte(src), &layout.ParseOptions{FS: fsys})
	if err != nil {
		t.Fatal(err)
	}
	return tp
}

func renderT(t testing.TB, src string, d *layout.Data, g printer.Geometry) *printer.Card {
	t.Helper()
	c, err := layout.NewRenderer(nil).Render(context.Background(), parseTemplate(t, src), d, g)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// inkBounds returns the bounding box of the On dots of m.
func inkBounds(m *printer.Mono) image.Rectangle {
	var r image.Rectangle
	for y := m.Rect.Min.Y; y < m.Rect.Max.Y; y++ {
		for x := m.Rect.Min.X; x < m.Rect.Max.X; x++ {
			if m.BitAt(x, y) {
				r = r.Union(image.Rect(x, y, x+1, y+1))
			}
		}
	}
	return r
}

// boxDots converts a box in mm to dots the way the renderer does for a
// CR80 template on a CR80 raster at dpi.
func boxDots(dpi int, x, y, w, h float64) image.Rectangle {
	g := printer.CR80(dpi)
	d := g.DotsPerMM()
	ox := (g.Width - int(layout.CR80WidthMM*d+.5)) / 2
	oy := (g.Height - int(layout.CR80HeightMM*d+.5)) / 2
	pt := func(mx, my float64) image.Point {
		return image.Pt(ox+int(mx*d+.5), oy+int(my*d+.5))
	}
	return image.Rectangle{pt(x, y), pt(x+w, y+h)}
}

func TestKTextCrisp(t *testing.T) {
	src := `[front]
[[front.element]]
kind = "text"
panel = "k"
text = "{{.surname | upper}} {{.given_names}}"
size = 9
x = 10.0
y = 10.0
w = 60.0
h = 6.0
[[front.element]]
kind = "text"
panel = "color"
text = "{{.surname}}"
size = 9
x = 10.0
y = 30.0
w = 60.0
h = 6.0
`
	d := &layout.Data{Fields: map[string]string{"surname": "Ødegård-Núñez", "given_names": "Zoë Weiß"}}
	c := renderT(t, src, d, printer.CR80(300))
	box := boxDots(300, 10, 10, 60, 6)
	ink := inkBounds(c.Front.K)
	if ink.Empty() {
		t.Fatal("no K ink")
	}
	if !ink.In(box) {
		t.Errorf("K text ink %v outside its box %v", ink, box)
	}
	// Glyphs, not a blob: between 10 % and 60 % of the ink box is inked,
	// and the ink spans most of a line's height.
	n := c.Front.K.Count()
	if f := float64(n) / float64(ink.Dx()*ink.Dy()); f < 0.1 || f > 0.6 {
		t.Errorf("ink fill %.2f of its bounding box", f)
	}
	if ink.Dy() < 30 { // 9 pt at 300 dpi: capitals ~25 dots, accents above
		t.Errorf("ink height %d dots", ink.Dy())
	}
	// The same text on the colour panel is anti-aliased: it has greys.
	greys := map[uint8]bool{}
	cb := boxDots(300, 10, 30, 60, 6)
	for y := cb.Min.Y; y < cb.Max.Y; y++ {
		for x := cb.Min.X; x < cb.Max.X; x++ {
			if v := c.Front.Color.RGBAAt(x, y).R; v > 10 && v < 245 {
				greys[v] = true
			}
		}
	}
	if len(greys) < 20 {
		t.Errorf("colour text has %d grey levels, want anti-aliasing", len(greys))
	}
}

func TestTextShrinkAndEllipsis(t *testing.T) {
	tmpl := `[front]
[[front.element]]
kind = "text"
panel = "k"
text = "{{.name}}"
size = 10
min_size = %v
x = 10.0
y = 10.0
w = 25.0
h = 6.0
`
	d := &layout.Data{Fields: map[string]string{"name": "Bartholomew Alexander Maximilian Øvergaard-Lindqvist"}}
	box := boxDots(300, 10, 10, 25, 6)
	for _, min := range []float64{10, 4} {
		c := renderT(t, fmt.Sprintf(tmpl, min), d, printer.CR80(300))
		ink := inkBounds(c.Front.K)
		if ink.Empty() || !ink.In(box) {
			t.Errorf("min_size %v: ink %v not inside box %v", min, ink, box)
		}
		if ink.Dx() < box.Dx()*8/10 {
			t.Errorf("min_size %v: ink %d dots wide in a %d-dot box: not filled", min, ink.Dx(), box.Dx())
		}
	}
}

func decodeMono(t *testing.T, m *printer.Mono, r gozxing.Reader, hints map[gozxing.DecodeHintType]any) string {
	t.Helper()
	bmp, err := gozxing.NewBinaryBitmapFromImage(monoImage(m))
	if err != nil {
		t.Fatal(err)
	}
	res, err := r.Decode(bmp, hints)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	return res.GetText()
}

func TestBarcodesScan(t *testing.T) {
	src := `[front]
[[front.element]]
kind = "background"
fill = "#204080"
[[front.element]]
kind = "barcode"
symbology = "qr"
data = "{{.Serial}};{{.JobID}}"
module = 4
x = 5.0
y = 5.0
[[front.element]]
kind = "barcode"
symbology = "code128"
data = "{{.Serial}}"
module = 2
x = 40.0
y = 30.0
w = 40.0
h = 10.0
`
	d := &layout.Data{JobID: "CASE-2026-000123", Serial: "EX12345678"}
	for _, dpi := range []int{300, 600} {
		c := renderT(t, src, d, printer.CR80(dpi))
		// QR alone: crop to the left half so the 1D code is not in view.
		half := printer.NewMono(image.Rect(0, 0, c.Geometry.Width/2, c.Geometry.Height/2))
		for y := 0; y < half.Rect.Dy(); y++ {
			for x := 0; x < half.Rect.Dx(); x++ {
				half.SetBit(x, y, c.Front.K.BitAt(x, y))
			}
		}
		if got := decodeMono(t, half, qrcode.NewQRCodeReader(), map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_PURE_BARCODE: false}); got != "EX12345678;CASE-2026-000123" {
			t.Errorf("%d dpi: QR says %q", dpi, got)
		}
		// Module size: the top-left finder pattern is 7 modules wide.
		ink := inkBounds(half)
		run := 0
		for x := ink.Min.X; half.BitAt(x, ink.Min.Y); x++ {
			run++
		}
		if want := 7 * 4 * dpi / 300; run != want {
			t.Errorf("%d dpi: finder pattern %d dots wide, want %d", dpi, run, want)
		}
		// The colour under the QR's quiet zone is knocked out to white.
		q := ink.Min.Sub(image.Pt(2, 2))
		if c := c.Front.Color.RGBAAt(q.X, q.Y); c != (color.RGBA{255, 255, 255, 255}) {
			t.Errorf("%d dpi: colour under the quiet zone %v, want white", dpi, c)
		}
		bottom := printer.NewMono(image.Rect(0, 0, c.Geometry.Width, c.Geometry.Height))
		for y := c.Geometry.Height / 2; y < c.Geometry.Height; y++ {
			for x := 0; x < c.Geometry.Width; x++ {
				bottom.SetBit(x, y, c.Front.K.BitAt(x, y))
			}
		}
		if got := decodeMono(t, bottom, oned.NewCode128Reader(), nil); got != "EX12345678" {
			t.Errorf("%d dpi: Code 128 says %q", dpi, got)
		}
	}
}

func TestPortraitRotation(t *testing.T) {
	src := `orientation = "portrait"
[front]
[[front.element]]
kind = "rect"
fill = "#ff0000"
x = 0.0
y = 0.0
w = 10.0
h = 10.0
[[front.element]]
kind = "rect"
panel = "k"
fill = "black"
x = 43.98
y = 0.0
w = 10.0
h = 5.0
`
	g := printer.CR80(300)
	c := renderT(t, src, &layout.Data{}, g)
	if c.Front.Color.Rect != g.Bounds() || c.Front.K.Rect != g.Bounds() {
		t.Fatalf("panels %v %v, want landscape %v", c.Front.Color.Rect, c.Front.K.Rect, g.Bounds())
	}
	// The portrait's top edge lies along the raster's left edge: its
	// top-left corner is at the raster's bottom-left, its top-right corner
	// at the raster's top-left.
	if got := c.Front.Color.RGBAAt(40, g.Height-40); got != (color.RGBA{255, 0, 0, 255}) {
		t.Errorf("bottom-left of the raster is %v, want the red top-left square", got)
	}
	if got := c.Front.Color.RGBAAt(40, 40); got != (color.RGBA{255, 255, 255, 255}) {
		t.Errorf("top-left of the raster is %v, want white", got)
	}
	ink := inkBounds(c.Front.K)
	// 10 mm wide, 5 mm tall in portrait becomes 5 mm wide, 10 mm tall,
	// near the raster's top-left corner.
	if ink.Dx() < 55 || ink.Dx() > 62 || ink.Dy() < 115 || ink.Dy() > 122 || ink.Min.X > 5 || ink.Min.Y > 5 {
		t.Errorf("K rect at %v after rotation", ink)
	}
}

func TestOverlayMask(t *testing.T) {
	src := `[front]
overlay = true
[[front.element]]
kind = "overlay_mask"
region = "chip"
[[front.element]]
kind = "overlay_mask"
region = "signature"
x = 40.0
y = 40.0
w = 30.0
h = 8.0
[back]
[[back.element]]
kind = "rect"
fill = "red"
w = 5.0
h = 5.0
`
	g := printer.CR80(300)
	c := renderT(t, src, &layout.Data{}, g)
	ov := c.Front.Overlay
	if ov == nil {
		t.Fatal("no overlay")
	}
	chip := boxDots(300, 8.5, 17.5, 14, 12.5)
	sig := boxDots(300, 40, 40, 30, 8)
	want := g.Width*g.Height - chip.Dx()*chip.Dy() - sig.Dx()*sig.Dy()
	if n := ov.Count(); n != want {
		t.Errorf("overlay has %d dots, want %d (full minus chip and signature)", n, want)
	}
	if ov.BitAt(chip.Min.X+5, chip.Min.Y+5) || !ov.BitAt(chip.Min.X-1, chip.Min.Y) {
		t.Error("chip region not bare or its edge bare")
	}
	if c.Back == nil || c.Back.Overlay != nil || c.Back.K != nil {
		t.Errorf("back panels %v, want color only", c.Back.Panels())
	}
}

func TestPhotoAnchor(t *testing.T) {
	// A square photo, top half red, bottom half blue, placed in a wide box.
	img := image.NewRGBA(image.Rect(0, 0, 200, 200))
	for y := 0; y < 200; y++ {
		for x := 0; x < 200; x++ {
			c := color.RGBA{255, 0, 0, 255}
			if y >= 100 {
				c = color.RGBA{0, 0, 255, 255}
			}
			img.SetRGBA(x, y, c)
		}
	}
	var buf strings.Builder
	if err := png.Encode(&stringWriter{&buf}, img); err != nil {
		t.Fatal(err)
	}
	d := &layout.Data{Photo: []byte(buf.String()), PhotoName: "p.png"}
	for _, tc := range []struct {
		anchor string
		want   color.RGBA
	}{{"top", color.RGBA{255, 0, 0, 255}}, {"bottom", color.RGBA{0, 0, 255, 255}}} {
		src := fmt.Sprintf("[front]\n[[front.element]]\nkind = \"photo\"\nanchor = %q\nx = 10.0\ny = 10.0\nw = 40.0\nh = 10.0\n", tc.anchor)
		c := renderT(t, src, d, printer.CR80(300))
		box := boxDots(300, 10, 10, 40, 10)
		for _, p := range []image.Point{box.Min.Add(image.Pt(3, 3)), box.Max.Sub(image.Pt(4, 4)), {(box.Min.X + box.Max.X) / 2, (box.Min.Y + box.Max.Y) / 2}} {
			got := c.Front.Color.RGBAAt(p.X, p.Y)
			if absDiff(uint32(got.R)<<8, uint32(tc.want.R)<<8) > 8 || absDiff(uint32(got.B)<<8, uint32(tc.want.B)<<8) > 8 {
				t.Errorf("anchor %s: %v at %v, want %v", tc.anchor, got, p, tc.want)
			}
		}
	}
}

type stringWriter struct{ b *strings.Builder }

func (w *stringWriter) Write(p []byte) (int, error) { return w.b.Write(p) }

func TestRenderConcurrent(t *testing.T) {
	tp, err := samples.Template("permanent", nil)
	if err != nil {
		t.Fatal(err)
	}
	jobs, err := samples.Generate("permanent", 4, 7)
	if err != nil {
		t.Fatal(err)
	}
	r := layout.NewRenderer(nil)
	var wg sync.WaitGroup
	errs := make(chan error, len(jobs))
	for _, d := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := r.Render(context.Background(), tp, d, printer.CR80(300))
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

func TestGenerateDistinct(t *testing.T) {
	a, err := samples.Generate("temporary", 3, 1)
	if err != nil {
		t.Fatal(err)
	}
	b, err := samples.Generate("temporary", 3, 1)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for i := range a {
		if string(a[i].Photo) != string(b[i].Photo) || a[i].Fields["surname"] != b[i].Fields["surname"] {
			t.Errorf("job %d: not deterministic", i)
		}
		seen[string(a[i].Photo)] = true
		if a[i].Expires.Sub(a[i].IssuedAt) != 30*24*time.Hour {
			t.Errorf("temporary expiry %v after issue", a[i].Expires.Sub(a[i].IssuedAt))
		}
	}
	if len(seen) != 3 {
		t.Errorf("%d distinct portraits of 3", len(seen))
	}
}

func TestDataMatrixScans(t *testing.T) {
	src := `[front]
[[front.element]]
kind = "barcode"
symbology = "datamatrix"
data = "{{.Serial}}"
module = 5
x = 10.0
y = 10.0
[[front.element]]
kind = "barcode"
symbology = "pdf417"
data = "{{.Serial}}"
module = 2
ecc = "3"
x = 10.0
y = 30.0
w = 70.0
h = 20.0
`
	c := renderT(t, src, &layout.Data{Serial: "EX12345678"}, printer.CR80(300))
	top := printer.NewMono(image.Rect(0, 0, c.Geometry.Width, c.Geometry.Height/2))
	for y := 0; y < top.Rect.Dy(); y++ {
		for x := 0; x < top.Rect.Dx(); x++ {
			top.SetBit(x, y, c.Front.K.BitAt(x, y))
		}
	}
	if got := decodeMono(t, top, datamatrix.NewDataMatrixReader(), map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_PURE_BARCODE: true}); got != "EX12345678" {
		t.Errorf("DataMatrix says %q", got)
	}
	// PDF417 (no reader at hand): its rows are 3 modules tall and every
	// bar is a whole number of 2-dot modules wide.
	box := boxDots(300, 10, 30, 70, 20)
	ink := inkBounds(subMono(c.Front.K, box))
	if ink.Empty() || ink.Dx()%2 != 0 {
		t.Errorf("PDF417 ink %v: width not a whole number of modules", ink)
	}
}

func subMono(m *printer.Mono, r image.Rectangle) *printer.Mono {
	out := printer.NewMono(r)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			out.SetBit(x, y, m.BitAt(x, y))
		}
	}
	return out
}

func TestFonts(t *testing.T) {
	dir := t.TempDir()
	fontFile := filepath.Join(dir, "station.ttf")
	if err := os.WriteFile(fontFile, gomono.TTF, 0o644); err != nil {
		t.Fatal(err)
	}
	src := `[fonts]
mine = "fonts/mine.ttf"
[front]
[[front.element]]
kind = "text"
panel = "k"
font = "mine"
text = "iiiiii"
size = 10
x = 5.0
y = 5.0
[[front.element]]
kind = "text"
panel = "k"
font = "station"
text = "iiiiii"
size = 10
x = 5.0
y = 20.0
[[front.element]]
kind = "text"
panel = "k"
text = "iiiiii"
size = 10
x = 5.0
y = 35.0
`
	fsys := fstest.MapFS{"fonts/mine.ttf": {Data: gomono.TTF}}
	r := layout.NewRenderer(&layout.Options{FontFiles: map[string]string{"station": fontFile}})
	if _, err := layout.ParseTemplate("t.toml", []byte(src), &layout.ParseOptions{FS: fsys}); err == nil {
		t.Fatal("template using an unconfigured font parsed")
	}
	tp, err := layout.ParseTemplate("t.toml", []byte(src), &layout.ParseOptions{FS: fsys, Fonts: r.FontNames()})
	if err != nil {
		t.Fatal(err)
	}
	c, err := r.Render(context.Background(), tp, &layout.Data{}, printer.CR80(300))
	if err != nil {
		t.Fatal(err)
	}
	// A monospaced "iiiiii" is much wider than a proportional one.
	width := func(ymm float64) int {
		return inkBounds(subMono(c.Front.K, boxDots(300, 0, ymm, 85, 12))).Dx()
	}
	mono1, mono2, prop := width(5), width(20), width(35)
	if mono1 != mono2 || mono1 < prop*3/2 {
		t.Errorf("ink widths: template font %d, config font %d, default %d", mono1, mono2, prop)
	}
}

func TestOptionalPhoto(t *testing.T) {
	src := "[front]\n[[front.element]]\nkind = \"photo\"\noptional = true\nx = 1.0\ny = 1.0\nw = 10.0\nh = 10.0\n"
	c := renderT(t, src, &layout.Data{}, printer.CR80(300))
	if c.Front.Color != nil {
		t.Error("an optional photo without a photo drew something")
	}
}

func TestTextWrap(t *testing.T) {
	tmpl := `[front]
[[front.element]]
kind = "text"
panel = "k"
text = "{{.address}}"
size = 8
min_size = 6
max_lines = %d
x = 10.0
y = 10.0
w = 40.0
h = 12.0
`
	box := boxDots(300, 10, 10, 40, 12)
	lineH := 8.0 / 72 * 300 // one em at 8 pt in dots
	for _, tc := range []struct {
		lines   int
		address string
		minH    float64 // ink height, in ems
	}{
		{1, "12 Rue de l’Église, 4410 Säntisberg", 0.6},
		{2, "12 Rue de l’Église, 4410 Säntisberg", 1.5},
		{3, "Appartement 4, escalier B, 12 Rue de l’Église prolongée, 4410 Säntisberg-les-Bains, Helvetia", 2.2},
	} {
		c := renderT(t, fmt.Sprintf(tmpl, tc.lines), &layout.Data{Fields: map[string]string{"address": tc.address}}, printer.CR80(300))
		ink := inkBounds(c.Front.K)
		if ink.Empty() || !ink.In(box) {
			t.Errorf("max_lines %d: ink %v outside box %v", tc.lines, ink, box)
		}
		if h := float64(ink.Dy()) / lineH; h < tc.minH || h > float64(tc.lines)*1.6 {
			t.Errorf("max_lines %d: ink %.1f ems tall", tc.lines, h)
		}
	}
	if _, err := layout.ParseTemplate("t.toml", []byte("[front]\n[[front.element]]\nkind = \"text\"\ntext = \"a\"\nmax_lines = 2\n"), nil); err == nil {
		t.Error("max_lines without w accepted")
	}
}

// TestStaticPrefixCache renders cards of different jobs with one renderer:
// the cached static prefix must give the same pixels as a fresh renderer.
func TestStaticPrefixCache(t *testing.T) {
	tp, err := samples.Template("permanent", nil)
	if err != nil {
		t.Fatal(err)
	}
	jobs, err := samples.Generate("permanent", 3, 11)
	if err != nil {
		t.Fatal(err)
	}
	shared := layout.NewRenderer(nil)
	for _, dpi := range []int{300, 600} {
		for i, d := range jobs {
			got, err := shared.Render(context.Background(), tp, d, printer.CR80(dpi))
			if err != nil {
				t.Fatal(err)
			}
			want, err := layout.NewRenderer(nil).Render(context.Background(), tp, d, printer.CR80(dpi))
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range []struct {
				name string
				a, b []byte
			}{
				{"front color", got.Front.Color.Pix, want.Front.Color.Pix},
				{"front k", got.Front.K.Pix, want.Front.K.Pix},
				{"front overlay", got.Front.Overlay.Pix, want.Front.Overlay.Pix},
				{"back color", got.Back.Color.Pix, want.Back.Color.Pix},
				{"back k", got.Back.K.Pix, want.Back.K.Pix},
				{"front uv", got.Front.UV.Pix, want.Front.UV.Pix},
			} {
				if string(p.a) != string(p.b) {
					t.Errorf("%d dpi job %d: %s differs from a fresh render", dpi, i, p.name)
				}
			}
		}
	}
}
