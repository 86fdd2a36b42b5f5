package layout

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/cardd/cardd/printer"
)

// pngBytes encodes a w × h PNG of one colour.
func pngBytes(t testing.TB, w, h int, c color.Color) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, c)
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// jpegBytesOf encodes img as a JPEG.
func jpegBytesOf(t testing.TB, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// jpegBytes encodes a w × h JPEG of horizontal halves: top red, bottom blue.
func jpegBytes(t testing.TB, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			if y < h/2 {
				img.Set(x, y, color.RGBA{255, 0, 0, 255})
			} else {
				img.Set(x, y, color.RGBA{0, 0, 255, 255})
			}
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// bombPNG is a valid PNG signature and IHDR declaring w × h pixels with no
// image data: DecodeConfig accepts it, Decode would allocate w*h*4 bytes.
func bombPNG(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 6 // 8-bit RGBA
	chunk := append([]byte("IHDR"), ihdr...)
	binary.Write(&b, binary.BigEndian, uint32(len(ihdr)))
	b.Write(chunk)
	binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(chunk))
	return b.Bytes()
}

func testFS(t testing.TB) fstest.MapFS {
	return fstest.MapFS{
		"logo.png":     {Data: pngBytes(t, 40, 20, color.RGBA{0, 0, 200, 255})},
		"sub/mark.png": {Data: pngBytes(t, 10, 10, color.Black)},
		"dir":          {Mode: 0o755 | 1<<31},
	}
}

func parseT(t testing.TB, src string) (*Template, error) {
	t.Helper()
	return ParseTemplate("test.toml", []byte(src), &ParseOptions{FS: testFS(t)})
}

const side = "[front]\n[[front.element]]\n"

func TestParseTemplateErrors(t *testing.T) {
	tests := []struct {
		name, src string
		line      int
		want      []string // substrings of the error
	}{
		{"syntax", "name = ", 1, []string{"test.toml:1"}},
		{"unknown top key", "colour = 1\n" + side + "kind = \"rect\"\nw=1\nh=1\nfill=\"red\"\n", 1, []string{`"colour"`, "unknown key"}},
		{"unknown element key", side + "kind = \"rect\"\nw = 1\nh = 1\nfill = \"red\"\nfont = \"go\"\n", 7, []string{"front element 1 (rect)", `"font"`, "unknown key"}},
		{"unknown key in second element", side + "kind = \"text\"\ntext = \"a\"\nsize = 9\n[[front.element]]\nkind = \"rect\"\nw = 1\nh = 1\nfill = \"red\"\nsize = 9\n", 11, []string{"front element 2 (rect)", `"size"`}},
		{"unknown nested key", side + "kind = \"background\"\ngradient = { from = \"red\", to = \"blue\", angel = 9 }\n", 4, []string{`"gradient.angel"`, "unknown key"}},
		{"unknown kind", side + "kind = \"hologram\"\n", 3, []string{`unknown element kind "hologram"`, "barcode"}},
		{"missing kind", side + "name = \"x\"\n", 2, []string{`"kind"`, "missing"}},
		{"bad colour", side + "kind = \"text\"\nname = \"surname\"\ntext = \"x\"\ncolor = \"#12345\"\n", 6, []string{`(text "surname")`, `"color"`, "#12345"}},
		{"bad colour name", side + "kind = \"rect\"\nw = 1\nh = 1\nfill = \"blurple\"\n", 6, []string{`"fill"`}},
		{"bad panel", side + "kind = \"rect\"\nw = 1\nh = 1\nfill = \"red\"\npanel = \"gold\"\n", 7, []string{`"panel"`, "gold"}},
		{"mask on k", side + "kind = \"overlay_mask\"\nregion = \"chip\"\npanel = \"k\"\n", 5, []string{`"panel"`}},
		{"path escape", side + "kind = \"image\"\npath = \"../secret.png\"\nw = 5\nh = 5\n", 4, []string{`"path"`, "leaves the template directory"}},
		{"absolute path", side + "kind = \"image\"\npath = \"/etc/passwd\"\nw = 5\nh = 5\n", 4, []string{"leaves the template directory"}},
		{"missing image", side + "kind = \"image\"\npath = \"nope.png\"\nw = 5\nh = 5\n", 4, []string{"nope.png"}},
		{"image is dir", side + "kind = \"background\"\nimage = \"dir\"\n", 4, []string{"not a regular file"}},
		{"bad expression", side + "kind = \"text\"\ntext = \"{{.surname | nosuch}}\"\n", 4, []string{`"text"`, "nosuch"}},
		{"range refused", side + "kind = \"text\"\ntext = \"{{range 1000000000}}x{{end}}\"\n", 4, []string{"not allowed"}},
		{"bad symbology", side + "kind = \"barcode\"\nsymbology = \"aztec\"\ndata = \"x\"\n", 4, []string{`"symbology"`}},
		{"bad ecc", side + "kind = \"barcode\"\nsymbology = \"qr\"\ndata = \"x\"\necc = \"Z\"\n", 6, []string{`"ecc"`}},
		{"code128 needs h", side + "kind = \"barcode\"\nsymbology = \"code128\"\ndata = \"x\"\n", 2, []string{`"h"`}},
		{"unknown font", side + "kind = \"text\"\ntext = \"x\"\nfont = \"comic\"\n", 5, []string{`"font"`, "comic"}},
		{"bad orientation", "orientation = \"diagonal\"\n" + side + "kind = \"rect\"\nw=1\nh=1\nfill=\"red\"\n", 1, []string{`"orientation"`}},
		{"tiny card", "width = 1.0\nheight = 1.0\n" + side, 1, []string{`"width"`}},
		{"no front", "name = \"x\"\n", 0, []string{"front"}},
		{"empty back", side + "kind = \"rect\"\nw=1\nh=1\nfill=\"red\"\n[back]\n", 7, []string{`"back"`, "empty"}},
		{"wrong type", side + "kind = \"text\"\ntext = \"x\"\nsize = \"big\"\n", 5, []string{"size"}},
		{"two backgrounds", side + "kind = \"background\"\nfill = \"red\"\nimage = \"logo.png\"\n", 4, []string{"exactly one"}},
		{"font path escape", "[fonts]\nx = \"../../f.ttf\"\n" + side + "kind = \"text\"\ntext = \"a\"\n", 2, []string{`"fonts.x"`}},
		{"font not a font", "[fonts]\nx = \"logo.png\"\n" + side + "kind = \"text\"\ntext = \"a\"\n", 2, []string{`"fonts.x"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseT(t, tc.src)
			if err == nil {
				t.Fatal("parsed without error")
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T is not *Error: %v", err, err)
			}
			if e.Line != tc.line {
				t.Errorf("line %d, want %d (%v)", e.Line, tc.line, err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if !strings.HasPrefix(err.Error(), "template test.toml") {
				t.Errorf("error %q does not name the file", err)
			}
		})
	}
}

func TestParseTemplateDefaults(t *testing.T) {
	tp, err := parseT(t, side+"kind = \"overlay_mask\"\nregion = \"chip\"\n[[front.element]]\nkind = \"image\"\npath = \"sub/mark.png\"\nw = 3\nh = 3\n")
	if err != nil {
		t.Fatal(err)
	}
	if tp.Name != "test" || tp.Width != CR80WidthMM || tp.Height != CR80HeightMM || tp.Orientation != Landscape {
		t.Errorf("defaults: %+v", tp)
	}
	if !tp.Front.Overlay {
		t.Error("a side with an overlay_mask should get an overlay")
	}
	if tp.Back != nil {
		t.Error("single-sided template has a back")
	}
	if p := tp.Front.Elements[1].Common().Panel; p != printer.PanelColor {
		t.Errorf("image panel %q, want color", p)
	}
	pt, err := parseT(t, "orientation = \"portrait\"\n"+side+"kind = \"rect\"\nw=1\nh=1\nfill=\"red\"\n")
	if err != nil {
		t.Fatal(err)
	}
	if pt.Width != CR80HeightMM || pt.Height != CR80WidthMM {
		t.Errorf("portrait size %v × %v", pt.Width, pt.Height)
	}
}

func TestOverlayMaskWithoutOverlay(t *testing.T) {
	c, err := render(t, "[front]\noverlay = false\n[[front.element]]\nkind = \"overlay_mask\"\nregion = \"chip\"\n", &Data{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Front.Overlay != nil {
		t.Error("overlay = false side got an overlay panel")
	}
}

func TestTemplateFields(t *testing.T) {
	tp, err := parseT(t, side+"kind = \"text\"\ntext = \"{{.surname}} {{.given_names | upper}}\"\n[[front.element]]\nkind = \"barcode\"\nsymbology = \"qr\"\ndata = \"{{.Serial}}\"\n")
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(tp.Fields(), ",")
	if got != "Serial,given_names,surname" {
		t.Errorf("Fields() = %s", got)
	}
}

func render(t testing.TB, src string, d *Data, opts *Options) (*printer.Card, error) {
	t.Helper()
	tp, err := parseT(t, src)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return NewRenderer(opts).Render(context.Background(), tp, d, printer.CR80(300))
}

func TestRenderErrors(t *testing.T) {
	photo := side + "kind = \"photo\"\nname = \"portrait\"\nx = 2\ny = 2\nw = 20\nh = 25\n"
	corrupt := jpegBytes(t, 64, 64)
	corrupt = append(corrupt[:len(corrupt)/2:len(corrupt)/2], bytes.Repeat([]byte{0x12}, 40)...)
	tests := []struct {
		name  string
		src   string
		data  Data
		opts  *Options
		is    error
		field string
		want  []string
	}{
		{"missing field", side + "kind = \"text\"\nname = \"surname\"\ntext = \"{{.surname | upper}}\"\n",
			Data{JobID: "J1", Fields: map[string]string{"given_names": "A"}}, nil, ErrMissingField, "text",
			[]string{"job J1", `front element 1 (text "surname")`, `field "surname"`}},
		{"bad date", side + "kind = \"text\"\ntext = \"{{.dob | date \\\"2006\\\"}}\"\n",
			Data{Fields: map[string]string{"dob": "14/03/1987"}}, nil, nil, "text", []string{"ISO 8601"}},
		{"no photo", photo, Data{}, nil, ErrNoPhoto, "", []string{`(photo "portrait")`}},
		{"photo too large", photo, Data{Photo: jpegBytes(t, 64, 64), PhotoName: "big.jpg"}, &Options{MaxPhotoBytes: 100}, ErrImageTooLarge, "", []string{"big.jpg"}},
		{"too many pixels", photo, Data{Photo: jpegBytes(t, 300, 300), PhotoName: "p.jpg"}, &Options{MaxPhotoPixels: 200 * 200}, ErrTooManyPixels, "", []string{"300 × 300"}},
		{"decompression bomb", photo, Data{Photo: bombPNG(100000, 100000), PhotoName: "bomb.png"}, nil, ErrTooManyPixels, "", []string{"bomb.png", "100000 × 100000"}},
		{"corrupt jpeg", photo, Data{Photo: corrupt, PhotoName: "c.jpg"}, nil, ErrBadImage, "", []string{"c.jpg"}},
		{"not an image", photo, Data{Photo: []byte("GIF89a......"), PhotoName: "x.gif"}, nil, ErrBadImage, "", []string{"unknown format"}},
		{"barcode too big", side + "kind = \"barcode\"\nsymbology = \"qr\"\ndata = \"{{.long}}\"\nw = 5\nh = 5\n",
			Data{Fields: map[string]string{"long": strings.Repeat("x", 300)}}, nil, nil, "w", []string{"does not fit"}},
		{"missing glyph", side + "kind = \"text\"\ntext = \"{{.surname}}\"\n",
			Data{Fields: map[string]string{"surname": "Nguyễn"}}, nil, ErrMissingGlyph, "text", []string{"U+1EC5", `"go"`}},
		{"empty barcode", side + "kind = \"barcode\"\nsymbology = \"qr\"\ndata = \"{{.s}}\"\n",
			Data{Fields: map[string]string{"s": ""}}, nil, nil, "data", []string{"empty"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := render(t, tc.src, &tc.data, tc.opts)
			if err == nil {
				t.Fatal("rendered without error")
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T is not *Error: %v", err, err)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %v is not %v", err, tc.is)
			}
			if e.Field != tc.field {
				t.Errorf("field %q, want %q (%v)", e.Field, tc.field, err)
			}
			for _, w := range append(tc.want, "template test.toml", "front element 1") {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestRenderCancelled(t *testing.T) {
	tp, err := parseT(t, side+"kind = \"rect\"\nw = 1\nh = 1\nfill = \"red\"\n")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = NewRenderer(nil).Render(ctx, tp, &Data{}, printer.CR80(300))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestFindLine(t *testing.T) {
	src := []byte("a = 1\n[fonts]\nx = \"f\"\n[[front.element]]\nkind = \"t\"\n[[ front.element ]]\n  kind = \"r\"\n  size = 2\n[back]\n")
	tests := []struct {
		parent []string
		index  int
		key    string
		want   int
	}{
		{nil, -1, "a", 1},
		{[]string{"fonts"}, -1, "x", 3},
		{[]string{"front", "element"}, 0, "kind", 5},
		{[]string{"front", "element"}, 1, "size", 8},
		{[]string{"front", "element"}, 1, "", 6},
		{[]string{"back"}, -1, "", 9},
		{[]string{"front", "element"}, 2, "kind", 0},
	}
	for _, tc := range tests {
		if got := findLine(src, tc.parent, tc.index, tc.key); got != tc.want {
			t.Errorf("findLine(%v, %d, %q) = %d, want %d", tc.parent, tc.index, tc.key, got, tc.want)
		}
	}
}

func TestParseColor(t *testing.T) {
	tests := []struct {
		in   string
		want color.RGBA
		ok   bool
	}{
		{"#fff", color.RGBA{255, 255, 255, 255}, true},
		{"#123456", color.RGBA{0x12, 0x34, 0x56, 255}, true},
		{"#ff000080", color.RGBA{0x80, 0, 0, 0x80}, true},
		{" Black ", color.RGBA{0, 0, 0, 255}, true},
		{"transparent", color.RGBA{}, true},
		{"#12345", color.RGBA{}, false},
		{"#gggggg", color.RGBA{}, false},
		{"123456", color.RGBA{}, false},
		{"", color.RGBA{}, false},
	}
	for _, tc := range tests {
		got, err := ParseColor(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseColor(%q) = %v, %v; want %v, ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func FuzzParseTemplate(f *testing.F) {
	f.Add([]byte(side + "kind = \"text\"\ntext = \"{{.a | upper}}\"\nx = 1\n"))
	f.Add([]byte("orientation = \"portrait\"\n[front]\noverlay = true\n[[front.element]]\nkind = \"overlay_mask\"\nregion = \"chip\"\n[back]\n"))
	f.Add([]byte(side + "kind = \"barcode\"\nsymbology = \"qr\"\ndata = \"x\"\nquiet = 2\n"))
	f.Add([]byte(side + "kind = \"background\"\ngradient = { from = \"#fff\", to = \"#000\", angle = 45 }\n"))
	f.Add([]byte(side + "kind = \"image\"\npath = \"logo.png\"\nw = 5\nh = 5\n"))
	f.Add([]byte(side + "kind = \"text\"\npanel = \"uv\"\nrequired = true\ntext = \"{{.Serial}}\"\nx = 1\n"))
	fsys := testFS(f)
	f.Fuzz(func(t *testing.T, src []byte) {
		tp, err := ParseTemplate("fuzz.toml", src, &ParseOptions{FS: fsys})
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T is not *Error: %v", err, err)
			}
			return
		}
		// A template that parses must render or fail with an *Error.
		d := &Data{Fields: map[string]string{"a": "Zoë"}, Serial: "S1", IssuedAt: time.Unix(0, 0)}
		if _, err := NewRenderer(nil).Render(context.Background(), tp, d, printer.Geometry{DPI: 100, Width: 340, Height: 216}); err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("render error %T is not *Error: %v", err, err)
			}
		}
		// On a K-only ribbon: elements on other panels are skipped (or a
		// required one fails with ErrPanelMissing); only K comes out.
		res, err := NewRenderer(nil).RenderWith(context.Background(), tp, d, printer.Geometry{DPI: 100, Width: 340, Height: 216},
			&RenderOptions{Panels: []printer.Panel{printer.PanelK}})
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("K-only render error %T is not *Error: %v", err, err)
			}
			return
		}
		for _, s := range []*printer.Side{&res.Card.Front, res.Card.Back} {
			if s != nil && (s.Color != nil || s.Overlay != nil || s.UV != nil) {
				t.Fatalf("K-only render has panels %v", s.Panels())
			}
		}
		for _, sk := range res.Skipped {
			if sk.Panel == printer.PanelK {
				t.Fatalf("K element skipped on a K ribbon: %v", sk)
			}
		}
	})
}

func TestRendererCaches(t *testing.T) {
	tp, err := parseT(t, side+"kind = \"image\"\npath = \"logo.png\"\nw = 10\nh = 5\n")
	if err != nil {
		t.Fatal(err)
	}
	r := NewRenderer(nil)
	f1, err := r.font(tp, "go-bold")
	if err != nil {
		t.Fatal(err)
	}
	f2, _ := r.font(tp, "go-bold")
	if f1 != f2 {
		t.Error("font parsed twice")
	}
	if _, err := r.font(tp, "nosuch"); err == nil {
		t.Error("unknown font accepted")
	}
	i1, err := r.image(tp, "logo.png")
	if err != nil {
		t.Fatal(err)
	}
	i2, _ := r.image(tp, "logo.png")
	if i1 != i2 {
		t.Error("image decoded twice")
	}
	if _, err := r.Render(context.Background(), tp, &Data{}, printer.CR80(300)); err != nil {
		t.Fatal(err)
	}
	n := len(r.images)
	if _, err := r.Render(context.Background(), tp, &Data{}, printer.CR80(300)); err != nil {
		t.Fatal(err)
	}
	if len(r.images) != n {
		t.Errorf("second render grew the image cache from %d to %d", n, len(r.images))
	}
}

func TestDataValuesPrecedence(t *testing.T) {
	d := &Data{Serial: "REAL", Fields: map[string]string{"Serial": "FORGED", "name": "x"}}
	v := d.values()
	if v["Serial"] != "REAL" || v["name"] != "x" {
		t.Errorf("values %v: pipeline values must win over job fields", v)
	}
}

func TestStaticImagesAndShapes(t *testing.T) {
	src := side + `kind = "background"
image = "logo.png"
x = 0.0
y = 0.0
w = 20.0
h = 10.0
[[front.element]]
kind = "image"
panel = "k"
path = "sub/mark.png"
x = 30.0
y = 30.0
w = 5.0
h = 5.0
[[front.element]]
kind = "line"
panel = "uv"
x = 10.0
y = 40.0
x2 = 50.0
y2 = 50.0
width = 1.0
[[front.element]]
kind = "rect"
panel = "overlay"
fill = "black"
radius = 2.0
x = 60.0
y = 5.0
w = 20.0
h = 20.0
`
	c, err := render(t, src, &Data{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	dpmm := c.Geometry.DotsPerMM()
	origin := image.Pt((c.Geometry.Width-int(math.Round(CR80WidthMM*dpmm)))/2, (c.Geometry.Height-int(math.Round(CR80HeightMM*dpmm)))/2)
	dc := &DrawContext{Geometry: c.Geometry, dpmm: dpmm, origin: origin}
	bg := dc.Rect(Box{0, 0, 20, 10})
	if got := c.Front.Color.RGBAAt(bg.Min.X+20, bg.Min.Y+20); got != (color.RGBA{0, 0, 200, 255}) {
		t.Errorf("background image pixel %v, want the logo's blue", got)
	}
	if got := c.Front.Color.RGBAAt(bg.Max.X+5, bg.Max.Y+5); got != (color.RGBA{255, 255, 255, 255}) {
		t.Errorf("outside the background box %v, want white", got)
	}
	mark := dc.Rect(Box{30, 30, 5, 5})
	if n, want := c.Front.K.Count(), mark.Dx()*mark.Dy(); n != want {
		t.Errorf("K image has %d dots, want %d (a %v black square)", n, want, mark.Size())
	}
	// A 1 mm wide line about 41.2 mm long.
	n := c.Front.UV.Count()
	want := dc.DotsF(1) * dc.DotsF(math.Hypot(40, 10))
	if math.Abs(float64(n)-want) > want*0.05 {
		t.Errorf("UV line has %d dots, want about %.0f", n, want)
	}
	// Rounded square: area 20² − (4 − π)·2² mm².
	n = c.Front.Overlay.Count()
	want = (400 - (4-math.Pi)*4) * dc.DotsPerMM() * dc.DotsPerMM()
	if math.Abs(float64(n)-want) > want*0.01 {
		t.Errorf("rounded rect has %d dots, want about %.0f", n, want)
	}
	r := dc.Rect(Box{60, 5, 20, 20})
	if c.Front.Overlay.BitAt(r.Min.X, r.Min.Y) || !c.Front.Overlay.BitAt(r.Min.X+r.Dx()/2, r.Min.Y) {
		t.Error("rounded rect corner filled or edge middle empty")
	}
}

func TestScaledPhotoCached(t *testing.T) {
	tp, err := parseT(t, side+"kind = \"rect\"\nw = 1\nh = 1\nfill = \"red\"\n")
	if err != nil {
		t.Fatal(err)
	}
	r := NewRenderer(nil)
	dc := &DrawContext{Template: tp, Data: &Data{Photo: jpegBytes(t, 64, 64)}, r: r, card: &renderCard{cache: map[string]any{}}}
	a, err := dc.ScaledPhoto(20, 10, .5, 0)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := dc.ScaledPhoto(20, 10, .5, 0)
	if a != b || a.Bounds().Dx() != 20 || a.Bounds().Dy() != 10 {
		t.Errorf("ScaledPhoto: %v %v, same=%v", a.Bounds(), b.Bounds(), a == b)
	}
	// Anchored at the top of a top-red, bottom-blue photo: red.
	if c := a.NRGBAAt(10, 5); c.R < 200 || c.B > 60 {
		t.Errorf("top-anchored crop is %v, want red", c)
	}
	if _, err := dc.ScaledPhoto(0, 10, 0, 0); err == nil {
		t.Error("empty size accepted")
	}
	dc.Data.Photo = nil
	dc.card.cache = map[string]any{}
	if _, err := dc.ScaledPhoto(5, 5, 0, 0); !errors.Is(err, ErrNoPhoto) {
		t.Errorf("no photo: %v", err)
	}
}

func TestLoadTemplateSymlinkEscape(t *testing.T) {
	outside := t.TempDir()
	secret := filepath.Join(outside, "secret.png")
	if err := os.WriteFile(secret, pngBytes(t, 4, 4, color.Black), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.Symlink(secret, filepath.Join(dir, "logo.png")); err != nil {
		t.Skip("no symlinks:", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "inside.png"), pngBytes(t, 4, 4, color.Black), 0o644); err != nil {
		t.Fatal(err)
	}
	write := func(name, img string) string {
		p := filepath.Join(dir, name)
		src := side + "kind = \"image\"\npath = \"" + img + "\"\nw = 5.0\nh = 5.0\n"
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	if _, err := LoadTemplate(write("ok.toml", "inside.png"), nil); err != nil {
		t.Fatalf("image inside the directory: %v", err)
	}
	_, err := LoadTemplate(write("escape.toml", "logo.png"), nil)
	if err == nil {
		t.Fatal("a symbolic link out of the template directory was followed")
	}
	if !strings.Contains(err.Error(), "escape.toml:4") || !strings.Contains(err.Error(), `"path"`) {
		t.Errorf("error %q does not name the file, line and key", err)
	}
}

func TestPhotoAdjustments(t *testing.T) {
	photo := jpegBytes(t, 80, 80) // top red, bottom blue
	src := side + "kind = \"photo\"\nx = 5.0\ny = 5.0\nw = 10.0\nh = 10.0\n%s\n"
	box := func(c *printer.Card) image.Rectangle {
		dpmm := c.Geometry.DotsPerMM()
		o := image.Pt((c.Geometry.Width-int(math.Round(CR80WidthMM*dpmm)))/2, (c.Geometry.Height-int(math.Round(CR80HeightMM*dpmm)))/2)
		return image.Rect(int(math.Round(5*dpmm)), int(math.Round(5*dpmm)), int(math.Round(15*dpmm)), int(math.Round(15*dpmm))).Add(o)
	}
	grey, err := render(t, strings.Replace(src, "%s", "greyscale = true", 1), &Data{Photo: photo}, nil)
	if err != nil {
		t.Fatal(err)
	}
	r := box(grey)
	for _, p := range []image.Point{r.Min.Add(image.Pt(10, 10)), r.Max.Sub(image.Pt(10, 10))} {
		if c := grey.Front.Color.RGBAAt(p.X, p.Y); c.R != c.G || c.G != c.B {
			t.Errorf("greyscale photo pixel %v at %v", c, p)
		}
	}
	plain, _ := render(t, strings.Replace(src, "%s", "", 1), &Data{Photo: photo}, nil)
	flat, err := render(t, strings.Replace(src, "%s", "contrast = -80", 1), &Data{Photo: photo}, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := r.Min.Add(image.Pt(10, 10))
	if a, b := plain.Front.Color.RGBAAt(p.X, p.Y), flat.Front.Color.RGBAAt(p.X, p.Y); int(a.R)-int(a.B) <= int(b.R)-int(b.B) {
		t.Errorf("contrast -80 did not reduce contrast: %v vs %v", a, b)
	}
	k, err := render(t, strings.Replace(src, "%s", "panel = \"k\"", 1), &Data{Photo: photo}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Dithered onto K: red (luma ~30 %) is mostly set, but not solid.
	n := 0
	for y := r.Min.Y; y < r.Min.Y+r.Dy()/2; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if k.Front.K.BitAt(x, y) {
				n++
			}
		}
	}
	if f := float64(n) / float64(r.Dx()*r.Dy()/2); f < 0.5 || f > 0.9 {
		t.Errorf("dithered red covers %.2f of its half, want about 0.7", f)
	}
	if _, err := parseT(t, strings.Replace(src, "%s", "contrast = 200", 1)); err == nil {
		t.Error("contrast 200 accepted")
	}
	if _, err := parseT(t, strings.Replace(src, "%s", "anchor = \"middle\"", 1)); err == nil {
		t.Error("anchor middle accepted")
	}
}

// TestNeedsPhotoAndCheckPhoto: what the intake screener asks of layout
// before a serial exists — does the template need the photo, and would
// the renderer accept it (header, then the image data decoded).
func TestNeedsPhotoAndCheckPhoto(t *testing.T) {
	for _, tc := range []struct {
		src  string
		want bool
	}{
		{side + "kind = \"photo\"\nx = 1\ny = 1\nw = 20\nh = 25\n", true},
		{side + "kind = \"photo\"\nx = 1\ny = 1\nw = 20\nh = 25\noptional = true\n", false},
		{side + "kind = \"text\"\ntext = \"{{.surname}}\"\n", false},
	} {
		tp, err := parseT(t, tc.src)
		if err != nil {
			t.Fatal(err)
		}
		if got := tp.NeedsPhoto(); got != tc.want {
			t.Errorf("NeedsPhoto = %v, want %v for\n%s", got, tc.want, tc.src)
		}
	}
	r := NewRenderer(&Options{MaxPhotoPixels: 1000, MaxPhotoBytes: 4096})
	for _, tc := range []struct {
		photo []byte
		want  error
	}{
		{pngBytes(t, 20, 20, color.Black), nil},
		{bombPNG(40, 40), ErrTooManyPixels},
		{bombPNG(100000, 100000), ErrTooManyPixels},
		{[]byte("GIF89a"), ErrBadImage},
		{[]byte("\xff\xd8\xff\xe0trunc"), ErrBadImage},
		{bytes.Repeat([]byte{0}, 5000), ErrImageTooLarge},
	} {
		err := r.CheckPhoto(tc.photo, "p.png")
		if !errors.Is(err, tc.want) || err != nil && !strings.HasPrefix(err.Error(), "p.png: ") {
			t.Errorf("CheckPhoto = %v, want %v naming the file", err, tc.want)
		}
	}
	// Headers that read, image data cut short (a serial must not be
	// spent on them): a baseline JPEG (read by jpegscale), a progressive
	// one (the standard decoder), a PNG.
	progressive, err := os.ReadFile(filepath.Join("..", "internal", "jpegscale", "testdata", "progressive.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	baseline := jpegBytes(t, 64, 48)
	pngImg := pngBytes(t, 64, 48, color.RGBA{10, 200, 30, 255})
	r = NewRenderer(nil)
	for _, tc := range []struct {
		name  string
		photo []byte
		want  error
	}{
		{"baseline", baseline, nil},
		{"progressive", progressive, nil},
		{"png", pngImg, nil},
		{"baseline cut", baseline[:len(baseline)*2/3], ErrBadImage},
		{"progressive cut", progressive[:len(progressive)*2/3], ErrBadImage},
		{"png cut", pngImg[:len(pngImg)-20], ErrBadImage},
	} {
		if err := r.CheckPhoto(tc.photo, "p.jpg"); !errors.Is(err, tc.want) {
			t.Errorf("%s: CheckPhoto = %v, want %v", tc.name, err, tc.want)
		}
	}
}
