package microtext

import (
	"image"
	"testing"

	"github.com/cardd/cardd/printer"
)

// TestAlongPathWhole: with Whole, a repeated text ends on its last
// complete copy (separators only between copies), never mid-word; without
// it the path is filled to its end.
func TestAlongPathWhole(t *testing.T) {
	f := Cut300()
	text := "TEMPORARY"
	unit := f.Advance(text + "*")
	// Room for two copies and half of a third.
	length := float64(2*unit + unit/2)
	line := Line{X0: 0, Y0: 10, X1: length, Y1: 10}
	dst := printer.NewMono(image.Rect(0, 0, int(length)+10, 20))
	n, err := f.AlongPath(dst, line, text, Options{Repeat: true, Separator: "*", Whole: true})
	if err != nil {
		t.Fatal(err)
	}
	if want := 2*len(text) + 1; n != want {
		t.Errorf("Whole: %d glyphs, want %d (two copies and the separator between them)", n, want)
	}
	n, err = f.AlongPath(printer.NewMono(dst.Rect), line, text, Options{Repeat: true, Separator: "*"})
	if err != nil {
		t.Fatal(err)
	}
	if n <= 2*len(text)+2 {
		t.Errorf("without Whole: %d glyphs, want the path filled past the second copy", n)
	}
}
