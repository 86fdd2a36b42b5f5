package portrait

import (
	"bytes"
	"image"
	"image/jpeg"
	"os"
	"path/filepath"
	"testing"

	"github.com/disintegration/imaging"
	pigo "github.com/esimov/pigo/core"

	"github.com/cardd/cardd/internal/benchcpu"
	"github.com/cardd/cardd/internal/cascades"
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

// BenchmarkDetect1MPPigoDirect is the same photo searched the way pigo's
// own examples do, for comparison: the whole photo converted to grey, the
// cascade over every position and size from 20 pixels (shift 0.1, scale
// 1.1), the pupils with pigo's localiser (63 runs per eye).
func BenchmarkDetect1MPPigoDirect(b *testing.B) {
	dir := cascades.Dir(b)
	faceData, err := os.ReadFile(filepath.Join(dir, FaceCascade))
	if err != nil {
		b.Fatal(err)
	}
	pupilData, err := os.ReadFile(filepath.Join(dir, PupilCascade))
	if err != nil {
		b.Fatal(err)
	}
	pg, err := pigo.NewPigo().Unpack(faceData)
	if err != nil {
		b.Fatal(err)
	}
	pl, err := pigo.NewPuplocCascade().UnpackCascade(pupilData)
	if err != nil {
		b.Fatal(err)
	}
	img := oneMP(b)
	bd := img.Bounds()
	b.ReportAllocs()
	defer benchcpu.ThreadMeter(b)()
	for b.Loop() {
		px := pigo.RgbToGrayscale(img)
		ip := pigo.ImageParams{Pixels: px, Rows: bd.Dy(), Cols: bd.Dx(), Dim: bd.Dx()}
		dets := pg.ClusterDetections(pg.RunCascade(pigo.CascadeParams{MinSize: 20, MaxSize: 1000, ShiftFactor: 0.1, ScaleFactor: 1.1, ImageParams: ip}, 0), 0.2)
		found := 0
		for _, d := range dets {
			if d.Q < 5 {
				continue
			}
			found++
			s := float32(d.Scale)
			pl.RunDetector(pigo.Puploc{Row: d.Row - int(0.075*s), Col: d.Col - int(0.175*s), Scale: 0.25 * s, Perturbs: 63}, ip, 0, false)
			pl.RunDetector(pigo.Puploc{Row: d.Row - int(0.075*s), Col: d.Col + int(0.185*s), Scale: 0.25 * s, Perturbs: 63}, ip, 0, false)
		}
		if found == 0 {
			b.Fatal("no face")
		}
	}
}
