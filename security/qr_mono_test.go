package security

import (
	"image"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/makiuchi-d/gozxing"

	"github.com/cardd/cardd/printer"
)

// TestMonoBitMatrixExact: the bit matrix the QR reader gets from a 1-bit
// panel, filled 32 dots at a time, is bit for bit the one filled dot by
// dot (every word, the bits past the right edge clear), for widths on and
// off the byte and word boundaries, rows with spare bytes, and panels
// whose bits past the edge are set.
func TestMonoBitMatrixExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, w := range []int{1, 7, 8, 9, 31, 32, 33, 63, 64, 65, 100, 353} {
		for _, spare := range []int{0, 3} {
			h := 1 + rng.IntN(40)
			m := printer.NewMono(image.Rect(0, 0, w, h))
			if spare > 0 {
				m.Stride += spare
				m.Pix = make([]byte, m.Stride*h)
			}
			for i := range m.Pix {
				m.Pix[i] = byte(rng.Uint32()) // past the edge too
			}
			want, err := gozxing.NewBitMatrix(w, h)
			if err != nil {
				t.Fatal(err)
			}
			for y := range h {
				for x := range w {
					if m.Pix[y*m.Stride+x/8]&(0x80>>(x%8)) != 0 {
						want.Set(x, y)
					}
				}
			}
			got, err := monoBitMatrix(m)
			if err != nil {
				t.Fatal(err)
			}
			for y := range h {
				if g, wb := got.GetRow(y, nil).GetBitArray(), want.GetRow(y, nil).GetBitArray(); !slices.Equal(g, wb) {
					t.Fatalf("width %d, stride %d, row %d: %08x, want %08x", m.Rect.Dx(), m.Stride, y, g, wb)
				}
			}
		}
	}
}
