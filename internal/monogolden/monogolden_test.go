package monogolden

import (
	"image"
	"path/filepath"
	"testing"

	"github.com/cardd/cardd/printer"
)

func TestDiff(t *testing.T) {
	dir := t.TempDir()
	golden := printer.NewMono(image.Rect(0, 0, 13, 7))
	for _, p := range []image.Point{{0, 0}, {12, 6}, {5, 3}, {8, 1}} {
		golden.SetBit(p.X, p.Y, true)
	}
	path := filepath.Join(dir, "sub", "g.png")
	Compare(t, golden, path, 0, true) // writes, then matches itself

	tests := []struct {
		name  string
		flips []image.Point
		want  int
	}{
		{"same", nil, 0},
		{"one dot more", []image.Point{{1, 1}}, 1},
		{"one dot less and one more", []image.Point{{12, 6}, {2, 2}}, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := printer.NewMono(image.Rect(0, 0, 13, 7))
			copy(m.Pix, golden.Pix)
			for _, p := range tc.flips {
				m.SetBit(p.X, p.Y, !m.BitAt(p.X, p.Y))
			}
			if got := Diff(t, m, path); got != tc.want {
				t.Fatalf("Diff = %d, want %d", got, tc.want)
			}
			Compare(t, m, path, tc.want, false)
		})
	}
}
