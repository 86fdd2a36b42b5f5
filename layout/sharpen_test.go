package layout

import (
	"bytes"
	"image"
	"image/color"
	"math/rand/v2"
	"testing"

	"github.com/disintegration/imaging"

	"github.com/cardd/cardd/internal/benchcpu"
)

// texturedNRGBA returns an opaque w × h image with edges and noise, where
// sharpening clips and rounds.
func texturedNRGBA(w, h int) *image.NRGBA {
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			v := uint8(x * 7)
			if (x/9+y/13)%2 == 0 {
				v = 255 - uint8(y*3)
			}
			m.SetNRGBA(x, y, color.NRGBA{v, uint8(x*y) ^ v, uint8((x ^ y) * 5), 255})
		}
	}
	return m
}

func TestSharpenMatchesImaging(t *testing.T) {
	for _, tc := range []struct {
		w, h  int
		sigma float64
	}{{295, 378, 0.6}, {40, 30, 1.5}, {3, 2, 0.6}, {1, 1, 2}, {64, 5, 10}} {
		src := texturedNRGBA(tc.w, tc.h)
		got, want := sharpen(src, tc.sigma), imaging.Sharpen(src, tc.sigma)
		if got.Bounds() != want.Bounds() {
			t.Fatalf("%v σ %v: bounds %v, want %v", src.Rect, tc.sigma, got.Bounds(), want.Bounds())
		}
		diff := 0
		for i := range got.Pix {
			d := int(got.Pix[i]) - int(want.Pix[i])
			if d < -1 || d > 1 {
				t.Fatalf("%v σ %v: sample %d is %d, imaging %d", src.Rect, tc.sigma, i, got.Pix[i], want.Pix[i])
			}
			if d != 0 {
				diff++
			}
		}
		// Off by one only where the float blur lands within a hair of
		// a half.
		if diff*1000 > len(got.Pix) {
			t.Errorf("%v σ %v: %d of %d samples off by one", src.Rect, tc.sigma, diff, len(got.Pix))
		}
	}
	// A translucent image goes through imaging.
	src := texturedNRGBA(20, 20)
	src.Pix[3] = 0x80
	if got, want := sharpen(src, 1), imaging.Sharpen(src, 1); string(got.Pix) != string(want.Pix) {
		t.Error("translucent image: differs from imaging.Sharpen")
	}
}

// BenchmarkSharpen sharpens a 300 dpi portrait (25 × 32 mm) as the
// permanent card does (σ 0.6), in fixed point and with imaging.
func BenchmarkSharpen(b *testing.B) {
	src := texturedNRGBA(295, 378)
	for _, impl := range []string{"fixed", "imaging"} {
		b.Run(impl, func(b *testing.B) {
			b.ReportAllocs()
			cpu0 := benchcpu.Process()
			for b.Loop() {
				if impl == "fixed" {
					sharpen(src, 0.6)
				} else {
					imaging.Sharpen(src, 0.6)
				}
			}
			benchcpu.ReportProcess(b, cpu0)
		})
	}
}

// TestSharpenPlaneMatchesSharpen: on a grey image, sharpening the one
// plane is sharpening each channel.
func TestSharpenPlaneMatchesSharpen(t *testing.T) {
	src := texturedNRGBA(61, 47)
	plane := make([]uint8, 61*47)
	for i := range plane {
		v := src.Pix[4*i]
		plane[i] = v
		src.Pix[4*i+1], src.Pix[4*i+2] = v, v
	}
	// σ 0.5 and 0.6 take the radius-2 taps written out, 0.8 the loops.
	for _, sigma := range []float64{0.5, 0.6, 0.8} {
		got, want := sharpenPlane(plane, 61, 47, sigma), sharpen(src, sigma)
		for i, v := range got {
			if v != want.Pix[4*i] || v != want.Pix[4*i+1] {
				t.Fatalf("σ %v: sample %d: %d, sharpen %d", sigma, i, v, want.Pix[4*i])
			}
		}
	}
}

// BenchmarkSharpenPlane sharpens the luma of a 300 dpi portrait box
// (24 × 31 mm, the temporary card's) as the shipped templates do (σ 0.6).
func BenchmarkSharpenPlane(b *testing.B) {
	src := texturedNRGBA(283, 366)
	plane := make([]uint8, 283*366)
	for i := range plane {
		plane[i] = src.Pix[4*i]
	}
	b.ReportAllocs()
	cpu0 := benchcpu.Process()
	for b.Loop() {
		sharpenPlane(plane, 283, 366, 0.6)
	}
	benchcpu.ReportProcess(b, cpu0)
}

// refSharpenPlane is the unsharp mask of sharpenPlane written plainly:
// every output sample summed tap by tap with blurTaps's weights, rows
// then columns, with no symmetric pairing and no written-out radius.
func refSharpenPlane(p []uint8, w, h int, sigma float64) []uint8 {
	xt, yt := blurTaps(w, sigma), blurTaps(h, sigma)
	tmp := make([]uint8, w*h)
	for y := range h {
		for x, t := range xt {
			var acc int32
			for i, wv := range t.w {
				acc += int32(p[y*w+t.start+i]) * wv
			}
			tmp[y*w+x] = round8(acc)
		}
	}
	dst := make([]uint8, w*h)
	for y, t := range yt {
		for x := range w {
			var acc int32
			for i, wv := range t.w {
				acc += int32(tmp[(t.start+i)*w+x]) * wv
			}
			dst[y*w+x] = clampInt(2*int32(p[y*w+x]) - int32(round8(acc)))
		}
	}
	return dst
}

// TestSharpenPlanesToNRGBA: the sharpened portrait converted row by row
// as it is sharpened is, byte for byte, the plainly sharpened luma
// converted by planesToNRGBA (itself exact against color.YCbCrToRGB), on
// random planes of sizes from a single sample to wider and taller than
// the blur, for the written-out radius 2 and the general loops.
func TestSharpenPlanesToNRGBA(t *testing.T) {
	rng := rand.New(rand.NewPCG(14, 14))
	sizes := [][2]int{{1, 1}, {1, 9}, {9, 1}, {2, 3}, {4, 5}, {5, 4}, {6, 6}, {7, 13}, {31, 17}, {64, 3}, {3, 64}, {283, 366}}
	for range 20 {
		sizes = append(sizes, [2]int{1 + rng.IntN(80), 1 + rng.IntN(80)})
	}
	cases := 0
	for _, sz := range sizes {
		w, h := sz[0], sz[1]
		yp, cb, cr := make([]uint8, w*h), make([]uint8, w*h), make([]uint8, w*h)
		for i := range yp {
			yp[i], cb[i], cr[i] = uint8(rng.Uint32()), uint8(rng.Uint32()), uint8(rng.Uint32())
		}
		// Half the cases smooth (neighbours close), as a photo is, so
		// that the mask does not merely clip.
		if rng.IntN(2) == 0 {
			for i := 1; i < len(yp); i++ {
				yp[i] = uint8(int(yp[i-1]) + rng.IntN(9) - 4)
			}
		}
		for _, sigma := range []float64{0.3, 0.5, 0.6, 2.0 / 3, 0.8, 1.5, 3} {
			want := refSharpenPlane(yp, w, h, sigma)
			if got := sharpenPlane(yp, w, h, sigma); !bytes.Equal(got, want) {
				t.Fatalf("%d × %d σ %v: sharpenPlane differs from the plain sums", w, h, sigma)
			}
			img := sharpenPlanesToNRGBA(yp, cb, cr, w, h, sigma)
			if ref := planesToNRGBA(want, cb, cr, w, h); !bytes.Equal(img.Pix, ref.Pix) || img.Rect != ref.Rect {
				t.Fatalf("%d × %d σ %v: sharpenPlanesToNRGBA differs from planesToNRGBA of the sharpened luma", w, h, sigma)
			}
			cases++
		}
	}
	t.Logf("%d sharpenings equal", cases)
}
