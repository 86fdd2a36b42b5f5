package security

import (
	"image"
	"testing"

	"github.com/cardd/cardd/printer"
)

// monoFrom fills a Mono with bounds r from data, bit by bit (wrapping).
func monoFrom(r image.Rectangle, data []byte) *printer.Mono {
	m := printer.NewMono(r)
	if len(data) == 0 {
		return m
	}
	i := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			m.SetBit(x, y, data[(i/8)%len(data)]&(0x80>>uint(i%8)) != 0)
			i++
		}
	}
	return m
}

// checkMonoGray fails unless toGray(m) is black exactly where m is On.
func checkMonoGray(t *testing.T, m *printer.Mono) {
	t.Helper()
	g := toGray(m)
	b := m.Bounds()
	if g.Rect != image.Rect(0, 0, b.Dx(), b.Dy()) {
		t.Fatalf("grey bounds %v for Mono %v", g.Rect, b)
	}
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			want := uint8(0xff)
			if m.BitAt(b.Min.X+x, b.Min.Y+y) {
				want = 0
			}
			if got := g.Pix[y*g.Stride+x]; got != want {
				t.Fatalf("Mono %v: grey (%d,%d) = %#x, want %#x", b, x, y, got, want)
			}
		}
	}
}

func TestToGrayMono(t *testing.T) {
	pattern := []byte{0xa5, 0x3c, 0xff, 0x00, 0x81, 0x7e, 0x12}
	for _, tc := range []struct {
		name string
		r    image.Rectangle
	}{
		{"byte-wide", image.Rect(0, 0, 16, 3)},
		{"odd width", image.Rect(0, 0, 13, 5)},
		{"narrower than a byte", image.Rect(0, 0, 3, 4)},
		{"offset origin", image.Rect(5, -7, 30, 2)},
		{"one dot", image.Rect(-1, -1, 0, 0)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkMonoGray(t, monoFrom(tc.r, pattern))
		})
	}
}

// TestDecodeQRMonoOffset reads a rendered symbol placed on a panel whose
// bounds do not start at the origin, at an odd dot offset.
func TestDecodeQRMonoOffset(t *testing.T) {
	const text = "HC1:OFFSET-PANEL-TEST 0123456789"
	sym, err := RenderQR(text, ECCM, 4)
	if err != nil {
		t.Fatal(err)
	}
	panel := printer.NewMono(image.Rect(-37, 11, -37+sym.Rect.Dx()+61, 11+sym.Rect.Dy()+29))
	at := panel.Rect.Min.Add(image.Pt(13, 7))
	for y := 0; y < sym.Rect.Dy(); y++ {
		for x := 0; x < sym.Rect.Dx(); x++ {
			panel.SetBit(at.X+x, at.Y+y, sym.BitAt(x, y))
		}
	}
	got, err := DecodeQR(panel)
	if err != nil || got != text {
		t.Fatalf("DecodeQR = %q, %v; want %q", got, err, text)
	}
}

// FuzzDecodeQRMono feeds arbitrary 1-bit panels (a K panel is what the
// pre-print check reads): the grey conversion matches the panel dot for
// dot, and DecodeQR returns text or an error without panicking.
func FuzzDecodeQRMono(f *testing.F) {
	sym, err := RenderQR("HC1:SEED", ECCL, 2)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(uint8(sym.Rect.Dx()), uint8(sym.Rect.Dy()), int8(0), int8(0), sym.Pix)
	f.Add(uint8(9), uint8(3), int8(-4), int8(5), []byte{0xa5, 0x5a})
	f.Add(uint8(0), uint8(0), int8(0), int8(0), []byte{})
	f.Fuzz(func(t *testing.T, w, h uint8, x0, y0 int8, data []byte) {
		r := image.Rect(int(x0), int(y0), int(x0)+int(w), int(y0)+int(h))
		m := monoFrom(r, data)
		if !r.Empty() {
			checkMonoGray(t, m)
		}
		if text, err := DecodeQR(m); err == nil && text == "" {
			t.Fatal("DecodeQR returned no text and no error")
		}
	})
}

// TestRenderIntoMatchesRender: the symbol drawn straight onto a panel at
// any dot (byte-aligned or not, on a panel whose bounds do not start at
// the origin, partly off the panel) sets exactly the dots that Render's
// symbol copied dot by dot sets, and leaves the panel's other dots as
// they were.
func TestRenderIntoMatchesRender(t *testing.T) {
	sym, err := EncodeQR("HC1:CARDD-RENDER-INTO-TEST-0123456789", ECCM)
	if err != nil {
		t.Fatal(err)
	}
	for _, dpm := range []int{1, 3, 4} {
		ref, err := sym.Render(dpm)
		if err != nil {
			t.Fatal(err)
		}
		if ref.Rect.Dx() != sym.Side(dpm) {
			t.Fatalf("Side(%d) = %d, Render's symbol is %d wide", dpm, sym.Side(dpm), ref.Rect.Dx())
		}
		for _, at := range []image.Point{{0, 0}, {3, 5}, {8, 0}, {-9, 11}, {-40, -30}, {101, 90}, {150, 120}} {
			r := image.Rect(-5, 3, 192, 173) // 197 dots: the rows end inside a byte
			got := monoFrom(r, []byte{0x00, 0x81, 0x42})
			want := monoFrom(r, []byte{0x00, 0x81, 0x42})
			for y := range ref.Rect.Dy() {
				for x := range ref.Rect.Dx() {
					if p := image.Pt(at.X+x, at.Y+y); ref.BitAt(x, y) && p.In(r) {
						want.SetBit(p.X, p.Y, true)
					}
				}
			}
			if err := sym.RenderInto(got, at, dpm); err != nil {
				t.Fatal(err)
			}
			for y := r.Min.Y; y < r.Max.Y; y++ {
				for x := r.Min.X; x < r.Max.X; x++ {
					if got.BitAt(x, y) != want.BitAt(x, y) {
						t.Fatalf("%d dots a module at %v: dot (%d, %d) is %v, want %v", dpm, at, x, y, got.BitAt(x, y), want.BitAt(x, y))
					}
				}
			}
			// No dot set past the panel's width in the rows' last bytes.
			if pad := r.Dx() % 8; pad != 0 {
				for y := range r.Dy() {
					if b := got.Pix[y*got.Stride+got.Stride-1]; b&^(0xff<<(8-pad)) != 0 {
						t.Fatalf("%d dots a module at %v: row %d's last byte %08b has dots past the width", dpm, at, y, b)
					}
				}
			}
		}
	}
}
