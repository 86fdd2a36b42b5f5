package layout

import (
	"bytes"
	"image"
	"image/color"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/disintegration/imaging"

	"github.com/cardd/cardd/internal/benchcpu"
)

// smoothYCbCr returns a w × h 4:2:0 image of smooth colour ramps.
func smoothYCbCr(w, h int) *image.YCbCr {
	m := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			m.Y[m.YOffset(x, y)] = uint8(128 + 100*math.Sin(float64(x)/17+float64(y)/29))
			c := m.COffset(x, y)
			m.Cb[c] = uint8(128 + 60*math.Sin(float64(y)/23))
			m.Cr[c] = uint8(128 + 60*math.Cos(float64(x)/31))
		}
	}
	return m
}

func TestResizeCropMatchesImaging(t *testing.T) {
	full := smoothYCbCr(401, 517)
	sub := full.SubImage(image.Rect(3, 5, 401, 517)).(*image.YCbCr) // odd origin
	gray := image.NewGray(image.Rect(0, 0, 300, 200))
	for i := range gray.Pix {
		gray.Pix[i] = uint8(i * 7 % 251)
	}
	tests := []struct {
		name string
		src  image.Image
		r    image.Rectangle
		w, h int
		k    kernel
		mean float64 // mean absolute difference per channel allowed
	}{
		{"ycbcr down catmullrom", full, image.Rect(10, 20, 390, 500), 120, 152, kernelCatmullRom, 1},
		{"ycbcr down lanczos", full, image.Rect(0, 0, 401, 517), 100, 129, kernelLanczos, 1},
		{"ycbcr up linear", full, image.Rect(100, 100, 160, 180), 150, 200, kernelLinear, 1},
		{"ycbcr subimage", sub, image.Rect(7, 9, 301, 400), 98, 130, kernelCatmullRom, 1},
		{"gray", gray, image.Rect(0, 0, 300, 200), 150, 100, kernelCatmullRom, 2},
		{"opaque nrgba", imaging.Clone(full), image.Rect(10, 20, 390, 500), 180, 230, kernelCatmullRom, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := resizeCrop(tc.src, tc.r, tc.w, tc.h, tc.k)
			want := imaging.Resize(tc.src.(interface {
				SubImage(image.Rectangle) image.Image
			}).SubImage(tc.r), tc.w, tc.h, tc.k.imagingFilter())
			if got.Bounds() != want.Bounds() {
				t.Fatalf("bounds %v, want %v", got.Bounds(), want.Bounds())
			}
			sum, worst := 0.0, 0
			for i := range got.Pix {
				d := int(got.Pix[i]) - int(want.Pix[i])
				if d < 0 {
					d = -d
				}
				sum += float64(d)
				worst = max(worst, d)
			}
			if mean := sum / float64(len(got.Pix)); mean > tc.mean || worst > 10 {
				t.Errorf("mean difference %.2f (limit %.1f), worst %d", mean, tc.mean, worst)
			}
		})
	}
}

func TestMakeTapsUnitGain(t *testing.T) {
	for _, k := range []kernel{kernelCatmullRom, kernelLanczos, kernelLinear} {
		for _, c := range []struct {
			dst       int
			off, span float64
			n         int
		}{{10, 0, 100, 100}, {100, 0, 10, 10}, {37, 2.5, 80, 90}, {1, 0, 1, 1}, {5, 0, 3, 3}} {
			for i, tp := range makeTaps(c.dst, c.off, c.span, c.n, k) {
				var s int32
				for _, w := range tp.w {
					s += w
				}
				if s != 1<<weightBits || tp.start < 0 || tp.start+len(tp.w) > c.n {
					t.Errorf("%s %+v tap %d: sum %d, start %d len %d", k.name, c, i, s, tp.start, len(tp.w))
				}
			}
		}
	}
}

func TestResizeFlat(t *testing.T) {
	// A flat colour stays exactly that colour at any scale.
	m := image.NewYCbCr(image.Rect(0, 0, 64, 48), image.YCbCrSubsampleRatio420)
	for i := range m.Y {
		m.Y[i] = 90
	}
	for i := range m.Cb {
		m.Cb[i], m.Cr[i] = 100, 170
	}
	r, g, b := color.YCbCrToRGB(90, 100, 170)
	for _, s := range [][2]int{{13, 9}, {64, 48}, {200, 150}} {
		out := resizeCrop(m, m.Rect, s[0], s[1], kernelCatmullRom)
		for i := 0; i < len(out.Pix); i += 4 {
			if out.Pix[i] != r || out.Pix[i+1] != g || out.Pix[i+2] != b || out.Pix[i+3] != 255 {
				t.Fatalf("%v: pixel %d = %v, want %d %d %d", s, i/4, out.Pix[i:i+4], r, g, b)
			}
		}
	}
}

// TestHalfYCbCr checks the half-size copy against 2 × 2 averages computed
// through At, for each subsampling and odd sizes (edge blocks repeat the
// last row or column).
func TestHalfYCbCr(t *testing.T) {
	ratios := []image.YCbCrSubsampleRatio{image.YCbCrSubsampleRatio444, image.YCbCrSubsampleRatio422, image.YCbCrSubsampleRatio420,
		image.YCbCrSubsampleRatio440, image.YCbCrSubsampleRatio411, image.YCbCrSubsampleRatio410}
	for _, ratio := range ratios {
		for _, size := range []image.Point{{64, 48}, {37, 29}, {3, 2}} {
			m := image.NewYCbCr(image.Rect(0, 0, size.X, size.Y), ratio)
			for i := range m.Y {
				m.Y[i] = uint8(i * 7)
			}
			for i := range m.Cb {
				m.Cb[i], m.Cr[i] = uint8(i*5+40), uint8(200-i*3)
			}
			h := halfYCbCr(m)
			if want := image.Rect(0, 0, max(1, size.X/2), max(1, size.Y/2)); h.Rect != want || h.SubsampleRatio != ratio {
				t.Fatalf("%v %v: half is %v %v", ratio, size, h.Rect, h.SubsampleRatio)
			}
			for y := 0; y < h.Rect.Dy(); y++ {
				for x := 0; x < h.Rect.Dx(); x++ {
					var sy uint32
					for _, p := range []image.Point{{2 * x, 2 * y}, {2*x + 1, 2 * y}, {2 * x, 2*y + 1}, {2*x + 1, 2*y + 1}} {
						p.X, p.Y = min(p.X, size.X-1), min(p.Y, size.Y-1)
						sy += uint32(m.YCbCrAt(p.X, p.Y).Y)
					}
					if got, want := h.YCbCrAt(x, y).Y, uint8((sy+2)/4); got != want {
						t.Fatalf("%v %v: Y at %d,%d = %d, want %d", ratio, size, x, y, got, want)
					}
				}
			}
			// Chroma: every chroma sample of the half image is the
			// average of at most 2 × 2 source chroma samples, so it lies
			// between their extremes.
			sx, sy := chromaFactors(ratio)
			scw, sch := (size.X+sx-1)/sx, (size.Y+sy-1)/sy
			for cy := 0; cy < (h.Rect.Dy()+sy-1)/sy; cy++ {
				for cx := 0; cx < (h.Rect.Dx()+sx-1)/sx; cx++ {
					lo, hi := uint8(255), uint8(0)
					for _, p := range []image.Point{{2 * cx, 2 * cy}, {2*cx + 1, 2 * cy}, {2 * cx, 2*cy + 1}, {2*cx + 1, 2*cy + 1}} {
						v := m.Cb[min(p.Y, sch-1)*m.CStride+min(p.X, scw-1)]
						lo, hi = min(lo, v), max(hi, v)
					}
					if v := h.Cb[cy*h.CStride+cx]; v < lo || v > hi {
						t.Fatalf("%v %v: Cb at %d,%d = %d, outside %d..%d", ratio, size, cx, cy, v, lo, hi)
					}
				}
			}
		}
	}
}

func TestLumaReduce(t *testing.T) {
	src := imaging.Clone(smoothYCbCr(295, 378))
	r := image.Rect(1, 0, 294, 378)
	got := lumaReduce(src, r, 142, 183)
	want := imaging.Grayscale(imaging.Resize(src.SubImage(r), 142, 183, imaging.Linear))
	if got.Bounds() != want.Bounds() {
		t.Fatalf("bounds %v, want %v", got.Bounds(), want.Bounds())
	}
	sum := 0
	for i := range got.Pix {
		d := int(got.Pix[i]) - int(want.Pix[i])
		if d < -6 || d > 6 { // a 2×2 average then the linear kernel, against imaging's one linear pass
			t.Fatalf("sample %d: %d, imaging %d", i, got.Pix[i], want.Pix[i])
		}
		sum += max(d, -d)
	}
	if mean := float64(sum) / float64(len(got.Pix)); mean > 0.6 {
		t.Errorf("mean difference %.2f from imaging's grey resize", mean)
	}
}

// BenchmarkLumaReduce makes a ghost's source from a 300 dpi portrait.
func BenchmarkLumaReduce(b *testing.B) {
	src := imaging.Clone(smoothYCbCr(295, 378))
	r := cropRect(src.Rect, 142, 183, .5, .5)
	b.ReportAllocs()
	cpu0 := benchcpu.Process()
	for b.Loop() {
		lumaReduce(src, r, 142, 183)
	}
	benchcpu.ReportProcess(b, cpu0)
}

// refResamplePlane is resamplePlane written plainly: each output sample
// the vertical taps' weighted sum of the horizontal taps' rounded sums.
func refResamplePlane(pix []uint8, stride, pw, ph int, x0, y0, cw, ch float64, dw, dh int, k kernel) []uint8 {
	if f := int(math.Min(cw/float64(dw), ch/float64(dh)) / 1.4); f >= 2 {
		pix, stride, pw, ph, x0, y0 = boxReduce(pix, stride, pw, ph, x0, y0, cw, ch, f)
		cw, ch = cw/float64(f), ch/float64(f)
	}
	xt, yt := makeTaps(dw, x0, cw, pw, k), makeTaps(dh, y0, ch, ph, k)
	h := func(y, x int) int32 {
		var acc int32
		for i, w := range xt[x].w {
			acc += int32(pix[y*stride+xt[x].start+i]) * w
		}
		return int32(clamp8(acc))
	}
	dst := make([]uint8, dw*dh)
	for y, t := range yt {
		for x := range dw {
			var acc int32
			for i, w := range t.w {
				acc += h(t.start+i, x) * w
			}
			dst[y*dw+x] = clamp8(acc)
		}
	}
	return dst
}

// TestResamplePlaneExact: the resampler's unrolled passes give exactly
// the plain two-pass sums, for enlargements and reductions of every tap
// count, each kernel, whole planes and crops.
func TestResamplePlaneExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	cases := 0
	for _, k := range []kernel{kernelCatmullRom, kernelLanczos, kernelLinear} {
		for range 60 {
			pw, ph := 2+rng.IntN(120), 2+rng.IntN(120)
			pix := make([]uint8, pw*ph)
			for i := range pix {
				pix[i] = uint8(rng.IntN(256))
			}
			x0, y0 := rng.Float64()*float64(pw)/3, rng.Float64()*float64(ph)/3
			cw, ch := 1+rng.Float64()*(float64(pw)-x0-1), 1+rng.Float64()*(float64(ph)-y0-1)
			// Ratios from an enlargement of 4 to a reduction of 5.
			dw := max(1, int(cw*math.Exp(rng.Float64()*3-1.6)))
			dh := max(1, int(ch*math.Exp(rng.Float64()*3-1.6)))
			got := resamplePlane(pix, pw, pw, ph, x0, y0, cw, ch, dw, dh, k)
			want := refResamplePlane(pix, pw, pw, ph, x0, y0, cw, ch, dw, dh, k)
			if !bytes.Equal(got, want) {
				t.Fatalf("%s: %d × %d, span %.2f %.2f %.2f × %.2f to %d × %d: differs from the plain sums", k.name, pw, ph, x0, y0, cw, ch, dw, dh)
			}
			cases++
		}
	}
	t.Logf("%d resamplings equal", cases)
}

// TestResamplePlanePairExact: the two planes resampled together give
// exactly the plain two-pass sums of each, for enlargements (one pass for
// both) and reductions (each plane on its own) with each kernel, with a
// stride wider than the plane.
func TestResamplePlanePairExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	fused := 0
	for _, k := range []kernel{kernelLinear, kernelCatmullRom, kernelLanczos} {
		for range 80 {
			pw, ph := 2+rng.IntN(90), 2+rng.IntN(90)
			stride := pw + rng.IntN(9)
			p1, p2 := make([]uint8, stride*ph), make([]uint8, stride*ph)
			for i := range p1 {
				p1[i], p2[i] = uint8(rng.IntN(256)), uint8(rng.IntN(256))
			}
			x0, y0 := rng.Float64()*float64(pw)/3, rng.Float64()*float64(ph)/3
			cw, ch := 1+rng.Float64()*(float64(pw)-x0-1), 1+rng.Float64()*(float64(ph)-y0-1)
			// Mostly enlargements (by up to 4), some reductions.
			dw := max(1, int(cw*math.Exp(rng.Float64()*2-0.4)))
			dh := max(1, int(ch*math.Exp(rng.Float64()*2-0.4)))
			g1, g2 := resamplePlanePair(p1, p2, stride, pw, ph, x0, y0, cw, ch, dw, dh, k)
			w1 := refResamplePlane(p1, stride, pw, ph, x0, y0, cw, ch, dw, dh, k)
			w2 := refResamplePlane(p2, stride, pw, ph, x0, y0, cw, ch, dw, dh, k)
			if !bytes.Equal(g1, w1) || !bytes.Equal(g2, w2) {
				t.Fatalf("%s: %d × %d, span %.2f %.2f %.2f × %.2f to %d × %d: differs from the plain sums", k.name, pw, ph, x0, y0, cw, ch, dw, dh)
			}
			if k.name == "linear" && dw > int(cw)+1 && dh > int(ch)+1 {
				fused++
			}
		}
	}
	if fused == 0 {
		t.Fatal("no enlargement with the linear kernel: the shared passes were not tested")
	}
}

// TestPlanesToNRGBAExact: the conversion of planes to RGB gives exactly
// color.YCbCrToRGB for every Y, Cb, Cr triple.
func TestPlanesToNRGBAExact(t *testing.T) {
	const n = 256 * 256
	yp, cb, cr := make([]uint8, n), make([]uint8, n), make([]uint8, n)
	for i := range n {
		cb[i], cr[i] = uint8(i>>8), uint8(i)
	}
	for y := range 256 {
		for i := range yp {
			yp[i] = uint8(y)
		}
		img := planesToNRGBA(yp, cb, cr, 256, 256)
		for i := range n {
			r, g, b := color.YCbCrToRGB(yp[i], cb[i], cr[i])
			if p := img.Pix[4*i : 4*i+4]; p[0] != r || p[1] != g || p[2] != b || p[3] != 0xff {
				t.Fatalf("Y %d Cb %d Cr %d: %v, want %d %d %d 255", yp[i], cb[i], cr[i], p, r, g, b)
			}
		}
	}
}

// TestOpaque: opaque, which tests two pixels a word, finds a single
// translucent pixel at every place of regions of every width from 1 to 9
// (odd and even, so that the last pixel of a row is tested alone), and
// only inside the region asked about.
func TestOpaque(t *testing.T) {
	for w := 1; w <= 9; w++ {
		m := image.NewNRGBA(image.Rect(-2, 3, w+3, 8))
		for i := range m.Pix {
			m.Pix[i] = 0xff
		}
		r := image.Rect(0, 4, w, 7)
		if !opaque(m, r) {
			t.Fatalf("width %d: an opaque image reported translucent", w)
		}
		for y := m.Rect.Min.Y; y < m.Rect.Max.Y; y++ {
			for x := m.Rect.Min.X; x < m.Rect.Max.X; x++ {
				m.Pix[m.PixOffset(x, y)+3] = 0xfe
				if want := image.Pt(x, y).In(r); opaque(m, r) == want {
					t.Fatalf("width %d: alpha 0xfe at %d,%d: opaque = %v", w, x, y, !want)
				}
				m.Pix[m.PixOffset(x, y)+3] = 0xff
			}
		}
	}
}
