package main

import (
	"bytes"
	"context"
	"image/png"
	"testing"

	"github.com/cardd/cardd/internal/benchcpu"
	"github.com/cardd/cardd/layout"
	"github.com/cardd/cardd/layout/samples"
	"github.com/cardd/cardd/printer"
)

// BenchmarkRenderPNG encodes the permanent card's flattened front (what
// cardd render writes as front.png) at the default compression level and
// at png.BestSpeed, the level writePNG uses; cpu-ns/op is CPU time.
func BenchmarkRenderPNG(b *testing.B) {
	tp, err := samples.Template("permanent", nil)
	if err != nil {
		b.Fatal(err)
	}
	jobs, err := samples.Generate("permanent", 1, 1)
	if err != nil {
		b.Fatal(err)
	}
	g := printer.CR80(300)
	card, err := layout.NewRenderer(nil).Render(context.Background(), tp, jobs[0], g)
	if err != nil {
		b.Fatal(err)
	}
	img := printer.Flatten(&card.Front, g)
	for _, c := range []struct {
		name  string
		level png.CompressionLevel
	}{{"default", png.DefaultCompression}, {"bestspeed", png.BestSpeed}} {
		b.Run(c.name, func(b *testing.B) {
			enc := png.Encoder{CompressionLevel: c.level}
			var buf bytes.Buffer
			b.ReportAllocs()
			cpu0 := benchcpu.Process()
			for b.Loop() {
				buf.Reset()
				if err := enc.Encode(&buf, img); err != nil {
					b.Fatal(err)
				}
			}
			benchcpu.ReportProcess(b, cpu0)
			b.ReportMetric(float64(buf.Len()), "bytes")
		})
	}
}
