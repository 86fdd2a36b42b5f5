package printer

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"testing"
)

// TestMonoPaletted: the paletted copy has the same dots (black On, white
// Off), also for bounds not at the origin, and encodes as a 1-bit PNG that
// decodes back to them.
func TestMonoPaletted(t *testing.T) {
	m := NewMono(image.Rect(3, 5, 22, 14))
	for _, p := range []image.Point{{3, 5}, {10, 7}, {21, 13}, {11, 13}} {
		m.SetBit(p.X, p.Y, true)
	}
	p := m.Paletted()
	if p.Rect != m.Rect {
		t.Fatalf("bounds %v, want %v", p.Rect, m.Rect)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, p); err != nil {
		t.Fatal(err)
	}
	if bitDepth := buf.Bytes()[24]; bitDepth != 1 {
		t.Errorf("PNG bit depth %d, want 1", bitDepth)
	}
	back, err := png.Decode(&buf)
	if err != nil {
		t.Fatal(err)
	}
	for y := m.Rect.Min.Y; y < m.Rect.Max.Y; y++ {
		for x := m.Rect.Min.X; x < m.Rect.Max.X; x++ {
			want := color.Gray{Y: 255}
			if m.BitAt(x, y) {
				want = color.Gray{}
			}
			bx, by := x-m.Rect.Min.X+back.Bounds().Min.X, y-m.Rect.Min.Y+back.Bounds().Min.Y
			if got := color.GrayModel.Convert(back.At(bx, by)).(color.Gray); got != want {
				t.Fatalf("dot (%d,%d): %v, want %v", x, y, got, want)
			}
		}
	}
}
