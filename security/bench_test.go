package security

import (
	"bytes"
	"image"
	"image/png"
	"testing"

	"github.com/cardd/cardd/internal/benchcpu"
	"github.com/cardd/cardd/printer"
)

func BenchmarkSignEncode(b *testing.B) {
	for _, alg := range []Alg{AlgEd25519, AlgES256} {
		b.Run(string(alg), func(b *testing.B) {
			f := newFixture(b, alg)
			c := testCredential()
			b.ReportAllocs()
			start := benchcpu.Process()
			for b.Loop() {
				if _, err := f.signer.Sign(c); err != nil {
					b.Fatal(err)
				}
			}
			benchcpu.ReportProcess(b, start)
		})
	}
}

func BenchmarkVerifyText(b *testing.B) {
	for _, alg := range []Alg{AlgEd25519, AlgES256} {
		b.Run(string(alg), func(b *testing.B) {
			f := newFixture(b, alg)
			text := f.sign(b, testCredential())
			b.ReportAllocs()
			start := benchcpu.Process()
			for b.Loop() {
				if r := f.verifier.Verify(text); !r.Valid() {
					b.Fatal(r.Reason)
				}
			}
			benchcpu.ReportProcess(b, start)
		})
	}
}

// BenchmarkVerifyPNG decodes a 1016×648 PNG of a card side with the QR at
// 4 dots per module, reads the QR and verifies it.
func BenchmarkVerifyPNG(b *testing.B) {
	f := newFixture(b, AlgEd25519)
	text := f.sign(b, testCredential())
	g := printer.CR80(300)
	k := renderCardK(b, g, text, 4)
	var buf bytes.Buffer
	if err := png.Encode(&buf, printer.Flatten(&printer.Side{K: k}, g)); err != nil {
		b.Fatal(err)
	}
	data := buf.Bytes()
	b.ReportAllocs()
	start := benchcpu.Process()
	for b.Loop() {
		img, err := png.Decode(bytes.NewReader(data))
		if err != nil {
			b.Fatal(err)
		}
		r, _, err := VerifyRendered(img, f.verifier)
		if err != nil || !r.Valid() {
			b.Fatal(err, r.Reason)
		}
	}
	benchcpu.ReportProcess(b, start)
}

// BenchmarkVerifyRenderedK is the pre-print check on the K panel itself.
func BenchmarkVerifyRenderedK(b *testing.B) {
	f := newFixture(b, AlgEd25519)
	text := f.sign(b, testCredential())
	k := renderCardK(b, printer.CR80(300), text, 4)
	var _ image.Image = k
	b.ReportAllocs()
	start := benchcpu.Process()
	for b.Loop() {
		r, _, err := VerifyRendered(k, f.verifier)
		if err != nil || !r.Valid() {
			b.Fatal(err, r.Reason)
		}
	}
	benchcpu.ReportProcess(b, start)
}

func BenchmarkAllocatorNext(b *testing.B) {
	a, err := OpenAllocator(b.TempDir(), "CARD", "01")
	if err != nil {
		b.Fatal(err)
	}
	defer a.Close()
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.Next(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
