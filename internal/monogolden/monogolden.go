// Package monogolden compares a 1-bit image with a golden PNG by decoded
// pixels, for tests. Only tests import it.
package monogolden

import (
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/cardd/cardd/printer"
)

// Compare fails t unless m matches the golden PNG at path to within
// tolerance differing dots (a golden pixel darker than half grey is a
// dot). With update it first rewrites the golden file from m; callers pass
// their package's -update flag.
func Compare(t testing.TB, m *printer.Mono, path string, tolerance int, update bool) {
	t.Helper()
	if update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := png.Encode(f, m); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if diff := Diff(t, m, path); diff > tolerance {
		t.Fatalf("%d dots differ from %s (tolerance %d)", diff, path, tolerance)
	}
}

// Diff returns how many dots of m differ from the golden PNG at path; it
// fails t when the file cannot be read or its size differs from m's.
func Diff(t testing.TB, m *printer.Mono, path string) int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	defer f.Close()
	want, err := png.Decode(f)
	if err != nil {
		t.Fatalf("golden %s: %v", path, err)
	}
	if want.Bounds().Size() != m.Rect.Size() {
		t.Fatalf("size %v, golden %s %v", m.Rect.Size(), path, want.Bounds().Size())
	}
	diff := 0
	wb := want.Bounds()
	for y := 0; y < m.Rect.Dy(); y++ {
		for x := 0; x < m.Rect.Dx(); x++ {
			r, _, _, _ := want.At(wb.Min.X+x, wb.Min.Y+y).RGBA()
			if (r < 0x8000) != m.BitAt(m.Rect.Min.X+x, m.Rect.Min.Y+y) {
				diff++
			}
		}
	}
	return diff
}
