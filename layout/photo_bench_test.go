package layout

import (
	"image"
	"image/color"
	"testing"

	"github.com/disintegration/imaging"

	"github.com/cardd/cardd/internal/benchcpu"
	"github.com/cardd/cardd/internal/jpegscale"
)

// benchPhoto is a 1-megapixel JPEG with some texture.
func benchPhoto(b *testing.B) []byte {
	b.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 864, 1152))
	for y := 0; y < 1152; y++ {
		for x := 0; x < 864; x++ {
			img.SetRGBA(x, y, color.RGBA{uint8(x * 7), uint8(y * 3), uint8((x ^ y) * 5), 255})
		}
	}
	return jpegBytesOf(b, img)
}

func BenchmarkPhotoDecode(b *testing.B) {
	data := benchPhoto(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decodeLimited(data, "p.jpg", 1<<24, 1<<24); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPhotoResize(b *testing.B) {
	src, err := decodeLimited(benchPhoto(b), "p.jpg", 1<<24, 1<<24)
	if err != nil {
		b.Fatal(err)
	}
	r := cropRect(src.Bounds(), 295, 378, .5, 0)
	for _, k := range []kernel{kernelCatmullRom, kernelLanczos, kernelLinear} {
		b.Run(k.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				resizeCrop(src, r, 295, 378, k)
			}
		})
		b.Run("imaging-"+k.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				imaging.Resize(cropToAspect(src, 295, 378, .5, 0), 295, 378, k.imagingFilter())
			}
		})
	}
}

// BenchmarkCheckPhoto is the intake screener's photo check on a 1 MP
// baseline JPEG: header, pixel limit and the image data decoded at 1/8.
func BenchmarkCheckPhoto(b *testing.B) {
	data := benchPhoto(b)
	r := NewRenderer(nil)
	defer benchcpu.ThreadMeter(b)()
	b.ReportAllocs()
	for b.Loop() {
		if err := r.CheckPhoto(data, "p.jpg"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFacePortrait is the portrait of the shipped templates after
// the photo is decoded: a face crop of a 1 MP JPEG decoded at half size
// (289 × 373 of its 432 × 576 pixels) resampled to the temporary card's
// 24 × 31 mm box at 300 dpi, sharpened on its luma (σ 0.6) and converted
// to RGB.
func BenchmarkFacePortrait(b *testing.B) {
	half, err := jpegscale.Decode(benchPhoto(b), 2)
	if err != nil {
		b.Fatal(err)
	}
	r := image.Rect(67, 58, 67+289, 58+373)
	const w, h = 283, 366
	b.Run("resample", func(b *testing.B) {
		b.ReportAllocs()
		defer benchcpu.ThreadMeter(b)()
		for b.Loop() {
			resample(half, r, w, h, kernelCatmullRom)
		}
	})
	s := resample(half, r, w, h, kernelCatmullRom)
	b.Run("sharpen", func(b *testing.B) {
		b.ReportAllocs()
		defer benchcpu.ThreadMeter(b)()
		for b.Loop() {
			sharpenPlane(s.y, w, h, 0.6)
		}
	})
	b.Run("rgb", func(b *testing.B) {
		b.ReportAllocs()
		defer benchcpu.ThreadMeter(b)()
		for b.Loop() {
			planesToNRGBA(s.y, s.cb, s.cr, w, h)
		}
	})
	// What the card pays: the luma sharpened and the planes converted.
	b.Run("sharpen+rgb", func(b *testing.B) {
		b.ReportAllocs()
		defer benchcpu.ThreadMeter(b)()
		for b.Loop() {
			sharpenPlanesToNRGBA(s.y, s.cb, s.cr, w, h, 0.6)
		}
	})
}
