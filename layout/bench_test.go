package layout_test

import (
	"context"
	"testing"

	"github.com/cardd/cardd/internal/benchcpu"
	"github.com/cardd/cardd/layout"
	"github.com/cardd/cardd/layout/samples"
	"github.com/cardd/cardd/printer"
)

// withoutPhotos returns a copy of t's front side without photo elements,
// as a single-sided template.
func withoutPhotos(t *layout.Template) *layout.Template {
	c := *t
	front := *t.Front
	front.Elements = nil
	for _, e := range t.Front.Elements {
		if _, ok := e.(*layout.Photo); !ok {
			front.Elements = append(front.Elements, e)
		}
	}
	c.Front, c.Back = &front, nil
	return &c
}

// coreKinds are the element kinds of the composition core; the security
// kinds (guilloche, microtext, ghost, signed_qr) are benchmarked with the
// full samples.
var coreKinds = map[string]bool{"background": true, "photo": true, "text": true, "image": true, "rect": true, "line": true, "barcode": true, "overlay_mask": true}

// coreOnly returns a copy of t keeping only the core element kinds.
func coreOnly(t *layout.Template) *layout.Template {
	c := *t
	filter := func(s *layout.SideTemplate) *layout.SideTemplate {
		if s == nil {
			return nil
		}
		out := *s
		out.Elements = nil
		for _, e := range s.Elements {
			if coreKinds[e.Common().Kind] {
				out.Elements = append(out.Elements, e)
			}
		}
		return &out
	}
	c.Front, c.Back = filter(t.Front), filter(t.Back)
	return &c
}

func benchRender(b *testing.B, name string, dpi int, photo bool) {
	benchRenderT(b, name, dpi, photo, false)
}

func benchRenderT(b *testing.B, name string, dpi int, photo, core bool) {
	benchRenderO(b, name, dpi, photo, core, nil)
}

func benchRenderO(b *testing.B, name string, dpi int, photo, core bool, ro *layout.RenderOptions) {
	tp, err := samples.Template(name, nil)
	if err != nil {
		b.Fatal(err)
	}
	if core {
		tp = coreOnly(tp)
	}
	if !photo {
		tp = withoutPhotos(tp)
	}
	jobs, err := samples.Generate(name, 1, 1)
	if err != nil {
		b.Fatal(err)
	}
	d := jobs[0]
	r := layout.NewRenderer(nil)
	g := printer.CR80(dpi)
	ctx := context.Background()
	if _, err := r.RenderWith(ctx, tp, d, g, ro); err != nil { // warm the font and image caches
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu0, n := benchcpu.Process(), 0
	for b.Loop() {
		if _, err := r.RenderWith(ctx, tp, d, g, ro); err != nil {
			b.Fatal(err)
		}
		n++
	}
	// CPU time per render: with -cpu 1 this is one core's work, whatever
	// else the machine runs.
	b.ReportMetric(float64(benchcpu.Process()-cpu0)/float64(n)/1e6, "cpu-ms/op")
}

// BenchmarkSideNoPhoto composes the temporary card's front (background,
// header, logo, texts, QR, overlay) without the photo.
func BenchmarkSideNoPhoto(b *testing.B) { benchRender(b, "temporary", 300, false) }

// BenchmarkTemporary is the single-sided card including decoding and
// placing a 1-megapixel JPEG portrait.
func BenchmarkTemporary(b *testing.B) { benchRender(b, "temporary", 300, true) }

// BenchmarkPermanentDuplex is the dual-sided card including decoding and
// placing a 1-megapixel JPEG portrait.
func BenchmarkPermanentDuplex(b *testing.B) { benchRender(b, "permanent", 300, true) }

// BenchmarkPermanentDuplex600 is the same at 600 dpi.
func BenchmarkPermanentDuplex600(b *testing.B) { benchRender(b, "permanent", 600, true) }

// BenchmarkCoreSideNoPhoto is BenchmarkSideNoPhoto with the core element
// kinds only.
func BenchmarkCoreSideNoPhoto(b *testing.B) { benchRenderT(b, "temporary", 300, false, true) }

// BenchmarkCoreDuplex is BenchmarkPermanentDuplex with the core element
// kinds only (photo decode included).
func BenchmarkCoreDuplex(b *testing.B) { benchRenderT(b, "permanent", 300, true, true) }

// BenchmarkPermanentDuplexYMCKO is BenchmarkPermanentDuplex for a printer
// whose ribbon has no UV panel (the UV elements are skipped).
func BenchmarkPermanentDuplexYMCKO(b *testing.B) {
	benchRenderO(b, "permanent", 300, true, false, &layout.RenderOptions{Panels: []printer.Panel{printer.PanelColor, printer.PanelK, printer.PanelOverlay}})
}
