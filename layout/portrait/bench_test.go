package portrait

import (
	"bytes"
	"image"
	"image/jpeg"
	"testing"

	"github.com/disintegration/imaging"

	"github.com/cardd/cardd/internal/benchcpu"
	"github.com/cardd/cardd/internal/skimage"
)

// oneMP is astronaut.png at 1024 × 1024 (a 1 MP photo), through JPEG
// as a camera would deliver it.
func oneMP(b *testing.B) image.Image {
	b.Helper()
	astro := skimage.Load(b, "astronaut.png")
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, imaging.Resize(astro, 1024, 1024, imaging.CatmullRom), &jpeg.Options{Quality: 90}); err != nil {
		b.Fatal(err)
	}
	img, err := jpeg.Decode(&buf)
	if err != nil {
		b.Fatal(err)
	}
	return img
}

// BenchmarkDetect1MP is face and eye detection on a 1 MP JPEG photo
// (target: 5 ms of CPU with -cpu 1).
func BenchmarkDetect1MP(b *testing.B) {
	d := detector(b)
	img := oneMP(b)
	if faces := d.Detect(img); len(faces) != 1 || !faces[0].Eyes {
		b.Fatalf("faces %+v, want one with eyes", faces)
	}
	b.ReportAllocs()
	defer benchcpu.ThreadMeter(b)()
	for b.Loop() {
		d.Detect(img)
	}
}

// BenchmarkCheck1MP is detection and every check on a 1 MP JPEG photo.
func BenchmarkCheck1MP(b *testing.B) {
	d := detector(b)
	img := oneMP(b)
	th := DefaultThresholds()
	b.ReportAllocs()
	defer benchcpu.ThreadMeter(b)()
	for b.Loop() {
		d.Check(img, th)
	}
}

// BenchmarkCheckNoFace1MP is a 1 MP photo without a face: the cascade
// also tries the tilted positions before it gives up.
func BenchmarkCheckNoFace1MP(b *testing.B) {
	d := detector(b)
	img := imaging.Resize(skimage.Load(b, "coffee.png"), 1224, 816, imaging.CatmullRom)
	th := DefaultThresholds()
	b.ReportAllocs()
	defer benchcpu.ThreadMeter(b)()
	for b.Loop() {
		d.Check(img, th)
	}
}
