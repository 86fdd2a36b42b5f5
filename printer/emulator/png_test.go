package emulator

import (
	"context"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/cardd/cardd/printer"
	"github.com/cardd/cardd/printer/evolis"
)

// TestPanelPNGsLandscape prints a duplex YMCKO card and checks that every
// PNG file (flattened sides and panels) is in the card's landscape
// orientation: dye panels show the decoded colour's channels, K and
// overlay panels the decoded 1-bit panels.
func TestPanelPNGsLandscape(t *testing.T) {
	dir := t.TempDir()
	card := evoCard()
	s, err := evolis.Encode(card, nil)
	if err != nil {
		t.Fatal(err)
	}
	e, _ := newEvolis(t, &Options{OutDir: dir})
	if _, err := e.Transport().Write(context.Background(), s.Bytes); err != nil {
		t.Fatal(err)
	}
	pr := e.Printed()
	if len(pr) != 1 {
		t.Fatalf("printed %d cards", len(pr))
	}
	pc := pr[0]
	g := pc.Card.Geometry
	read := func(name string) image.Image {
		t.Helper()
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		img, err := png.Decode(f)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if img.Bounds() != g.Bounds() {
			t.Fatalf("%s is %v, want landscape %v", name, img.Bounds(), g.Bounds())
		}
		return img
	}
	if len(pc.Files) != 2+2*5 {
		t.Errorf("%d files, want 12: %v", len(pc.Files), pc.Files)
	}
	for _, side := range []struct {
		name string
		s    *printer.Side
	}{{"front", &pc.Card.Front}, {"back", pc.Card.Back}} {
		read("card-0001-" + side.name + ".png")
		for _, ch := range []struct {
			panel string
			shift uint // the colour channel the panel's grey must equal
		}{{"y", 16}, {"m", 8}, {"c", 0}} {
			img := read("card-0001-" + side.name + "-" + ch.panel + ".png")
			for y := 0; y < g.Height; y += 7 {
				for x := 0; x < g.Width; x += 5 {
					r, gg, b, _ := side.s.Color.At(x, y).RGBA()
					want := map[uint]uint32{16: b, 8: gg, 0: r}[ch.shift] >> 8
					got, _, _, _ := img.At(x, y).RGBA()
					if got>>8 != want {
						t.Fatalf("%s %s panel (%d,%d): grey %d, want %d", side.name, ch.panel, x, y, got>>8, want)
					}
				}
			}
		}
		for _, mono := range []struct {
			panel string
			m     *printer.Mono
		}{{"k", side.s.K}, {"o", side.s.Overlay}} {
			img := read("card-0001-" + side.name + "-" + mono.panel + ".png")
			if p, ok := img.(*image.Paletted); !ok || len(p.Palette) != 2 {
				t.Errorf("%s %s panel: %T, want a 1-bit (two-colour paletted) PNG as cardd render writes", side.name, mono.panel, img)
			}
			for y := 0; y < g.Height; y++ {
				for x := 0; x < g.Width; x++ {
					gr, _, _, _ := img.At(x, y).RGBA()
					if (gr < 0x8000) != mono.m.BitAt(x, y) {
						t.Fatalf("%s %s panel (%d,%d) differs from the decoded panel", side.name, mono.panel, x, y)
					}
				}
			}
		}
	}
}
