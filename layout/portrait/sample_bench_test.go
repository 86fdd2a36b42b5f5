package portrait_test

import (
	"image"
	"testing"

	"github.com/cardd/cardd/internal/benchcpu"
	"github.com/cardd/cardd/internal/cascades"
	"github.com/cardd/cardd/internal/jpegscale"
	"github.com/cardd/cardd/layout/portrait"
	"github.com/cardd/cardd/layout/samples"
)

// BenchmarkCheckSampleReduced is the photo gate's check of the station's
// sample photos (cardd demo and the daemon benchmark submit them): a
// 864 × 1152 JPEG decoded at 1/2 of its size, as the intake decodes it,
// detected and checked on that copy. It cycles through 16 portraits.
func BenchmarkCheckSampleReduced(b *testing.B) {
	d, err := portrait.Load(cascades.Dir(b))
	if err != nil {
		b.Fatal(err)
	}
	var imgs []image.Image
	for i := range 16 {
		data, err := samples.PortraitJPEG(uint64(i+1), samples.PortraitWidth, samples.PortraitHeight)
		if err != nil {
			b.Fatal(err)
		}
		img, err := jpegscale.Decode(data, 2)
		if err != nil {
			b.Fatal(err)
		}
		imgs = append(imgs, img)
	}
	src := image.Rect(0, 0, samples.PortraitWidth, samples.PortraitHeight)
	th := portrait.DefaultThresholds()
	for i, img := range imgs {
		if rep := d.CheckReduced(img, 2, src, th); rep.Verdict != portrait.Pass {
			b.Fatalf("sample %d: %s", i+1, rep.Reason())
		}
	}
	b.ReportAllocs()
	defer benchcpu.ThreadMeter(b)()
	for i := 0; b.Loop(); i++ {
		d.CheckReduced(imgs[i%len(imgs)], 2, src, th)
	}
}
