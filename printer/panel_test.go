package printer

import (
	"bytes"
	"image"
	"image/color"
	"math/rand/v2"
	"testing"
)

// testRGBA returns a deterministic w × h colour image with gradients and
// noise, anchored at min.
func testRGBA(min image.Point, w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rectangle{min, min.Add(image.Pt(w, h))})
	rng := rand.New(rand.NewPCG(1, 2))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			i := y*img.Stride + x*4
			img.Pix[i] = byte(x * 255 / w)
			img.Pix[i+1] = byte(y * 255 / h)
			img.Pix[i+2] = byte(rng.IntN(256))
			img.Pix[i+3] = 0xff
		}
	}
	return img
}

func testMono(min image.Point, w, h int) *Mono {
	m := NewMono(image.Rectangle{min, min.Add(image.Pt(w, h))})
	rng := rand.New(rand.NewPCG(3, 4))
	for y := m.Rect.Min.Y; y < m.Rect.Max.Y; y++ {
		for x := m.Rect.Min.X; x < m.Rect.Max.X; x++ {
			m.SetBit(x, y, rng.IntN(3) == 0)
		}
	}
	return m
}

func TestTransformMapping(t *testing.T) {
	// A 3 × 2 landscape raster; check where each corner lands on the wire.
	const w, h = 3, 2
	tests := []struct {
		tr     Transform
		wd, hd int
		// wire position of landscape (0,0) and (w-1,0)
		origin, topRight image.Point
	}{
		{Transform{}, 3, 2, image.Pt(0, 0), image.Pt(2, 0)},
		{Transform{Rotate: 90}, 2, 3, image.Pt(1, 0), image.Pt(1, 2)},
		{Transform{Rotate: 180}, 3, 2, image.Pt(2, 1), image.Pt(0, 1)},
		{Transform{Rotate: 270}, 2, 3, image.Pt(0, 2), image.Pt(0, 0)},
		{Transform{Mirror: true}, 3, 2, image.Pt(2, 0), image.Pt(0, 0)},
		{Transform{Rotate: 270, Mirror: true}, 2, 3, image.Pt(1, 2), image.Pt(1, 0)},
	}
	for _, tc := range tests {
		src := NewMono(image.Rect(0, 0, w, h))
		src.SetBit(0, 0, true)
		wire, err := MonoToWire(src, tc.tr)
		if err != nil {
			t.Fatal(err)
		}
		if wire.Rect.Dx() != tc.wd || wire.Rect.Dy() != tc.hd {
			t.Errorf("%+v: wire %v, want %dx%d", tc.tr, wire.Rect, tc.wd, tc.hd)
		}
		if !wire.BitAt(tc.origin.X, tc.origin.Y) || wire.Count() != 1 {
			t.Errorf("%+v: origin not at %v", tc.tr, tc.origin)
		}
		src = NewMono(image.Rect(0, 0, w, h))
		src.SetBit(w-1, 0, true)
		wire, _ = MonoToWire(src, tc.tr)
		if !wire.BitAt(tc.topRight.X, tc.topRight.Y) || wire.Count() != 1 {
			t.Errorf("%+v: top right not at %v", tc.tr, tc.topRight)
		}
	}
	if err := (Transform{Rotate: 45}).Validate(); err == nil {
		t.Error("rotation 45 accepted")
	}
}

func TestMonoRoundTrip(t *testing.T) {
	for _, tr := range []Transform{{}, {Rotate: 90}, {Rotate: 180}, {Rotate: 270}, {Rotate: 270, Mirror: true}, {Mirror: true}} {
		for _, size := range []image.Point{{1016, 648}, {13, 7}} {
			src := testMono(image.Pt(5, -3), size.X, size.Y)
			wire, err := MonoToWire(src, tr)
			if err != nil {
				t.Fatal(err)
			}
			back, err := MonoFromWire(wire, tr, size.X, size.Y)
			if err != nil {
				t.Fatal(err)
			}
			for y := 0; y < size.Y; y++ {
				for x := 0; x < size.X; x++ {
					if back.BitAt(x, y) != src.BitAt(x+5, y-3) {
						t.Fatalf("%+v %v: dot (%d,%d) differs", tr, size, x, y)
					}
				}
			}
		}
	}
}

func TestOffsetShiftsWithWhiteFill(t *testing.T) {
	src := NewMono(image.Rect(0, 0, 16, 8))
	src.Fill(src.Rect, true)
	wire, err := MonoToWire(src, Transform{Offset: image.Pt(3, -2)})
	if err != nil {
		t.Fatal(err)
	}
	for y := 0; y < 8; y++ {
		for x := 0; x < 16; x++ {
			want := x >= 3 && y < 6
			if wire.BitAt(x, y) != want {
				t.Fatalf("dot (%d,%d) = %v, want %v", x, y, !want, want)
			}
		}
	}
	img := image.NewRGBA(image.Rect(0, 0, 4, 4))
	for i := range img.Pix {
		img.Pix[i] = 0 // transparent black... make opaque black
	}
	for i := 3; i < len(img.Pix); i += 4 {
		img.Pix[i] = 0xff
	}
	y, _, _, err := SplitColor(img, Transform{Offset: image.Pt(-1, 0)}, 7)
	if err != nil {
		t.Fatal(err)
	}
	if y.Sample(3, 0) != 0 || y.Sample(2, 0) != 127 {
		t.Errorf("offset colour: samples %d %d, want 127 0", y.Sample(2, 0), y.Sample(3, 0))
	}
	if p := OffsetMM(1, -0.5, 300); p != image.Pt(12, -6) {
		t.Errorf("OffsetMM = %v", p)
	}
}

func TestColorRoundTrip(t *testing.T) {
	for _, depth := range []int{5, 6, 7, 8} {
		for _, tr := range []Transform{{}, {Rotate: 270}, {Rotate: 90, Mirror: true}} {
			src := testRGBA(image.Pt(-7, 11), 101, 57)
			y, m, c, err := SplitColor(src, tr, depth)
			if err != nil {
				t.Fatal(err)
			}
			back, err := ComposeColor(y, m, c, tr, 101, 57)
			if err != nil {
				t.Fatal(err)
			}
			for py := 0; py < 57; py++ {
				for px := 0; px < 101; px++ {
					s := src.RGBAAt(px-7, py+11)
					g := back.RGBAAt(px, py)
					want := color.RGBA{Quantize(s.R, depth), Quantize(s.G, depth), Quantize(s.B, depth), 0xff}
					if g != want {
						t.Fatalf("depth %d %+v (%d,%d): got %v want %v (src %v)", depth, tr, px, py, g, want, s)
					}
					tol := 128 >> uint(depth)
					if d := int(g.R) - int(s.R); d > tol || d < -tol {
						t.Fatalf("depth %d: red error %d > %d", depth, d, tol)
					}
				}
			}
		}
	}
}

func TestSplitColorSemantics(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 2, 1))
	img.SetRGBA(0, 0, color.RGBA{255, 255, 255, 255}) // white: no dye
	img.SetRGBA(1, 0, color.RGBA{255, 0, 0, 255})     // red: Y and M
	y, m, c, err := SplitColor(img, Transform{}, 7)
	if err != nil {
		t.Fatal(err)
	}
	got := [][3]byte{{y.Pix[0], m.Pix[0], c.Pix[0]}, {y.Pix[1], m.Pix[1], c.Pix[1]}}
	want := [][3]byte{{0, 0, 0}, {127, 127, 0}}
	for i := range got {
		if got[i] != want[i] {
			t.Errorf("pixel %d: ymc %v, want %v", i, got[i], want[i])
		}
	}
	// Transparent composites over white.
	img.Pix[4], img.Pix[5], img.Pix[6], img.Pix[7] = 0, 0, 0, 0
	y, _, _, _ = SplitColor(img, Transform{}, 7)
	if y.Pix[1] != 0 {
		t.Errorf("transparent pixel has dye %d", y.Pix[1])
	}
	if _, _, _, err := SplitColor(img, Transform{}, 9); err == nil {
		t.Error("depth 9 accepted")
	}
	// Non-RGBA input takes the slow path with the same result.
	gray := image.NewGray(image.Rect(0, 0, 1, 1))
	gray.Pix[0] = 0
	y, m, c, _ = SplitColor(gray, Transform{}, 5)
	if y.Pix[0] != 31 || m.Pix[0] != 31 || c.Pix[0] != 31 {
		t.Errorf("black grey pixel: %d %d %d", y.Pix[0], m.Pix[0], c.Pix[0])
	}
	if g := y.At(0, 0).(color.Gray); g.Y != 0 {
		t.Errorf("Plane.At full dye = %v", g)
	}
}

func TestPackKnownBits(t *testing.T) {
	tests := []struct {
		bits int
		in   []byte
		want []byte
	}{
		{1, []byte{1, 0, 1, 1, 0, 0, 0, 1, 1}, []byte{0xb1, 0x80}},
		{5, []byte{31, 0, 1}, []byte{0xf8, 0x02}},
		{6, []byte{0x3f, 1, 2, 3}, []byte{0xfc, 0x10, 0x83}},
		{7, []byte{127, 1}, []byte{0xfe, 0x04}},
		{8, []byte{9, 200}, []byte{9, 200}},
	}
	for _, tc := range tests {
		got := PackSamples(nil, tc.in, tc.bits)
		if !bytes.Equal(got, tc.want) {
			t.Errorf("%d bits: %x, want %x", tc.bits, got, tc.want)
		}
		back, err := UnpackSamples(nil, got, tc.bits, len(tc.in))
		if err != nil || !bytes.Equal(back, tc.in) {
			t.Errorf("%d bits unpack: %v %v, want %v", tc.bits, back, err, tc.in)
		}
	}
	if _, err := UnpackSamples(nil, []byte{1}, 7, 2); err == nil {
		t.Error("short stream accepted")
	}
}

func TestPackRoundTripAllDepths(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	for bits := 1; bits <= 8; bits++ {
		for _, n := range []int{0, 1, 7, 8, 9, 15, 16, 17, 648, 1001} {
			in := make([]byte, n)
			for i := range in {
				in[i] = byte(rng.IntN(1 << uint(bits)))
			}
			p := PackSamples([]byte{0xaa}, in, bits)
			if len(p) != 1+PackedLen(n, bits) || p[0] != 0xaa {
				t.Fatalf("bits %d n %d: len %d", bits, n, len(p))
			}
			out, err := UnpackSamples(nil, p[1:], bits, n)
			if err != nil || !bytes.Equal(out, in) {
				t.Fatalf("bits %d n %d: round trip failed: %v", bits, n, err)
			}
		}
	}
}

func FuzzPackSamples(f *testing.F) {
	f.Add([]byte{1, 2, 3, 4, 5, 6, 7, 8, 9}, uint8(7))
	f.Fuzz(func(t *testing.T, in []byte, b uint8) {
		bits := int(b%8) + 1
		for i := range in {
			in[i] &= byte(1<<uint(bits) - 1)
		}
		out, err := UnpackSamples(nil, PackSamples(nil, in, bits), bits, len(in))
		if err != nil || !bytes.Equal(out, in) {
			t.Fatalf("round trip at %d bits failed", bits)
		}
	})
}

func BenchmarkSplitColorEvolis(b *testing.B) {
	src := testRGBA(image.Point{}, 1016, 648)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, _, err := SplitColor(src, Transform{Rotate: 270}, 7); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMonoToWireEvolis(b *testing.B) {
	src := testMono(image.Point{}, 1016, 648)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := MonoToWire(src, Transform{Rotate: 270}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPackSamples7(b *testing.B) {
	src := make([]byte, 648*1016)
	for i := range src {
		src[i] = byte(i) & 0x7f
	}
	dst := make([]byte, 0, PackedLen(len(src), 7))
	b.ReportAllocs()
	b.SetBytes(int64(len(src)))
	for b.Loop() {
		dst = PackSamples(dst[:0], src, 7)
	}
}

func BenchmarkUnpackSamples7(b *testing.B) {
	src := make([]byte, 648*1016)
	p := PackSamples(nil, src, 7)
	dst := make([]byte, 0, len(src))
	b.ReportAllocs()
	b.SetBytes(int64(len(src)))
	for b.Loop() {
		dst, _ = UnpackSamples(dst[:0], p, 7, len(src))
	}
}

// TestQuarterTurnMatchesDots checks quarterTurnAffine (in blocks of 128
// source columns where there is assembly, the last block overlapping)
// dot by dot against its definition, both ways round, for widths that
// are and are not multiples of 128, into a panel full of stale bytes.
func TestQuarterTurnMatchesDots(t *testing.T) {
	for _, size := range []image.Point{{8, 8}, {128, 8}, {136, 16}, {200, 24}, {256, 64}, {1016, 648}, {648, 1016}} {
		for _, tr := range []Transform{{Rotate: 90}, {Rotate: 270}, {Rotate: 90, Mirror: true}, {Rotate: 270, Mirror: true}} {
			src := testMono(image.Point{}, size.X, size.Y)
			a := tr.affine(size.X, size.Y)
			wd, hd := tr.WireSize(size.X, size.Y)
			dst := NewMono(image.Rect(0, 0, wd, hd))
			for i := range dst.Pix {
				dst.Pix[i] = 0xa5
			}
			quarterTurnAffine(dst, src, a)
			for dy := 0; dy < hd; dy++ {
				for dx := 0; dx < wd; dx++ {
					if got, want := dst.BitAt(dx, dy), src.BitAt(a.bx*dy+a.cx, a.ay*dx+a.cy); got != want {
						t.Fatalf("%v %+v: wire dot (%d,%d) = %v, want %v", size, tr, dx, dy, got, want)
					}
				}
			}
		}
	}
}
